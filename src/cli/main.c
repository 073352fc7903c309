/* main.c -- `fmd`: dispatch to a subcommand. New subcommands go in `commands`. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static const fmd_command commands[] = {
    {"help", "show this help, or `fmd help COMMAND` for one command", cmd_help},
    {"version", "print the version", fmd_cmd_version},
    {"steppers", "list the ODE and SDE steppers and their orders", fmd_cmd_steppers},
    {"field", "exact marginal log-density, score, field and posterior mean of a mixture", fmd_cmd_field},
    {"train", "train a network by flow or score matching (Algorithms 3, 4)", fmd_cmd_train},
    {"sample", "sample a trained model by its ODE or the SDE of Thm 13 (guided with --class)", fmd_cmd_sample},
    {"eval", "exact FM loss, sample NLL and sliced W1 of a model against its mixture", fmd_cmd_eval},
    {"info", "describe a model file: kind, objective, architecture, data, steps, checksum", fmd_cmd_info},
    {"likelihood", "log-likelihoods by the instantaneous change of variables (model or mixture)", fmd_cmd_likelihood},
    {"fit-gmm", "fit a low-rank Gaussian mixture to data in closed form, e.g. to Fashion-MNIST", fmd_cmd_fit_gmm},
};
static const size_t ncommands = sizeof commands / sizeof commands[0];

static const fmd_command *find(const char *name)
{
    for (size_t i = 0; i < ncommands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: fmd COMMAND [OPTIONS]\n\n"
                 "fmd -- flow matching and diffusion models, the reference in C.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < ncommands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nOptions:\n  -h, --help  show this help\n  --version   print the version\n"
                 "\nExit status: 0 success, 1 the work failed, 2 bad usage or input.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2 || fmd_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    const fmd_command *c = find(argv[1]);
    if (!c)
        return fmd_cli_usage_error("help", "Run 'fmd --help' for the list of commands.",
                                   "unknown command '%s'", argv[1]);
    char help[] = "--help";
    char *args[] = {argv[1], help, NULL};
    return c->run(2, args);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return fmd_cli_usage_error(NULL, NULL, "no command given");
    }
    if (fmd_cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return fmd_cmd_version(1, argv + 1);
    if (argv[1][0] == '-')
        return fmd_cli_usage_error(NULL, "Run 'fmd --help' for usage.", "unknown option '%s'",
                                   argv[1]);
    const fmd_command *c = find(argv[1]);
    if (!c)
        return fmd_cli_usage_error(NULL, "Run 'fmd --help' for the list of commands.",
                                   "unknown command '%s'", argv[1]);
    return c->run(argc - 1, argv + 1);
}
