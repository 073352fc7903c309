/* cli.c -- helpers shared by the subcommands. */
#include "cli/cli.h"
#include "files/gmm_file.h"
#include "base/status.h"
#include "base/team.h"

#include <errno.h>
#include <math.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int fmd_cli_default_threads(void)
{
    const char *env = getenv("FMD_THREADS");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (!*end && n >= 1)
            return n > FMD_MAX_THREADS ? FMD_MAX_THREADS : (int)n;
    }
    return fmd_cpus_available();
}

int fmd_cli_threads(const char *cmd, double asked)
{
    const int cpus = fmd_cpus_available();
    if (asked > cpus) {
        fprintf(stderr, "fmd %s: note: --threads %g lowered to %d, the CPUs this process may use\n", cmd, asked, cpus);
        return cpus;
    }
    return asked < 1 ? 1 : (int)asked;
}

int fmd_cli_precision(const char *cmd, const char *text, fmd_dtype *out)
{
    if (strcmp(text, "f64") == 0)
        *out = FMD_F64;
    else if (strcmp(text, "f32") == 0)
        *out = FMD_F32;
    else
        return fmd_cli_usage_error(cmd, "Precisions: f64 (the default), f32.", "unknown --precision '%s'", text);
    return 0;
}

int fmd_cli_convert_model(const char *cmd, fmd_mlp **net, fmd_dtype dtype)
{
    if ((*net)->cfg.dtype == dtype)
        return 0;
    fmd_mlp *copy;
    if (fmd_mlp_convert(*net, dtype, &copy) != FMD_OK) {
        fprintf(stderr, "fmd %s: error: out of memory converting the model to %s\n", cmd, fmd_dtype_name(dtype));
        return 1;
    }
    fmd_mlp_free(*net);
    *net = copy;
    return 0;
}

int fmd_cli_schedule(const char *cmd, const char *name, fmd_schedule *out)
{
    if (fmd_schedule_by_name(name, out) == FMD_OK)
        return 0;
    const char *list = "Schedules: condot, cosine, lab, poly:N (0 < N <= 1000), vp, ou:T (0 < T <= 50), ve.";
    if (strncmp(name, "poly:", 5) == 0)
        return fmd_cli_usage_error(cmd, list, "schedule '%s': poly:N needs a number N with 0 < N <= 1000", name);
    if (strncmp(name, "ou:", 3) == 0)
        return fmd_cli_usage_error(cmd, list, "schedule '%s': ou:T needs a number T with 0 < T <= 50", name);
    return fmd_cli_usage_error(cmd, list, "unknown schedule '%s'", name);
}

int fmd_cli_gmm_error(const char *cmd, const fmd_parse_error *e)
{
    if (e->line > 0)
        fprintf(stderr, "fmd %s: error: %s:%ld: %s\n", cmd, e->file, e->line, e->reason);
    else
        fprintf(stderr, "fmd %s: error: %s: %s\n", cmd, e->file, e->reason);
    return 2;
}

int fmd_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

const char *fmd_cli_option(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

/* the length of an option's name as written, "--steps=5" -> 7 */
static int name_length(const char *opt)
{
    const char *eq = strchr(opt, '=');
    return eq ? (int)(eq - opt) : (int)strlen(opt);
}

int fmd_cli_number(const char *cmd, const char *opt, const char *text, double lo, double hi, int whole, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || !(v >= lo && v <= hi))
        return fmd_cli_usage_error(cmd, NULL, "%.*s '%s': expected %s in [%g, %g]", name_length(opt), opt, text,
                                   whole ? "a whole number" : "a number", lo, hi);
    if (whole && v != floor(v))
        return fmd_cli_usage_error(cmd, NULL, "%.*s '%s': expected a whole number in [%g, %g], not a fraction",
                                   name_length(opt), opt, text, lo, hi);
    *out = v;
    return 0;
}

int fmd_cli_missing_value(const char *cmd, const char *hint, const char *arg)
{
    return fmd_cli_usage_error(cmd, hint, "%.*s needs a value (%.*s VALUE or %.*s=VALUE)", name_length(arg), arg,
                               name_length(arg), arg, name_length(arg), arg);
}

int fmd_cli_load_model(const char *cmd, const char *path, size_t d, int flow_only, fmd_mlp **net,
                       fmd_run_info *info, fmd_schedule *sch, fmd_prediction *predicts)
{
    return fmd_cli_load_model_unchecked(cmd, path, d, flow_only, 0, net, info, sch, predicts);
}

int fmd_cli_fmnist(const char *cmd, int train, fmd_image_set *set)
{
    char why[512];
    if (fmd_fmnist_load(NULL, train, set, why, sizeof why) == FMD_OK)
        return 0;
    fprintf(stderr, "fmd %s: error: %s\nInstall Debian's dataset-fashion-mnist (make does).\n", cmd, why);
    return 2;
}

