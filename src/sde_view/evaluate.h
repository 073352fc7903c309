/* evaluate.h -- how close samples are to a mixture, exactly (chapters 4
 * and 6; `fmd eval --gmm FILE --samples POINTS`).
 *
 * Promise: for n samples x of any sampler, against the mixture g:
 *   - the mean exact log p_data(x), beside that of n fresh exact draws, and
 *     their difference, the NLL gap (0 for exact samples);
 *   - the sliced W1 distance to the exact draws (200 directions), beside its
 *     floor: the same distance between two sets of n exact draws;
 *   - each class's share (points whose class posterior at t = 1 exceeds
 *     1/2), beside the exact draws' (up to 64 classes; an unlabelled
 *     mixture's classes are its components);
 *   - with starts (the noise each sample started from at t = 0) and a
 *     schedule, the coupled RMS error: each sample against the exact flow's
 *     image of its own start (Dormand-Prince at tolerance 1e-9; Thm 10 makes
 *     that image an exact p_data draw coupled to the sample).
 * Every number has its standard error (the RMS error's by the delta
 * method). The exact draws come from the streams of seed; the bits do not
 * depend on threads. */
#ifndef FMD_EVALUATE_H
#define FMD_EVALUATE_H

#include <stddef.h>
#include <stdint.h>
#include "paths/gmm.h"
#include "paths/schedule.h"

#define FMD_EVAL_MAX_CLASSES 64

typedef struct {
    size_t n;                                  /* samples */
    double mean_logp, mean_logp_se;            /* E log p_data(x) of the samples */
    double exact_logp, exact_logp_se;          /* the same for n exact draws */
    double nll_gap, nll_gap_se;                /* exact_logp - mean_logp */
    double w1, w1_se;                          /* sliced W1, samples to exact draws */
    double w1_floor, w1_floor_se;              /* exact draws to exact draws */
    double rms, rms_se;                        /* coupled RMS error; NAN without starts */
    size_t nclasses;                           /* classes reported: 0 if one class or more than 64 */
    int class_label[FMD_EVAL_MAX_CLASSES];
    double share[FMD_EVAL_MAX_CLASSES], share_se[FMD_EVAL_MAX_CLASSES];             /* the samples' */
    double exact_share[FMD_EVAL_MAX_CLASSES], exact_share_se[FMD_EVAL_MAX_CLASSES]; /* the exact draws' */
} fmd_sample_report;

/* Fill *out for n >= 2 samples x (n, g->d). starts (n, g->d) may be NULL;
 * sch is the path of the flow from the starts (required with starts). */
int fmd_evaluate_samples(const fmd_gmm *g, size_t n, const double *x, const double *starts, const fmd_schedule *sch,
                         uint64_t seed, int threads, fmd_sample_report *out);

#endif
