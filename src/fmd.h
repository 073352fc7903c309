/* fmd.h -- everything the library offers, in reading order of the notes. */
#ifndef FMD_H
#define FMD_H

#include "status.h"    /* status codes; GSL's abort handler off */
#include "rng.h"       /* seeded streams */
#include "gmm.h"       /* chapter 1: data distributions */
#include "schedule.h"  /* chapter 3: alpha_t, beta_t */
#include "path.h"      /* chapter 3: Gaussian conditional path */
#include "marginal.h"  /* chapter 3: exact marginal path of a mixture */
#include "lowrank.h"   /* chapter 6: diagonal plus low-rank covariances (Woodbury) */
#include "fit.h"       /* chapter 6: a low-rank Gaussian fitted to data (PPCA) */
#include "gmm_file.h"  /* chapter 3: mixture specification files */
#include "matmul.h"    /* chapter 4: the one BLIS call site */
#include "mlp.h"       /* chapter 4: the network */
#include "adam.h"      /* chapter 4: Adam, clipping, EMA */
#include "loss.h"      /* chapter 4: FM, CFM, SM, DSM, DDPM, denoiser losses */
#include "train.h"     /* chapter 4: Algorithms 3 and 4 */
#include "safetensors.h" /* chapter 4: the checkpoint layout */
#include "checkpoint.h"  /* chapter 4: model files */
#include "convert.h"   /* chapter 4: field, score, noise, denoiser (Prop 1) */
#include "toy.h"       /* chapter 4: 2-D toy data sets */
#include "guidance.h"  /* chapter 5: exact conditional fields and guidance */
#include "classifier.h" /* chapter 5: a time-conditioned classifier, classifier guidance */
#include "idx.h"       /* chapter 5: Fashion-MNIST IDX files */
#include "png.h"       /* chapter 5: image samples as a PNG grid */
#include "unet.h"      /* chapter 5: the U-Net of lecture 002 */
#include "unet_train.h" /* chapter 5: training it */
#include "unet_checkpoint.h" /* chapter 5: its model file */
#include "frechet.h"   /* chapter 5: the Fréchet distance of generated images */
#include "forward.h"   /* chapter 6: forward SDEs, time reversal, probability flow */
#include "girsanov.h"  /* chapter 6: the path KL of a wrong score (Girsanov) */
#include "likelihood.h" /* chapter 6: log-likelihoods by the change of variables */
#include "diffusion.h"  /* chapter 6: DDPM, DDIM, annealed Langevin, PC, exponential integrators */
#include "ksampler.h"   /* chapter 6: k-diffusion's samplers (Karras sigmas, Heun, LMS, DPM-Solver++ 3M, ancestral) */
#include "field.h"     /* chapter 2: vector fields */
#include "ode.h"       /* chapter 2: ODE steppers and drivers */
#include "ode_gsl.h"   /* chapter 2: GSL's steppers as the reference */
#include "sde.h"       /* chapter 2: Brownian motion, SDE steppers */
#include "examples.h"  /* chapter 2: closed-form examples */
#include "sample.h"    /* Algorithms 1 and 2 */
#include "stats.h"     /* means, slopes, KS distances */
#include "report.h"    /* chapter programs: table of checks, figure data, progress */
#include "kept.h"      /* chapter programs: files kept between runs, keyed by what made them */

#define FMD_VERSION "0.1.0"

#endif
