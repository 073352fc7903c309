/* images.c -- chapter 5's image pieces (images.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmd.h"
#include "images.h"

enum { SAMPLE_STEPS = 25 };
#define T1 0.999   /* a denoiser's field divides by beta_t: stop where beta = 1e-3 */

/* X_t1 of the ODE dX = u dt on the uniform grid [t0, t1] from x (n, d) */
int ch05_solve(const fmd_field *u, const fmd_ode_stepper_type *T, double t0, double t1, size_t steps, size_t n,
               double *x)
{
    double *ts = malloc((steps + 1) * sizeof(double));
    fmd_ode_workspace *ws = NULL;
    int status = ts ? fmd_ode_workspace_alloc(T, n, u->d, &ws) : FMD_ENOMEM;
    if (status == FMD_OK) {
        ws->threads = fmd_cpus_available();   /* blocks of particles; same bits on any number */
        fmd_time_grid(t0, t1, steps, ts);
        status = fmd_ode_solve_grid(ws, u, ts, steps + 1, x, NULL);
    }
    fmd_ode_workspace_free(ws);
    free(ts);
    return status;
}

/* n guided samples of class y at scale w into x: the denoiser's output is
 * guided, (1 - w) D(x | no label) + w D(x | y), then turned into the field
 * alpha_dot D + beta_dot (x - alpha D) / beta (affine in D, so this is
 * classifier-free guidance of the field), midpoint rule on [0, T1]; the
 * pixels clipped to [-1, 1], as an image is shown */
void ch05_mlp_images(const fmd_mlp *net, const fmd_schedule *sch, int y, double w, uint64_t seed, size_t n, double *x)
{
    fmd_mlp_eval *ev;
    fmd_mlp_eval_alloc(net, &ev);
    fmd_mlp_guidance G = {net, y, w, ev};
    fmd_field D = {fmd_mlp_guided_field, net->cfg.d, &G};
    fmd_flow_sde_params P = {&D, *sch, 0.0, FMD_PREDICTS_DATA, NULL};
    fmd_field u = {fmd_flow_sde_drift, net->cfg.d, &P};
    fmd_sample_init(seed, n, net->cfg.d, x);
    ch05_solve(&u, fmd_ode_midpoint, 0.0, T1, SAMPLE_STEPS, n, x);
    fmd_mlp_eval_free(ev);
    for (size_t i = 0; i < n * net->cfg.d; i++)
        x[i] = fmin(1.0, fmax(-1.0, x[i]));
}

void ch05_write_grid(const char *name, const char *what, size_t per_cell, const double *cells, int *io_failed)
{
    const size_t width = 4 * 28 * per_cell;
    char header[240];
    snprintf(header, sizeof header, "# a 280 x %zu pixel matrix: rows = classes (28 px each), columns = w = 0, 1, 2.5, "
                                    "5, %zu sample%s each (%s)", width, per_cell, per_cell > 1 ? "s" : "", what);
    fmd_atomic_file f;
    FILE *out = fmd_data_begin(name, header, &f, io_failed);
    for (size_t row = 0; out && row < 280; row++) {
        for (size_t col = 0; col < width; col++) {
            const size_t y = row / 28, q = col / (28 * per_cell), s = col % (28 * per_cell) / 28;   /* class, w, sample */
            const double v = cells[((y * 4 + q) * per_cell + s) * 784 + (row % 28) * 28 + col % 28];
            fprintf(out, "%s%.3f", col ? " " : "", fmin(1.0, fmax(-1.0, v)));
        }
        fprintf(out, "\n");
    }
    if (out)
        fmd_data_end(&f, io_failed);
}
