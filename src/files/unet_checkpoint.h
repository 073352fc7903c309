/* unet_checkpoint.h -- a U-Net and its training state in a safetensors file
 * (issue 16), beside the MLP's (src/files/checkpoint.h).
 *
 * Promise: one tensor unet.params (nparams, F64 or F32: the network's
 * dtype) in the order of src/networks/unet.c's layout, and with training state
 * adam.m, adam.v (and ema) of the same type; metadata format =
 * "fmd-unet-1", the architecture (side, channels, levels, mult, attention,
 * groups, fourier, emb, classes), dtype (f64 or f32) and the run (as the
 * MLP's). Loading checks the checksum, the format -- an MLP file is refused
 * by name, as the MLP reader refuses this one -- every value's range and
 * every tensor's shape before copying a byte; a resumed run continues bit
 * for bit. */
#ifndef FMD_UNET_CHECKPOINT_H
#define FMD_UNET_CHECKPOINT_H

#include <stddef.h>
#include "files/checkpoint.h"
#include "networks/unet_train.h"

/* Save net (and, if tr is non-NULL, its Adam moments, EMA and step). */
int fmd_unet_checkpoint_save(const char *path, const fmd_unet *net, const fmd_unet_trainer *tr,
                             const fmd_run_info *info);

/* Load; *net is allocated. With state non-NULL (a trainer made for the same
 * architecture), its Adam moments, EMA and step come from the file. With
 * use_ema, the network gets the EMA weights when the file has them (what a
 * sampler wants), else the trained weights (what a resumed run continues). */
int fmd_unet_checkpoint_load(const char *path, int use_ema, fmd_unet **net, fmd_run_info *info,
                             fmd_unet_trainer *state, char *why, size_t why_len);

/* The same from a model file's bytes already in memory (what the fuzz
 * target feeds, verify/fuzz/fuzz_model_file.c); allow_no_checksum as for
 * the MLP (src/files/checkpoint.h). */
int fmd_unet_checkpoint_parse(const uint8_t *data, size_t len, int allow_no_checksum, int use_ema, fmd_unet **net,
                              fmd_run_info *info, fmd_unet_trainer *state, char *why, size_t why_len);

#endif