int fmd_cli_prediction(const char *objective, fmd_prediction *pred)
{
    if (strcmp(objective, "dsm") == 0)
        *pred = FMD_PREDICTS_SCORE;
    else if (strcmp(objective, "ddpm") == 0 || strcmp(objective, "ddpm-discrete") == 0)
        *pred = FMD_PREDICTS_NOISE;
    else if (strcmp(objective, "denoiser") == 0)
        *pred = FMD_PREDICTS_DATA;
    else if (strcmp(objective, "cfm") == 0 || strcmp(objective, "cfm+dsm") == 0)
        *pred = FMD_PREDICTS_FIELD;   /* (cfm+dsm: its first head is the field) */
    else
        return -1;
    return 0;
}

void fmd_cli_image_sampler_defaults(fmd_cli_image_sampler *o)
{
    o->solver = "heun", o->steps = 25, o->guidance = 1, o->seed = 0, o->threads = fmd_cli_default_threads();
}

int fmd_cli_image_sampler_option(const char *cmd, int argc, char **argv, int *i, fmd_cli_image_sampler *o)
{
    const char *v, *a = argv[*i];
    if ((v = fmd_cli_option(argc, argv, i, "--solver"))) {
        o->solver = v;
        return 1;
    }
    if ((v = fmd_cli_option(argc, argv, i, "--steps")))
        return fmd_cli_number(cmd, a, v, 1, 1e6, 1, &o->steps) ? 2 : 1;
    if ((v = fmd_cli_option(argc, argv, i, "--guidance")))
        return fmd_cli_number(cmd, a, v, -1e3, 1e3, 0, &o->guidance) ? 2 : 1;
    if ((v = fmd_cli_option(argc, argv, i, "--seed")))
        return fmd_cli_number(cmd, a, v, 0, 1e15, 1, &o->seed) ? 2 : 1;
    if ((v = fmd_cli_option(argc, argv, i, "--threads")))
        return fmd_cli_number(cmd, a, v, 1, FMD_MAX_THREADS, 1, &o->threads) ? 2 : 1;
    return 0;
}

int fmd_cli_flow_samples(const char *cmd, const fmd_field *net_out, const fmd_schedule *sch, fmd_prediction predicts,
                         double t0, double t1, const fmd_ode_stepper_type *ode, size_t steps, int threads, size_t n,
                         double *x)
{
    const size_t d = net_out->d;
    fmd_flow_sde_params P = {net_out, *sch, 0.0, predicts, NULL};
    fmd_field drift = {fmd_flow_sde_drift, d, &P};   /* Prop 1: the field, whatever the network predicts */
    fmd_sched_point s0;
    fmd_schedule_at(sch, t0, &s0);
    for (size_t i = 0; i < n * d; i++)
        x[i] *= s0.beta;   /* X_t0 = beta_t0 eps */
    double *ts = malloc((steps + 1) * sizeof(double));
    fmd_ode_workspace *ws = NULL;
    int status = ts ? fmd_ode_workspace_alloc(ode, n, d, &ws) : FMD_ENOMEM;
    if (status == FMD_OK) {
        fmd_time_grid(t0, t1, steps, ts);
        ws->threads = threads;
        status = fmd_ode_solve_grid(ws, &drift, ts, steps + 1, x, NULL);
    }
    fmd_ode_workspace_free(ws);
    free(ts);
    if (status != FMD_OK) {
        fprintf(stderr, "fmd %s: error: integration failed: %s\n", cmd, fmd_strerror(status));
        return 1;
    }
    return 0;
}

