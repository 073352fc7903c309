/* report.h -- the table of checks every chapter program prints.
 *
 * Promise: one line per check -- quantity, computed, exact, error, tolerance,
 * verdict -- so a reader sees the evidence, not just "PASS"; the report
 * remembers whether every check passed. */
#ifndef FMD_REPORT_H
#define FMD_REPORT_H

#include <stdio.h>
#include "base/atomic_file.h"

typedef struct {
    FILE *out;       /* where the table goes (stdout in the chapter programs) */
    int checks;      /* rows so far */
    int failures;    /* rows whose error exceeded the tolerance */
    const char *title;
    fmd_atomic_file tsv;   /* the same table as TSV (fmd_report_tsv), or none */
    int has_tsv;
} fmd_report;

void fmd_report_begin(fmd_report *r, FILE *out, const char *title);
/* error = |computed - exact|; passes when error <= tol (NaN fails). */
void fmd_report_check(fmd_report *r, const char *quantity, double computed, double exact,
                      double tol);
/* A one-sided check: passes when computed >= bound (a goal, a rise that
 * must exceed so many standard errors); the bound goes under the value. */
void fmd_report_at_least(fmd_report *r, const char *quantity, double computed, double bound);
/* A line of commentary under the table (no verdict). */
void fmd_report_note(fmd_report *r, const char *text);
/* Also write the table as TSV to <data dir>/<name> (see fmd_data_open): a
 * comment line with the title and the time of the run, then a header
 * (quantity, computed, exact, error, tolerance, verdict) and one row per
 * check; committed by fmd_report_end. `make book` shows it in the chapter's
 * page. Returns FMD_OK, or the error of opening the file. */
int fmd_report_tsv(fmd_report *r, const char *name);
/* Prints the summary line (and commits the TSV); returns 0 if every check
 * passed and the TSV was written, 1 otherwise. */
int fmd_report_end(fmd_report *r);

/* The directory chapter data goes to: $FMD_DATA, or "build/data" (relative
 * to the working directory: run the chapters from the repository root). */
const char *fmd_data_dir(void);

/* Open <dir>/<name> for figure data, atomically (commit with
 * fmd_atomic_commit); dir is $FMD_DATA or "build/data", created if missing. */
int fmd_data_open(const char *name, fmd_atomic_file *f);

/* The same, writing a first line `header`; returns the stream, or NULL (and
 * sets *failed) if the file cannot be opened. */
FILE *fmd_data_begin(const char *name, const char *header, fmd_atomic_file *f, int *failed);

/* Commit a file from fmd_data_begin; sets *failed if that fails. */
void fmd_data_end(fmd_atomic_file *f, int *failed);

/* The options of every chapter program: --full (make tour-full: the
 * chapter's long runs too; `full_means` says what they are, for the usage
 * line). Sets *full; returns 0, or 2 after printing what is wrong and the
 * usage for any other argument (the program then exits 2). */
int fmd_chapter_options(int argc, char **argv, const char *chapter, const char *full_means, int *full);

/* ---- progress of a long part ---------------------------------------------
 * A computation that takes more than a few seconds tells a reader watching
 * what it is doing and about how long it has left: at most one line every
 * FMD_PROGRESS_SECONDS, on standard error. It reads the wall clock only to
 * decide when to print and to estimate the time left; nothing it prints is a
 * result, and no result may depend on it. */
#define FMD_PROGRESS_SECONDS 10.0

typedef struct {
    char what[120];     /* "chapter 5: the U-Net's training steps" */
    double total;       /* units of work in all */
    double t0, last;    /* wall-clock seconds: the start, the last line */
} fmd_progress;

void fmd_progress_begin(fmd_progress *p, const char *what, double total);
/* `done` units of `total` are done: a line if the last was long enough ago. */
void fmd_progress_at(fmd_progress *p, double done);
/* The seconds since fmd_progress_begin (to print, never to compute with). */
double fmd_progress_end(fmd_progress *p);

#endif
