/* checkpoint.h -- a trained model and its training state, in safetensors.
 *
 * Promise: tensors net.<l>.W (in, out) and net.<l>.b (out) for every layer,
 * adam.m, adam.v and ema (nparams each) when training state is saved; the
 * metadata names the architecture, schedule, objective, data, steps and
 * seed. Loading checks the checksum, the architecture, and every tensor's
 * name and shape before copying a byte; a resumed run continues exactly. */
#ifndef FMD_CHECKPOINT_H
#define FMD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "networks/mlp.h"
#include "networks/train.h"
#include "files/model_file.h"   /* fmd_run_info */

/* Save net (and, if tr is non-NULL, its Adam moments, EMA and step). */
int fmd_checkpoint_save(const char *path, const fmd_mlp *net, const fmd_trainer *tr,
                        const fmd_run_info *info);

/* Load; *net is allocated. If state is non-NULL and the file holds training
 * state, the Adam moments, EMA and step are copied into it (it must have been
 * made for the same architecture). why gets the reason of a rejection. */
int fmd_checkpoint_load(const char *path, fmd_mlp **net, fmd_run_info *info, fmd_trainer *state,
                        char *why, size_t why_len);

/* The same; if allow_no_checksum, a file without fmd's checksum (one written
 * elsewhere in fmd's layout) is read rather than refused -- a checksum that
 * is present must still match. *has_checksum (may be NULL) says whether the
 * file had one. */
int fmd_checkpoint_load_checked(const char *path, fmd_mlp **net, fmd_run_info *info, fmd_trainer *state,
                                int allow_no_checksum, int *has_checksum, char *why, size_t why_len);

/* The same from a model file's bytes (data, len) already in memory: what
 * the loaders above do after reading the file, and what the fuzz target
 * feeds (verify/fuzz/fuzz_model_file.c). */
int fmd_checkpoint_parse(const uint8_t *data, size_t len, fmd_mlp **net, fmd_run_info *info, fmd_trainer *state,
                         int allow_no_checksum, int *has_checksum, char *why, size_t why_len);

/* Name <-> enum helpers for the command line and the metadata. */
const char *fmd_objective_name(fmd_loss_kind k);
int fmd_objective_by_name(const char *name, fmd_loss_kind *k);
const char *fmd_activation_name(fmd_activation a);
const char *fmd_readout_name(fmd_mlp_output k);   /* plain | noise | data | score */
int fmd_readout_by_name(const char *name, fmd_mlp_output *k);
int fmd_activation_by_name(const char *name, fmd_activation *a);

#endif
