/* unet_part.h -- chapter 5, part 4: the U-Net of lecture 002 on
 * Fashion-MNIST beside part 3's MLP denoiser (unet_part.c), and the pieces
 * of main.c it shares. */
#ifndef CH05_UNET_PART_H
#define CH05_UNET_PART_H

#include "fmd.h"

/* X_t1 of the ODE dX = u dt on the uniform grid [t0, t1] from x (n, d),
 * blocks of particles on every CPU (main.c). */
int ch05_solve(const fmd_field *u, const fmd_ode_stepper_type *T, double t0, double t1, size_t steps, size_t n,
               double *x);

/* n samples of class y at guidance w from part 3's MLP denoiser, its own
 * sampler (midpoint rule, 25 steps on [0, 0.999]; main.c), pixels clipped
 * to [-1, 1]. */
void ch05_mlp_images(const fmd_mlp *net, const fmd_schedule *sch, int y, double w, uint64_t seed, size_t n, double *x);

/* A grid of 10 classes x 4 guidance scales (w = 0, 1, 2.5, 5) x per_cell
 * samples, cells (10, 4, per_cell, 784), as a 280 x 112 per_cell pixel
 * matrix for gnuplot in the data directory, pixels clipped to [-1, 1]. */
void ch05_write_grid(const char *name, const char *what, size_t per_cell, const double *cells, int *io_failed);

typedef struct {
    fmd_report *rep;
    const fmd_image_set *train, *test;   /* Fashion-MNIST */
    const fmd_mlp *clf;                  /* part 3's classifier: accuracy, and the distance's features */
    const fmd_mlp *mlp;                  /* part 3's MLP denoiser, compared */
    unsigned long mlp_steps, mlp_batch;  /* its training: steps of mlp_batch images */
    const fmd_schedule *sch;             /* CondOT, both models' path */
    int *io_failed;
    int full;                            /* --full (make tour-full): the long runs too */
} ch05_unet_args;

/* Train (or reuse) the U-Net, draw the grid beside the MLP's, and measure
 * both: the Fréchet distance table and the accuracy on guided samples;
 * with a->full, also the 2200-step U-Net and the 10,000-sample table. */
void ch05_unet_part(const ch05_unet_args *a);

#endif
