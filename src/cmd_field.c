/* cmd_field.c -- `fmd field`: the exact marginal path of a mixture at points.
 *
 * Reads points (d numbers a line) and prints a header line ('#'), then per
 * point, tab-separated with %.17g: log p_t(x), grad log p_t(x) (d), u_t(x)
 * (d), E[z | x_t = x] (d). */
#include "cli.h"
#include "fmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fmd field --gmm FILE --schedule NAME --t T [--points FILE]\n"
    "\n"
    "Evaluate the exact marginal probability path p_t of a Gaussian mixture\n"
    "under the Gaussian path N(alpha_t z, beta_t^2 I) (Thm 10 of the notes).\n"
    "\n"
    "  --gmm FILE       mixture file:  gmm <d> <K>, then K lines\n"
    "                   <weight> <mean: d numbers> <covariance: d*d, row-major>\n"
    "                   ('#' comments and blank lines are ignored); a labelled\n"
    "                   mixture (chapter 5) has the header gmm <d> <K> labelled and\n"
    "                   ends each component line with its class, 0..1023; at image\n"
    "                   dimension, covariances diag(D) + F F^T of rank r:\n"
    "                   gmm <d> <K> lowrank <r> [labelled], then K lines\n"
    "                   <weight> <mean: d> <D: d, all > 0> <F: d*r, row-major> [class]\n"
    "                   (exact by the Woodbury identity, no d x d matrix)\n"
    "  --schedule NAME  condot | cosine | lab | poly:N (N > 0) | vp | ddpm:N | ...\n"
    "  --t T            time in [0, 1] (0 = noise, 1 = data)\n"
    "  --points FILE    points, d numbers a line (default: standard input)\n"
    "\n"
    "Output: a header line naming the columns (starting with '#'), then one line\n"
    "per point, tab-separated, each number as %.17g:\n"
    "  log p_t(x), then grad log p_t(x) (d numbers), then u_t(x) (d numbers),\n"
    "  then E[z | x_t = x] (d numbers).\n"
    "Exit status 2 for bad options or input, with the file and line at fault.\n";

int fmd_cmd_field(int argc, char **argv)
{
    const char *gmm_path = NULL, *sched_name = NULL, *t_text = NULL, *points_path = NULL;
    const char *hint = "Run 'fmd field --help' for usage.";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;   /* the option as written (i moves past its value) */
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--gmm")))
            gmm_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--schedule")))
            sched_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--t")))
            t_text = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--points")))
            points_path = v;
        else
            return fmd_cli_usage_error("field", hint, "unknown option '%s'", argv[i]);
        if (v && !*v)
            return fmd_cli_missing_value("field", hint, arg);
    }
    if (!gmm_path || !*gmm_path)
        return fmd_cli_usage_error("field", hint, "--gmm FILE is required");
    if (!sched_name || !*sched_name)
        return fmd_cli_usage_error("field", hint, "--schedule NAME is required");
    if (!t_text)
        return fmd_cli_usage_error("field", hint, "--t T is required");
    char *stop;
    errno = 0;
    double t = strtod(t_text, &stop);
    if (stop == t_text || *stop != '\0' || !(t >= 0.0 && t <= 1.0))
        return fmd_cli_usage_error("field", "T must be a number in [0, 1].", "--t '%s' is not in [0, 1]", t_text);
    fmd_schedule sch;
    if (fmd_cli_schedule("field", sched_name, &sch) != 0)
        return 2;
    fmd_gmm *g;
    fmd_parse_error perr;
    int status = fmd_gmm_load(gmm_path, &g, &perr);
    if (status != FMD_OK) {
        fmd_cli_gmm_error("field", &perr);
        fprintf(stderr, "Run 'fmd field --help' for the file format.\n");
        return 2;
    }
    fmd_marginal *m;
    if (fmd_marginal_alloc(g, &m) != FMD_OK || fmd_marginal_set_time(m, &sch, t) != FMD_OK) {
        fprintf(stderr, "fmd field: error: cannot set up the marginal path at t = %g\n", t);
        fmd_gmm_free(g);
        return 1;
    }
    const size_t d = g->d;
    double *x, *out = NULL;
    long *line_of = NULL;
    size_t n;
    const char *source = points_path ? points_path : "<stdin>";
    int rc = fmd_cli_read_points_at("field", points_path, d, &x, &n, &line_of);
    if (rc == 0 && n > 0) {
        out = malloc(n * (1 + 3 * d) * sizeof(double));
        if (!out)
            rc = fmd_cli_out_of_memory("field", "the results", (double)n * (1 + 3 * d) * sizeof(double));
    }
    if (rc == 0 && n > 0) {
        double *lp = out, *sc = out + n, *u = sc + n * d, *zm = u + n * d;
        fmd_marginal_out o = {.logp = lp, .score = sc, .u = u, .zmean = zm};
        fmd_marginal_eval(m, n, x, &o);
        /* Never print NaN as if it were an answer: a point whose results are
         * not all finite is refused, with its line and the likely reason. */
        for (size_t k = 0; rc == 0 && k < n; k++) {
            int finite = isfinite(lp[k]) || lp[k] == -INFINITY;   /* log p = -inf is a true answer (p = 0) */
            for (size_t i = 0; finite && i < d; i++)
                finite = isfinite(sc[k * d + i]) && isfinite(u[k * d + i]) && isfinite(zm[k * d + i]);
            if (finite)
                continue;
            double norm = 0.0;   /* the refused point's largest coordinate, for the reason */
            for (size_t i = 0; i < d; i++)
                norm = fmax(norm, fabs(x[k * d + i]));
            if (!isfinite(m->s.alpha_dot) || !isfinite(m->s.beta_beta_dot))
                fprintf(stderr, "fmd field: error: %s:%ld: u_t is not finite at t = %g: the schedule %s has an infinite "
                                "derivative there (alpha_dot = %g); ask for a t inside (0, 1)\n",
                        source, line_of[k], t, sched_name, m->s.alpha_dot);
            else if (norm > 1e150)
                fprintf(stderr, "fmd field: error: %s:%ld: a coordinate of size %g is too large: its square overflows "
                                "a double, so the density and the field are not finite there; scale the data\n",
                        source, line_of[k], norm);
            else
                fprintf(stderr, "fmd field: error: %s:%ld: the result is not finite at this point (t = %g, schedule %s)\n",
                        source, line_of[k], t, sched_name);
            rc = 2;
        }
        if (rc == 0) {   /* the columns, as `fmd likelihood` names its own ('#': readers skip it) */
            printf("# log_p");
            const char *names[3] = {"score", "u", "zmean"};
            for (int q = 0; q < 3; q++)
                for (size_t i = 0; i < d; i++)
                    printf("\t%s_%zu", names[q], i + 1);
            printf("\n");
        }
        for (size_t k = 0; rc == 0 && k < n; k++) {
            printf("%.17g", lp[k]);
            const double *parts[3] = {sc, u, zm};
            for (int q = 0; q < 3; q++)
                for (size_t i = 0; i < d; i++)
                    printf("\t%.17g", parts[q][k * d + i]);
            printf("\n");
        }
    }
    free(x);
    free(line_of);
    free(out);
    fmd_marginal_free(m);
    fmd_gmm_free(g);
    if (rc == 0)
        rc = fmd_cli_output_done("field", stdout, "standard output");
    return rc;
}
