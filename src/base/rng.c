/* rng.c -- seeded GSL generators and per-block streams. */
#include "base/rng.h"
#include "base/status.h"

#include <stdlib.h>
#include <gsl/gsl_randist.h>

static uint64_t splitmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t fmd_seed_child(uint64_t seed, uint64_t purpose)
{
    return splitmix64(splitmix64(seed + 0x2545f4914f6cdd1dULL) ^ splitmix64(purpose));
}

unsigned long fmd_stream_seed(uint64_t seed, uint64_t stream)
{
    uint64_t z = splitmix64(splitmix64(seed) ^ (stream + 0x632be59bd9b4e019ULL));
    unsigned long s = (unsigned long)(z >> 32);
    return s == 0 ? 4357 : s; /* gsl_rng_set maps seed 0 to 4357 anyway; keep it explicit */
}

int fmd_rng_alloc(uint64_t seed, uint64_t stream, gsl_rng **out)
{
    if (!out)
        return FMD_EINVAL;
    fmd_gsl_quiet();
    *out = gsl_rng_alloc(gsl_rng_mt19937);
    if (!*out)
        return FMD_ENOMEM;
    gsl_rng_set(*out, fmd_stream_seed(seed, stream));
    return FMD_OK;
}

void fmd_rng_gaussian(gsl_rng *r, size_t m, double *out)
{
    for (size_t i = 0; i < m; i++)
        out[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
}

int fmd_streams_alloc(uint64_t seed, size_t n, fmd_streams *s)
{
    if (!s || n == 0)
        return FMD_EINVAL;
    s->nblocks = fmd_nblocks(n);
    s->block = calloc(s->nblocks, sizeof *s->block);
    if (!s->block)
        return FMD_ENOMEM;
    for (size_t b = 0; b < s->nblocks; b++) {
        int status = fmd_rng_alloc(seed, b, &s->block[b]);
        if (status != FMD_OK) {
            fmd_streams_free(s);
            return status;
        }
    }
    return FMD_OK;
}

void fmd_streams_free(fmd_streams *s)
{
    if (!s || !s->block)
        return;
    for (size_t b = 0; b < s->nblocks; b++)
        if (s->block[b])
            gsl_rng_free(s->block[b]);
    free(s->block);
    s->block = NULL;
    s->nblocks = 0;
}

void fmd_streams_gaussian(fmd_streams *s, size_t n, size_t d, double *out)
{
    const size_t nb = fmd_nblocks(n);
    for (size_t b = 0; b < nb; b++) {
        size_t i0 = (size_t)b * FMD_BLOCK;
        size_t m = (i0 + FMD_BLOCK <= n ? FMD_BLOCK : n - i0) * d;
        fmd_rng_gaussian(s->block[b], m, out + i0 * d);
    }
}
