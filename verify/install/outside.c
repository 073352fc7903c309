/* outside.c -- a program outside the fmd tree, built against an installed
 * fmd with `pkg-config --cflags --libs fmd` (verify/check_install.sh): the
 * exact marginal path of a mixture at one point, printed as `fmd field`
 * prints it, so the two can be compared digit for digit.
 *
 *   outside MIXTURE SCHEDULE T X_1 ... X_d
 *
 * Output: log p_t(x), the score (d), u_t(x) (d), E[z | x_t = x] (d), each
 * %.17g, tab-separated (Thm 10 of the notes; paths/marginal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <fmd/fmd.h>

int main(int argc, char **argv)
{
    fmd_gmm *g;
    fmd_parse_error err;
    fmd_schedule sch;
    fmd_marginal *m = NULL;
    if (argc < 4 || fmd_gmm_load(argv[1], &g, &err) != FMD_OK || fmd_schedule_by_name(argv[2], &sch) != FMD_OK) {
        fprintf(stderr, "usage: outside MIXTURE SCHEDULE T X_1 ... X_d (a readable mixture, a known schedule)\n");
        return 2;
    }
    const size_t d = g->d;
    if ((size_t)argc != 4 + d) {
        fprintf(stderr, "outside: the mixture has d = %zu: give %zu coordinates\n", d, d);
        return 2;
    }
    double x[d], logp, score[d], u[d], zmean[d];
    for (size_t i = 0; i < d; i++)
        x[i] = strtod(argv[4 + i], NULL);
    int status = fmd_marginal_alloc(g, &m);
    if (status == FMD_OK)
        status = fmd_marginal_set_time(m, &sch, strtod(argv[3], NULL));
    if (status == FMD_OK) {
        fmd_marginal_out out = {.logp = &logp, .score = score, .u = u, .zmean = zmean};
        status = fmd_marginal_eval(m, 1, x, &out);
    }
    if (status == FMD_OK) {
        printf("%.17g", logp);
        const double *cols[3] = {score, u, zmean};
        for (int q = 0; q < 3; q++)
            for (size_t i = 0; i < d; i++)
                printf("\t%.17g", cols[q][i]);
        printf("\n");
    }
    fmd_marginal_free(m);
    fmd_gmm_free(g);
    return status == FMD_OK ? 0 : 1;
}
