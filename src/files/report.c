/* report.c -- the chapter programs' table of checks. */
#include "files/report.h"

#include "base/status.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void fmd_report_begin(fmd_report *r, FILE *out, const char *title)
{
    r->out = out;
    r->checks = 0;
    r->failures = 0;
    r->has_tsv = 0;
    r->title = title;
    /* the table is for a reader watching: each line as soon as it is made,
     * even through a pipe (make tour reads the programs through one) */
    if (out == stdout)
        setvbuf(stdout, NULL, _IOLBF, 0);
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

int fmd_chapter_options(int argc, char **argv, const char *chapter, const char *full_means, int *full)
{
    *full = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0) {
            *full = 1;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\nusage: %s [--full]   (--full: %s)\n", chapter, argv[i], argv[0],
                    full_means);
            return 2;
        }
    }
    return 0;
}

/* ---- progress of a long part --------------------------------------------- */

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "42 s", "3 min 5 s" */
static void duration(double s, char *buf, size_t len)
{
    if (s < 60.0)
        snprintf(buf, len, "%.0f s", s);
    else
        snprintf(buf, len, "%.0f min %02.0f s", floor(s / 60.0), fmod(s, 60.0) >= 59.5 ? 59.0 : fmod(s, 60.0));
}

void fmd_progress_begin(fmd_progress *p, const char *what, double total)
{
    snprintf(p->what, sizeof p->what, "%s", what);
    p->total = total;
    p->t0 = p->last = wall_seconds();
}

void fmd_progress_at(fmd_progress *p, double done)
{
    const double now = wall_seconds();
    if (now - p->last < FMD_PROGRESS_SECONDS || done <= 0.0)
        return;
    p->last = now;
    char spent[32], left[32];
    duration(now - p->t0, spent, sizeof spent);
    duration((now - p->t0) / done * (p->total - done), left, sizeof left);
    fprintf(stderr, "   %s: %.0f of %.0f (%.0f%%), %s so far, about %s to go\n", p->what, done, p->total,
            100.0 * done / p->total, spent, left);
    fflush(stderr);
}

double fmd_progress_end(fmd_progress *p)
{
    return wall_seconds() - p->t0;
}
