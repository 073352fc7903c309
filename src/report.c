/* report.c -- the chapter programs' table of checks. */
#include "report.h"

#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

void fmd_report_begin(fmd_report *r, FILE *out, const char *title)
{
    r->out = out;
    r->checks = 0;
    r->failures = 0;
    r->has_tsv = 0;
    r->title = title;
    fprintf(out, "\n== %s ==\n", title);
    fprintf(out, "%-52s %16s %16s %10s %10s  %s\n", "quantity", "computed", "exact", "error",
            "tolerance", "verdict");
}

void fmd_report_check(fmd_report *r, const char *quantity, double computed, double exact,
                      double tol)
{
    double err = fabs(computed - exact);
    int ok = err <= tol;
    r->checks++;
    r->failures += !ok;
    fprintf(r->out, "%-52s %16.9g %16.9g %10.3g %10.3g  %s\n", quantity, computed, exact, err,
            tol, ok ? "ok" : "FAIL");
    if (r->has_tsv)
        fprintf(r->tsv.fp, "%s\t%.9g\t%.9g\t%.3g\t%.3g\t%s\n", quantity, computed, exact, err, tol, ok ? "ok" : "FAIL");
    fflush(r->out);   /* a reader piping the program sees each check as it comes */
}

void fmd_report_at_least(fmd_report *r, const char *quantity, double computed, double bound)
{
    int ok = computed >= bound;   /* NaN fails */
    r->checks++;
    r->failures += !ok;
    fprintf(r->out, "%-52s %16.9g %16s %10s %10s  %s\n", quantity, computed, "", "", "", ok ? "ok" : "FAIL");
    char b[32];
    snprintf(b, sizeof b, ">= %.6g", bound);
    fprintf(r->out, "%-52s %16s %16s\n", "", "", b);
    if (r->has_tsv)
        fprintf(r->tsv.fp, "%s\t%.9g\t%s\t\t\t%s\n", quantity, computed, b, ok ? "ok" : "FAIL");
    fflush(r->out);
}

void fmd_report_note(fmd_report *r, const char *text)
{
    fprintf(r->out, "   %s\n", text);
    if (r->has_tsv)
        fprintf(r->tsv.fp, "# %s\n", text);
    fflush(r->out);
}

int fmd_report_tsv(fmd_report *r, const char *name)
{
    int status = fmd_data_open(name, &r->tsv);
    if (status != FMD_OK)
        return status;
    r->has_tsv = 1;
    char when[64] = "";
    const time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
    fprintf(r->tsv.fp, "# %s\n# run: %s\nquantity\tcomputed\texact\terror\ttolerance\tverdict\n", r->title, when);
    return FMD_OK;
}

int fmd_report_end(fmd_report *r)
{
    fprintf(r->out, "-- %d checks, %d failed\n", r->checks, r->failures);
    fflush(r->out);
    int io_failed = 0;
    if (r->has_tsv) {
        fprintf(r->tsv.fp, "# %d checks, %d failed\n", r->checks, r->failures);
        io_failed = fmd_atomic_commit(&r->tsv) != FMD_OK;
        r->has_tsv = 0;
        if (io_failed)
            fprintf(stderr, "could not write the table of checks under %s/ (set FMD_DATA, or run from the "
                            "repository root)\n", fmd_data_dir());
    }
    return r->failures == 0 && !io_failed ? 0 : 1;
}

const char *fmd_data_dir(void)
{
    const char *dir = getenv("FMD_DATA");
    return dir && *dir ? dir : "build/data";
}

int fmd_data_open(const char *name, fmd_atomic_file *f)
{
    const char *dir = fmd_data_dir();
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return FMD_EIO;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return FMD_EINVAL;
    return fmd_atomic_open(path, f);
}

FILE *fmd_data_begin(const char *name, const char *header, fmd_atomic_file *f, int *failed)
{
    if (fmd_data_open(name, f) != FMD_OK) {
        *failed = 1;
        return NULL;
    }
    fprintf(f->fp, "%s\n", header);
    return f->fp;
}

void fmd_data_end(fmd_atomic_file *f, int *failed)
{
    if (fmd_atomic_commit(f) != FMD_OK)
        *failed = 1;
}
