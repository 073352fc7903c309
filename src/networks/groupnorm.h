/* groupnorm.h -- group normalization (Wu & He 2018), the U-Net's
 * normalization (issue 16): a batch's statistics never mix images, so a
 * sample's output does not depend on what else is in the batch.
 *
 * Over channels-last maps x (n, hw, c) with the c channels cut into
 * `groups` groups of c / groups consecutive channels: for image i and group
 * g, over its m = hw c / groups numbers,
 *     mu = mean x,  var = mean (x - mu)^2,  xhat = (x - mu) / sqrt(var + eps),
 *     y = gamma_ch xhat + beta_ch   (one gamma, beta per channel).
 * Backward, with g_k = dy_k gamma_ch(k) over the same m numbers:
 *     dx = (g - mean g - xhat mean(g xhat)) / sqrt(var + eps),
 *     dgamma_ch += sum dy xhat,  dbeta_ch += sum dy. */
#ifndef FMD_GROUPNORM_H
#define FMD_GROUPNORM_H

#include <stddef.h>

/* PyTorch's default eps. */
#define FMD_GROUPNORM_EPS 1e-5

/* The groups for c channels when `asked` are wanted: the largest number
 * not above asked (nor c) that divides c -- 8 for 32 or 64 channels, 4 for
 * 12, 1 for 7. Every group norm of the U-Net takes its count from here. */
size_t fmd_groupnorm_groups(size_t c, size_t asked);

/* fmd_groupnorm_forward, fmd_groupnorm_backward in float64, and the same
 * with _f32 in float32 (groupnorm_typed.h). */
#define FMD_TYPED_F32 0
#include "networks/groupnorm_typed.h"
#define FMD_TYPED_F32 1
#include "networks/groupnorm_typed.h"

#endif
