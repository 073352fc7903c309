/* cli.h -- the fmd command: a table of subcommands and shared error helpers.
 *
 * Promise: every subcommand is one entry {name, summary, run}; `run` gets the
 * arguments after the subcommand name and returns the process exit status:
 * 0 on success, 1 when the work ran but failed, 2 for a usage or input error
 * (after saying what is wrong, where, and how to fix it). */
#ifndef FMD_CLI_H
#define FMD_CLI_H

#include <stddef.h>
#include "files/checkpoint.h"
#include "files/gmm_file.h"
#include "files/idx.h"
#include "flows/ode.h"
#include "sde_view/sample.h"
#include "paths/schedule.h"

typedef struct {
    const char *name;                   /* "version", "steppers", ... */
    const char *summary;                /* one line for `fmd --help` */
    int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
} fmd_command;

/* Print "fmd <cmd>: <message>" and a hint to stderr; returns 2. */
int fmd_cli_usage_error(const char *cmd, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of option `name` at argv[*i] ("--name VALUE" or "--name=VALUE",
 * advancing *i past VALUE), "" if the value is missing, NULL if argv[*i] is
 * another option. */
const char *fmd_cli_option(int argc, char **argv, int *i, const char *name);

/* Parse a number in [lo, hi] for option opt (as written: "--steps" or
 * "--steps=5"; the message names the option); if whole, a whole number (a
 * count, an index, a seed: 1.5 is refused, not truncated). 0 on success,
 * else prints the error and returns 2. */
int fmd_cli_number(const char *cmd, const char *opt, const char *text, double lo, double hi, int whole, double *out);

/* Option arg was given without its value: says so and returns 2. */
int fmd_cli_missing_value(const char *cmd, const char *hint, const char *arg);

/* Load a model for command cmd into *net, *info, *sch and *predicts (what
 * the network outputs, from its objective; predicts may be NULL). If d > 0
 * the model must be d-dimensional; if flow_only, a flow model (cfm). Returns
 * 0, or prints what is wrong (file, reason) and returns 2 with nothing
 * allocated. */
int fmd_cli_load_model(const char *cmd, const char *path, size_t d, int flow_only, fmd_mlp **net,
                       fmd_run_info *info, fmd_schedule *sch, fmd_prediction *predicts);

/* Fashion-MNIST's training (train = 1) or test set from Debian's package;
 * 0, or the failure said for command cmd (with how to install it) and 2. */
int fmd_cli_fmnist(const char *cmd, int train, fmd_image_set *set);

/* What a network trained on objective outputs (cfm and cfm+dsm: the field;
 * dsm: the score; ddpm, ddpm-discrete: the noise; denoiser: the clean
 * data); -1 for an objective fmd does not know. */
int fmd_cli_prediction(const char *objective, fmd_prediction *pred);

/* The options of an image model's sampler, shared by `fmd sample` and
 * `fmd eval --classifier` for U-Net and image models: --solver, --steps,
 * --guidance, --seed, --threads. */
typedef struct {
    const char *solver;   /* euler | midpoint | heun | rk4 */
    double steps, guidance, seed, threads;
} fmd_cli_image_sampler;

/* The defaults: heun, 25 steps, guidance 1, seed 0, every CPU. */
void fmd_cli_image_sampler_defaults(fmd_cli_image_sampler *o);

/* If argv[*i] is one of the options above, take it (and its value) into o:
 * 1, or 2 for a bad value (said for command cmd); 0 if it is none of them. */
int fmd_cli_image_sampler_option(const char *cmd, int argc, char **argv, int *i, fmd_cli_image_sampler *o);

/* Samples by the ODE of the field Prop 1 reads off a network's output
 * net_out (what it predicts, on schedule sch): x (n, net_out->d) holds eps ~
 * N(0, I) on entry, starts as X_t0 = beta_t0 eps, and holds the samples at
 * t1 on return; `steps` uniform steps of ode on [t0, t1] on `threads`
 * threads. 0, or the failure said for command cmd and 1. */
int fmd_cli_flow_samples(const char *cmd, const fmd_field *net_out, const fmd_schedule *sch, fmd_prediction predicts,
                         double t0, double t1, const fmd_ode_stepper_type *ode, size_t steps, int threads, size_t n,
                         double *x);

/* The same, reading a file without fmd's checksum if no_checksum (the
 * command's --no-checksum: a model written elsewhere in fmd's layout); a
 * note on stderr says the checksum was absent. */
int fmd_cli_load_model_unchecked(const char *cmd, const char *path, size_t d, int flow_only, int no_checksum,
                                 fmd_mlp **net, fmd_run_info *info, fmd_schedule *sch, fmd_prediction *predicts);

/* Read points, d numbers a line ('#' comments and blank lines skipped), from
 * path or standard input (path NULL) into *x (malloc'd, (*n, d)). Returns 0,
 * or prints "fmd CMD: error: FILE:LINE: reason" and returns 2 (1 if out of
 * memory) with nothing allocated. */
int fmd_cli_read_points(const char *cmd, const char *path, size_t d, double **x, size_t *n);

/* The same, also returning each point's line number in the file (*line_of,
 * malloc'd, n entries; may be NULL), so a later complaint can point at it. */
int fmd_cli_read_points_at(const char *cmd, const char *path, size_t d, double **x, size_t *n, long **line_of);

/* A data file for `fmd train --data-file`: whitespace-separated rows of
 * numbers ('#' comments), all rows as long as the first; with labelled, the
 * last column is the row's class (a whole number 0..1023). Fills *out (rows
 * = 1, cols = d; y zero without labels) and *classes (1 + the largest label,
 * 0 without). Returns 0, or prints "FILE:LINE: reason" and returns 2 (1 if
 * out of memory). */
int fmd_cli_read_data_file(const char *cmd, const char *path, int labelled, fmd_image_set *out, size_t *classes);

/* 1 if paths a and b name the same file (compared resolved, so "x.gmm" and
 * "/home/u/x.gmm" agree; as written if either cannot be resolved). */
int fmd_cli_same_file(const char *a, const char *b);

/* Allocation failed: "fmd CMD: error: out of memory: WHAT needs BYTES"
 * (with the size in readable units) on stderr; returns 1. */
int fmd_cli_out_of_memory(const char *cmd, const char *what, double bytes);

/* Finish writing an output stream (name: "standard output" or a file):
 * flush it and check for a write error (a full disk, a closed pipe). 0, or
 * prints what failed and returns 1. */
int fmd_cli_output_done(const char *cmd, FILE *f, const char *name);

/* The default of --threads: FMD_THREADS from the environment if it is set
 * (a whole number >= 1; the suite sets it so that its jobs never share a
 * core), else the CPUs this process may use (src/base/team.h: affinity mask and
 * CPU quota). Results never depend on the thread count, only the speed. */
int fmd_cli_default_threads(void);

/* The thread count to run with for a --threads value: never more than the
 * CPUs this process may use (more would only make threads wait for one
 * another), saying so on stderr when it lowers the number. */
int fmd_cli_threads(const char *cmd, double asked);

/* --precision f64|f32: 0 and *out set, or prints the error and returns 2. */
int fmd_cli_precision(const char *cmd, const char *text, fmd_dtype *out);

/* Make *net compute in dtype (a converted copy replaces it). 0, or prints
 * why not and returns 1 (out of memory), leaving *net as it was. */
int fmd_cli_convert_model(const char *cmd, fmd_mlp **net, fmd_dtype dtype);

/* The schedule called name: 0 and *out set, or prints what is wrong with
 * the name (an unknown one, or poly:N / ou:T with a parameter out of range)
 * and returns 2. */
int fmd_cli_schedule(const char *cmd, const char *name, fmd_schedule *out);

/* Print a mixture file's load error: "FILE:LINE: reason", or "FILE:
 * reason" when the error is not on a line (a missing file); returns 2. */
int fmd_cli_gmm_error(const char *cmd, const fmd_parse_error *e);

/* 1 if arg is "-h" or "--help". */
int fmd_cli_is_help(const char *arg);

/* For a command that takes no arguments: argv[1] a help option prints usage
 * and gives 0; any other argument is a usage error (2); none gives -1, the
 * command goes on. */
int fmd_cli_no_arguments(const char *cmd, int argc, char **argv, const char *usage);

/* Training progress. The step rate over the last ten seconds or so: (time,
 * step) is recorded every quarter second in a ring of 40, and the rate is
 * measured from the oldest entry, so a slow start (or a busy spell) soon
 * stops counting. Zero-initialise the window. */
typedef struct {
    double t[40];
    unsigned long step[40];
    size_t count, next;
    double last;
} fmd_cli_rate_window;
double fmd_cli_window_rate(fmd_cli_rate_window *w, double now_s, unsigned long step);

/* Ctrl-C and SIGTERM set a flag instead of ending the process, so a
 * trainer can stop after its current step and save it; and a monotonic
 * clock in seconds for the progress lines. */
void fmd_cli_catch_stop(void);
int fmd_cli_stop_requested(void);
double fmd_cli_now(void);

/* A live bar on a terminal (tty), else one line; final ends the bar's line. */
void fmd_cli_progress(int tty, unsigned long step, unsigned long total, double loss, double rate, int final);

int fmd_cmd_version(int argc, char **argv);
int fmd_cmd_steppers(int argc, char **argv);
int fmd_cmd_field(int argc, char **argv);
int fmd_cmd_train(int argc, char **argv);
int fmd_cmd_train_unet(int argc, char **argv);   /* fmd train --arch unet (src/cli/cmd_train_unet.c) */
int fmd_cli_is_unet_file(const char *path);      /* 1 if path is a U-Net model file */
int fmd_cmd_sample_unet(int argc, char **argv);  /* fmd sample --model UNET (src/cli/cmd_sample_unet.c) */
int fmd_cmd_eval_images(int argc, char **argv);  /* fmd eval's Fréchet distance (src/cli/cmd_eval_images.c) */
int fmd_cmd_sample(int argc, char **argv);
int fmd_cmd_eval(int argc, char **argv);
int fmd_cmd_likelihood(int argc, char **argv);
int fmd_cmd_info(int argc, char **argv);
int fmd_cmd_fit_gmm(int argc, char **argv);

#endif