int fmd_cli_load_model_unchecked(const char *cmd, const char *path, size_t d, int flow_only, int no_checksum,
                                 fmd_mlp **net, fmd_run_info *info, fmd_schedule *sch, fmd_prediction *predicts)
{
    char why[256];
    int has_checksum = 1;
    if (fmd_checkpoint_load_checked(path, net, info, NULL, no_checksum, &has_checksum, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmd %s: error: %s: %s\n", cmd, path, why);
        return 2;
    }
    if (!has_checksum)
        fprintf(stderr, "fmd %s: note: %s has no fmd checksum (read as asked, --no-checksum)\n", cmd, path);
    const char *problem = NULL;
    fmd_prediction pred = FMD_PREDICTS_FIELD;
    if (fmd_cli_prediction(info->objective, &pred) != 0)
        problem = "names an unknown objective";
    if (!problem && flow_only && pred != FMD_PREDICTS_FIELD)
        problem = "is not a flow model; this command takes flow models (objective cfm)";
    else if (!problem && d > 0 && (*net)->cfg.d != d) {
        fprintf(stderr, "fmd %s: error: %s is %zu-dimensional, the data %zu-dimensional; give the data it was trained "
                        "on (%s)\n", cmd, path, (*net)->cfg.d, d, info->data);
        fmd_mlp_free(*net);
        *net = NULL;
        return 2;
    }
    else if (!problem && fmd_schedule_by_name(info->schedule, sch) != FMD_OK)
        problem = "names an unknown schedule";
    if (problem) {
        fprintf(stderr, "fmd %s: error: %s %s (objective %s, schedule %s, d = %zu)\n", cmd, path, problem,
                info->objective, info->schedule, (*net)->cfg.d);
        fmd_mlp_free(*net);
        *net = NULL;
        return 2;
    }
    if (predicts)
        *predicts = pred;
    return 0;
}

int fmd_cli_read_data_file(const char *cmd, const char *path, int labelled, fmd_image_set *out, size_t *classes)
{
    memset(out, 0, sizeof *out);
    *classes = 0;
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "fmd %s: error: %s: cannot open: %s\n", cmd, path, strerror(errno));
        return 2;
    }
    /* the number of columns: those of the first row */
    char *line = NULL;
    size_t lcap = 0, cols = 0;
    ssize_t len;
    while (cols == 0 && (len = getline(&line, &lcap, in)) >= 0) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        for (char *q = line, *end; *q;) {
            strtod(q, &end);
            if (end == q)
                break;
            cols++;
            q = end;
        }
        if (cols == 0)
            cols = 1;   /* not a number: the reader below says where */
    }
    free(line);
    fclose(in);
    if (cols == 0) {
        fprintf(stderr, "fmd %s: error: %s: no data rows\n", cmd, path);
        return 2;
    }
    if (labelled && cols < 2) {
        fprintf(stderr, "fmd %s: error: %s: with --labels each row needs its numbers and then a class\n", cmd, path);
        return 2;
    }
    double *x;
    size_t n;
    long *line_of;
    int rc = fmd_cli_read_points_at(cmd, path, cols, &x, &n, &line_of);
    if (rc != 0)
        return rc;
    const size_t d = labelled ? cols - 1 : cols;
    out->x = malloc(n * d * sizeof(double));
    out->y = calloc(n ? n : 1, sizeof(int));
    if (!out->x || !out->y) {
        rc = fmd_cli_out_of_memory(cmd, "the data", (double)n * d * sizeof(double));
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        memcpy(out->x + i * d, x + i * cols, d * sizeof(double));
        for (size_t j = 0; j < d; j++)
            if (!isfinite(out->x[i * d + j])) {
                fprintf(stderr, "fmd %s: error: %s:%ld: column %zu is not finite\n", cmd, path, line_of[i], j + 1);
                rc = 2;
            }
        if (labelled) {
            const double c = x[i * cols + d];
            if (!(c >= 0 && c <= 1023 && c == floor(c))) {
                fprintf(stderr, "fmd %s: error: %s:%ld: the class (last column) is %g, not a whole number 0..1023\n", cmd,
                        path, line_of[i], c);
                rc = 2;
            } else {
                out->y[i] = (int)c;
                *classes = (size_t)c + 1 > *classes ? (size_t)c + 1 : *classes;
            }
        }
    }
    free(x);
    free(line_of);
    if (rc != 0) {
        fmd_image_set_free(out);
        *classes = 0;
        return rc;
    }
    out->n = n, out->rows = 1, out->cols = d;
    return 0;
}

int fmd_cli_same_file(const char *a, const char *b)
{
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    const int same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;
    free(ra);
    free(rb);
    return same;
}

int fmd_cli_out_of_memory(const char *cmd, const char *what, double bytes)
{
    if (!(bytes > 0)) {
        fprintf(stderr, "fmd %s: error: out of memory allocating %s; free memory and try again\n", cmd, what);
        return 1;
    }
    const char *unit = "bytes";
    double v = bytes;
    if (bytes >= 1e9)
        v = bytes / 1e9, unit = "GB";
    else if (bytes >= 1e6)
        v = bytes / 1e6, unit = "MB";
    fprintf(stderr, "fmd %s: error: out of memory: %s needs %.3g %s; ask for less (fewer points, a smaller "
                    "network or batch), or free memory\n", cmd, what, v, unit);
    return 1;
}

int fmd_cli_output_done(const char *cmd, FILE *f, const char *name)
{
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "fmd %s: error: writing %s failed: %s\n", cmd, name, errno ? strerror(errno) : "write error");
        return 1;
    }
    return 0;
}

int fmd_cli_read_points(const char *cmd, const char *path, size_t d, double **x, size_t *n)
{
    return fmd_cli_read_points_at(cmd, path, d, x, n, NULL);
}

