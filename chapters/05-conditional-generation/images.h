/* images.h -- chapter 5: what parts 3 and 4 (main.c, unet_part.c) both do
 * with Fashion-MNIST images: solve a model's ODE, draw guided samples from
 * part 3's MLP denoiser, write a grid of samples for gnuplot (images.c). */
#ifndef CH05_IMAGES_H
#define CH05_IMAGES_H

#include "fmd.h"

/* X_t1 of the ODE dX = u dt on the uniform grid [t0, t1] from x (n, d),
 * blocks of particles on every CPU. */
int ch05_solve(const fmd_field *u, const fmd_ode_stepper_type *T, double t0, double t1, size_t steps, size_t n,
               double *x);

/* n samples of class y at guidance w from part 3's MLP denoiser, its own
 * sampler (midpoint rule, 25 steps on [0, 0.999]), pixels clipped
 * to [-1, 1]. */
void ch05_mlp_images(const fmd_mlp *net, const fmd_schedule *sch, int y, double w, uint64_t seed, size_t n, double *x);

/* A grid of 10 classes x 4 guidance scales (w = 0, 1, 2.5, 5) x per_cell
 * samples, cells (10, 4, per_cell, 784), as a 280 x 112 per_cell pixel
 * matrix for gnuplot in the data directory, pixels clipped to [-1, 1]. */
void ch05_write_grid(const char *name, const char *what, size_t per_cell, const double *cells, int *io_failed);

#endif
