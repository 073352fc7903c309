/* toy.h -- the 2-D toy data sets of the course labs: moons, circles,
 * checkerboard, and a spiral.
 *
 * Promise: each is a sampler z ~ p_data in R^2 with its parameters explicit.
 * Defaults (fmd_toy_by_name): noise 0.05 and scale 5, as in the course
 * labs' sets as far as we know them -- moons offset (-1, -0.5) before
 * scaling, circles with inner radius 0.5, a 4 x 4 checkerboard on
 * [-scale, scale]^2 -- and a two-turn Archimedean spiral. They have no
 * closed-form density; the distances of `fmd eval` still apply.
 * Classes (chapter 5): moons and circles 0 = upper moon / outer circle, 1 =
 * the other; checkerboard 0/1 by the colour of the filled cell's diagonal
 * band ((i - j)/2 mod 2, so the two colours interleave); spiral 0 only. */
#ifndef FMD_TOY_H
#define FMD_TOY_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

/* A data source: n draws z (n, d) from stream r, and their class labels
 * into labels (n) when it is not NULL (0 for a source without classes). */
typedef int (*fmd_sampler_fn)(void *params, gsl_rng *r, size_t n, double *z, int *labels);

typedef struct {
    char name[16];        /* moons | circles | checkerboard | spiral */
    double noise;         /* sd of the Gaussian jitter (before scaling) */
    double scale;         /* overall scale */
    double factor;        /* circles: inner radius; checkerboard: cells per side */
} fmd_toy;

/* The defaults above for a name; FMD_EINVAL for an unknown one. */
int fmd_toy_by_name(const char *name, fmd_toy *out);

/* fmd_sampler_fn for an fmd_toy (d = 2). */
int fmd_toy_sample(void *toy, gsl_rng *r, size_t n, double *z, int *labels);

/* Number of classes of a toy set (1 for the spiral). */
int fmd_toy_classes(const fmd_toy *toy);

#endif
