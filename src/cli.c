/* cli.c -- helpers shared by the subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fmd_cli_usage_error(const char *cmd, const char *hint, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fmd%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (hint)
        fprintf(stderr, "%s\n", hint);
    return 2;
}

int fmd_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}
