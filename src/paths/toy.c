/* toy.c -- 2-D toy data sets. */
#include "paths/toy.h"
#include "base/status.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_randist.h>

int fmd_toy_by_name(const char *name, fmd_toy *out)
{
    if (!name || !out)
        return FMD_EINVAL;
    memset(out, 0, sizeof *out);
    if (strlen(name) >= sizeof out->name)
        return FMD_EINVAL;
    strcpy(out->name, name);
    out->noise = 0.05;
    out->scale = 5.0;
    if (strcmp(name, "moons") == 0 || strcmp(name, "spiral") == 0)
        return FMD_OK;
    if (strcmp(name, "circles") == 0) {
        out->factor = 0.5;
        return FMD_OK;
    }
    if (strcmp(name, "checkerboard") == 0) {
        out->factor = 4;
        out->noise = 0.0;
        return FMD_OK;
    }
    return FMD_EINVAL;
}

int fmd_toy_classes(const fmd_toy *toy)
{
    return strcmp(toy->name, "spiral") == 0 ? 1 : 2;
}

int fmd_toy_sample(void *params, gsl_rng *r, size_t n, double *z, int *labels)
{
    const fmd_toy *t = params;
    if (!t || !r || !z)
        return FMD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        double x, y, u = gsl_rng_uniform(r);
        int c = u < 0.5 ? 0 : 1;   /* the class, for moons and circles */
        if (strcmp(t->name, "moons") == 0) {
            /* two half circles: upper (cos a, sin a), lower (1 - cos a, 0.5 - sin a), a in [0, pi] */
            double a = M_PI * gsl_rng_uniform(r);
            if (u < 0.5)
                x = cos(a), y = sin(a);
            else
                x = 1.0 - cos(a), y = 0.5 - sin(a);
            x += -1.0 + gsl_ran_gaussian(r, t->noise);   /* offset (-1, -0.5) */
            y += -0.5 + gsl_ran_gaussian(r, t->noise);
            x *= t->scale, y *= t->scale;
        } else if (strcmp(t->name, "circles") == 0) {
            double a = 2.0 * M_PI * gsl_rng_uniform(r), rad = u < 0.5 ? 1.0 : t->factor;
            x = t->scale * (rad * cos(a) + gsl_ran_gaussian(r, t->noise));
            y = t->scale * (rad * sin(a) + gsl_ran_gaussian(r, t->noise));
        } else if (strcmp(t->name, "checkerboard") == 0) {
            /* uniform on the cells (i, j) with i + j even of a k x k board on [-1, 1]^2 */
            int k = (int)t->factor, i, j;
            do {
                i = (int)gsl_rng_uniform_int(r, (unsigned long)k);
                j = (int)gsl_rng_uniform_int(r, (unsigned long)k);
            } while ((i + j) % 2 != 0);
            c = (((i - j) / 2) % 2 + 2) % 2;
            x = t->scale * (-1.0 + 2.0 * (i + gsl_rng_uniform(r)) / k);
            y = t->scale * (-1.0 + 2.0 * (j + gsl_rng_uniform(r)) / k);
        } else if (strcmp(t->name, "spiral") == 0) {
            /* Archimedean, two turns: radius a / (4 pi) for angle a in [0, 4 pi] */
            double a = 4.0 * M_PI * u;
            c = 0;
            x = t->scale * (a / (4.0 * M_PI) * cos(a) + gsl_ran_gaussian(r, t->noise));
            y = t->scale * (a / (4.0 * M_PI) * sin(a) + gsl_ran_gaussian(r, t->noise));
        } else {
            return FMD_EINVAL;
        }
        z[2 * i] = x;
        z[2 * i + 1] = y;
        if (labels)
            labels[i] = c;
    }
    return FMD_OK;
}