int fmd_cli_read_points_at(const char *cmd, const char *path, size_t d, double **x, size_t *n, long **line_of)
{
    *x = NULL;
    *n = 0;
    if (line_of)
        *line_of = NULL;
    FILE *in = path ? fopen(path, "r") : stdin;
    const char *name = path ? path : "<stdin>";
    if (!in) {
        fprintf(stderr, "fmd %s: error: %s: cannot open: %s\n", cmd, path, strerror(errno));
        return 2;
    }
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "fmd %s: error: %s is a directory; give a file of points, d numbers a line\n", cmd, name);
        if (in != stdin)
            fclose(in);
        return 2;
    }
    size_t cap = 0, lcap = 0;
    char *line = NULL;
    long lineno = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &lcap, in)) >= 0) {
        lineno++;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            double *nx = realloc(*x, nc * d * sizeof(double));
            if (nx)
                *x = nx;
            long *nl = line_of ? realloc(*line_of, nc * sizeof(long)) : NULL;
            if (nl)
                *line_of = nl;
            if (!nx || (line_of && !nl)) {
                rc = fmd_cli_out_of_memory(cmd, "the points read so far", (double)nc * d * sizeof(double));
                break;
            }
            cap = nc;
        }
        size_t bad = 0;   /* a byte no text file of numbers has: say so, do not echo it */
        while (bad < (size_t)len && (line[bad] == '\t' || line[bad] == '\n' || line[bad] == '\r' ||
                                     ((unsigned char)line[bad] >= 32 && (unsigned char)line[bad] < 127)))
            bad++;
        if (bad < (size_t)len) {
            fprintf(stderr, "fmd %s: error: %s:%ld: byte %zu is 0x%02x, not text: expected %zu numbers a line "
                            "(is this a binary file?)\n", cmd, name, lineno, bad + 1, (unsigned char)line[bad], d);
            rc = 2;
            break;
        }
        size_t got;
        fmd_parse_error e;
        if (fmd_parse_numbers(line, line + len - (line[len - 1] == '\n'), *x + *n * d, d, &got, &e) != 0) {
            fprintf(stderr, "fmd %s: error: %s:%ld: %s\n", cmd, name, lineno, e.reason);
            rc = 2;
        } else if (got != d) {
            fprintf(stderr, "fmd %s: error: %s:%ld: expected %zu numbers (one point in R^%zu), found %zu\n", cmd, name,
                    lineno, d, d, got);
            rc = 2;
        } else {
            if (line_of)
                (*line_of)[*n] = lineno;
            (*n)++;
        }
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "fmd %s: error: %s: read error\n", cmd, name);
        rc = 2;
    }
    if (in != stdin)
        fclose(in);
    free(line);
    if (rc != 0) {
        free(*x);
        *x = NULL;
        *n = 0;
        if (line_of) {
            free(*line_of);
            *line_of = NULL;
        }
    }
    return rc;
}

/* ---- training progress (fmd train, both architectures) -------------------- */

double fmd_cli_window_rate(fmd_cli_rate_window *w, double now_s, unsigned long step)
{
    if (w->count == 0 || now_s - w->last >= 0.25) {
        w->t[w->next] = now_s;
        w->step[w->next] = step;
        w->next = (w->next + 1) % 40;
        w->count += w->count < 40;
        w->last = now_s;
    }
    size_t oldest = w->count < 40 ? 0 : w->next;
    double dt = now_s - w->t[oldest];
    return dt > 0 ? (double)(step - w->step[oldest]) / dt : 0.0;
}

void fmd_cli_progress(int tty, unsigned long step, unsigned long total, double loss, double rate, int final)
{
    double eta = rate > 0 ? (double)(total - step) / rate : 0.0;
    if (tty) {
        int filled = total ? (int)(30.0 * (double)step / (double)total) : 30;
        fprintf(stderr, "\r[%.*s%.*s] step %lu/%lu  loss %.4g  %.3g steps/s  %.0fs left ", filled,
                "##############################", 30 - filled, "..............................", step,
                total, loss, rate, eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %lu/%lu (%.0f%%): loss %.4g, %.3g steps/s, %.0fs left\n", step, total,
                100.0 * (double)step / (double)total, loss, rate, eta);
    }
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void fmd_cli_catch_stop(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);   /* a job scheduler's stop: save like Ctrl-C */
}

int fmd_cli_stop_requested(void)
{
    return stop_requested != 0;
}

double fmd_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fmd_cli_no_arguments(const char *cmd, int argc, char **argv, const char *usage)
{
    if (argc > 1) {
        if (fmd_cli_is_help(argv[1])) {
            printf("%s", usage);
            return 0;
        }
        return fmd_cli_usage_error(cmd, "Run 'fmd help' for usage.", "unexpected argument '%s'",
                                   argv[1]);
    }
    return -1;
}
