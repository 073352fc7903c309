/* rng.h -- seeded random streams, reproducible whatever the thread count.
 *
 * Promise: every random number in fmd comes from a GSL generator built here
 * from a (seed, stream) pair. Batches of particles are cut into fixed blocks of
 * FMD_BLOCK particles and block b always draws from stream b, so the numbers a
 * particle sees depend on the seed and its index only -- never on how many
 * threads share the work. */
#ifndef FMD_RNG_H
#define FMD_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

/* Particles per block: the unit of random streams (and of thread work for
 * the SDE driver, whose blocks draw their own increments). */
#define FMD_BLOCK 256

/* A 32-bit seed for stream `stream` of run `seed` (SplitMix64 finaliser of
 * both). MT19937 takes 32-bit seeds, so two of 1000 streams share a seed with
 * probability about 1000^2 / 2^33 = 1e-4; the streams are still valid, merely
 * equal, which no statistic in this project can notice. */
unsigned long fmd_stream_seed(uint64_t seed, uint64_t stream);

/* An independent 64-bit seed for a sub-task `purpose` of run `seed` (e.g. the
 * initial draw and the Brownian increments of one simulation). */
uint64_t fmd_seed_child(uint64_t seed, uint64_t purpose);

/* A fresh MT19937 generator for (seed, stream); *out = NULL on failure. */
int fmd_rng_alloc(uint64_t seed, uint64_t stream, gsl_rng **out);

/* m independent N(0, 1) draws into out[0..m-1] (GSL's ziggurat). */
void fmd_rng_gaussian(gsl_rng *r, size_t m, double *out);

/* One generator per block of FMD_BLOCK particles, for a batch of n. */
typedef struct {
    size_t nblocks;   /* ceil(n / FMD_BLOCK) */
    gsl_rng **block;  /* (nblocks): block b draws from stream b */
} fmd_streams;

int fmd_streams_alloc(uint64_t seed, size_t n, fmd_streams *s);
void fmd_streams_free(fmd_streams *s);

/* Standard normal draws for a whole batch x[n][d]: block b of particles is
 * filled from s->block[b], so a particle's numbers depend on its index only. */
void fmd_streams_gaussian(fmd_streams *s, size_t n, size_t d, double *out);

/* Number of blocks of FMD_BLOCK covering n particles. */
static inline size_t fmd_nblocks(size_t n) { return (n + FMD_BLOCK - 1) / FMD_BLOCK; }

#endif
