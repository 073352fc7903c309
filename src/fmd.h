/* fmd.h -- everything the library offers, layer by layer from the base up
 * (src/README.md); each header says which result of the notes it implements.
 * An outside program includes <fmd/fmd.h> and links with
 * `pkg-config --cflags --libs fmd` (README.md, "Install"). */
#ifndef FMD_H
#define FMD_H

/* base/: what every layer stands on */
#include "base/status.h"      /* status codes; GSL's abort handler off */
#include "base/rng.h"         /* seeded streams, reproducible at any thread count */
#include "base/team.h"        /* fmd's threads */
#include "base/matmul.h"      /* the one BLIS call site */
#include "base/cholesky.h"    /* a = L L^T */
#include "base/stats.h"       /* means, slopes, KS distances */

/* flows/: vector fields, ODEs and SDEs (chapters 1-2) */
#include "flows/field.h"      /* vector fields */
#include "flows/ode.h"        /* ODE steppers and drivers */
#include "flows/ode_gsl.h"    /* GSL's steppers as the reference */
#include "flows/sde.h"        /* Brownian motion, SDE steppers */
#include "flows/examples.h"   /* closed-form examples */

/* paths/: probability paths and the exact mixtures (chapter 3; guidance: 5) */
#include "paths/schedule.h"   /* alpha_t, beta_t, sigma_t */
#include "paths/path.h"       /* the Gaussian conditional path */
#include "paths/gmm.h"        /* Gaussian mixtures: the data distributions */
#include "paths/lowrank.h"    /* diagonal plus low-rank covariances (Woodbury) */
#include "paths/fit.h"        /* a low-rank Gaussian fitted to data (PPCA's factor, per-pixel noise) */
#include "paths/marginal.h"   /* the exact marginal path of a mixture */
#include "paths/convert.h"    /* field, score, noise, denoiser (Prop 1) */
#include "paths/guidance.h"   /* exact conditional fields and guidance */
#include "paths/toy.h"        /* 2-D toy data sets */

/* networks/: training a model (chapters 4-5) */
#include "networks/mlp.h"        /* the MLP */
#include "networks/adam.h"       /* Adam, clipping, EMA */
#include "networks/loss.h"       /* FM, CFM, SM, DSM, DDPM, denoiser losses */
#include "networks/train.h"      /* Algorithms 3 and 4 */
#include "networks/classifier.h" /* a time-conditioned classifier, classifier guidance */
#include "networks/winograd.h"   /* its convolutions by Winograd's F(2x2, 3x3) */
#include "networks/unet.h"       /* the U-Net of lecture 002 */
#include "networks/unet_train.h" /* training it */
#include "networks/frechet.h"    /* the Fréchet distance of generated images */

/* sde_view/: sampling, and the SDE view of diffusion (chapters 2 and 6) */
#include "sde_view/sample.h"     /* Algorithms 1 and 2 */
#include "sde_view/forward.h"    /* forward SDEs, time reversal, probability flow */
#include "sde_view/girsanov.h"   /* the path KL of a wrong score (Girsanov) */
#include "sde_view/likelihood.h" /* log-likelihoods by the change of variables */
#include "sde_view/diffusion.h"  /* DDPM, DDIM, annealed Langevin, PC, exponential integrators */
#include "sde_view/ksampler.h"   /* k-diffusion's samplers */
#include "sde_view/sampler.h"    /* every sampler by name, on any field (fmd sample) */
#include "sde_view/evaluate.h"   /* samples against a mixture, exactly (fmd eval --samples) */

/* files/: what fmd reads and writes */
#include "files/gmm_file.h"        /* mixture files */
#include "files/safetensors.h"     /* the checkpoint layout */
#include "files/checkpoint.h"      /* MLP model files */
#include "files/unet_checkpoint.h" /* U-Net model files */
#include "files/idx.h"             /* Fashion-MNIST IDX files */
#include "files/png.h"             /* image samples as a PNG grid */
#include "files/report.h"          /* chapter programs: table of checks, figure data, progress */
#include "files/kept.h"            /* chapter programs: files kept between runs */

#define FMD_VERSION "0.1.0"

#endif
