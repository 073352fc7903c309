/* cmd_field.c -- `fmd field`: the exact marginal path of a mixture at points.
 *
 * Reads points (d numbers a line) and prints a header line ('#'), then per
 * point, tab-separated with %.17g: log p_t(x), grad log p_t(x) (d), u_t(x)
 * (d), E[z | x_t = x] (d). */
#include "cli/cli.h"
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
    "  --class Y        a labelled mixture's class: log p_t(x | y) in the first\n"
    "                   column, and the rest guided (chapter 5, exactly):\n"
    "                   (1 - W) f(x) + W f(x | y) for the score, u_t and E[z | x]\n"
    "  --guidance W     the guidance scale with --class; default 1 (the conditional)\n"
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
    double cls = -1, w = 1;
    int w_given = 0;
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
        else if ((v = fmd_cli_option(argc, argv, &i, "--class"))) {
            if (*v && fmd_cli_number("field", arg, v, 0, 1023, 1, &cls) != 0)
                return 2;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--guidance"))) {
            w_given = 1;
            if (*v && fmd_cli_number("field", arg, v, -1e3, 1e3, 0, &w) != 0)
                return 2;
        } else
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
    if (w_given && cls < 0)
        return fmd_cli_usage_error("field", "Add --class Y, or drop --guidance.", "--guidance has no effect without --class");
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
    fmd_gmm *gy = NULL;   /* --class Y: p_data(. | y), the components labelled y */
    if (cls >= 0 && fmd_gmm_class(g, (int)cls, &gy, NULL) != FMD_OK) {
        fmd_gmm_free(g);
        return fmd_cli_usage_error("field", "Give a class that a component of the mixture is labelled with.",
                                   "--class %g: no component of %s has that label", cls, gmm_path);
    }
    fmd_marginal *m = NULL, *my = NULL;
    if (fmd_marginal_alloc(g, &m) != FMD_OK || fmd_marginal_set_time(m, &sch, t) != FMD_OK ||
        (gy && (fmd_marginal_alloc(gy, &my) != FMD_OK || fmd_marginal_set_time(my, &sch, t) != FMD_OK))) {
        fprintf(stderr, "fmd field: error: cannot set up the marginal path at t = %g\n", t);
        fmd_marginal_free(m);
        fmd_marginal_free(my);
        fmd_gmm_free(gy);
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
        if (my) {   /* chapter 5: log p_t(x | y), and the guided score, field and posterior mean
                       (1 - w) f(x) + w f(x | y) -- classifier-free guidance, exactly */
            double *c = malloc(3 * n * d * sizeof(double));
            if (!c) {
                rc = fmd_cli_out_of_memory("field", "the class's results", 3.0 * n * d * sizeof(double));
            } else {
                fmd_marginal_out oy = {.logp = lp, .score = c, .u = c + n * d, .zmean = c + 2 * n * d};
                fmd_marginal_eval(my, n, x, &oy);
                for (size_t i = 0; i < n * d; i++) {
                    sc[i] = (1.0 - w) * sc[i] + w * c[i];
                    u[i] = (1.0 - w) * u[i] + w * c[n * d + i];
                    zm[i] = (1.0 - w) * zm[i] + w * c[2 * n * d + i];
                }
                free(c);
            }
        }
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
    fmd_marginal_free(my);
    fmd_gmm_free(gy);
    fmd_gmm_free(g);
    if (rc == 0)
        rc = fmd_cli_output_done("field", stdout, "standard output");
    return rc;
}
