/* conv.h -- the image layers of the U-Net (issue 16, lecture 002's
 * "neural architecture"): a 3 x 3 convolution, nearest-neighbour
 * upsampling, forward and backward side by side.
 *
 * Layout. A batch of feature maps is (n, H, W, C) row-major -- channels
 * last -- so that a pixel's C channels are contiguous. Then the convolution
 * is one matrix product for the whole batch (im2col, the choice of Caffe and
 * of most CPU libraries): each output pixel's 3 x 3 x C_in input patch is
 * copied into a row of `cols` (P, 9 C_in), P = n H_out W_out, and
 *     y (P, C_out) = cols W + b,        W (9 C_in, C_out),
 * row (ky 3 + kx) C_in + c of W weighting input channel c at offset
 * (ky - 1, kx - 1). Backward is two more products, dW += cols^T dy and
 * dcols = dy W^T, and col2im adds dcols back into dx. im2col turns all the
 * arithmetic into BLIS products, which run near the machine's peak; an
 * implicit GEMM saves the copy but needs a hand-written kernel per shape.
 * The patches are 9x the input, so they are made a chunk of output pixels
 * at a time, FMD_CONV_COLS numbers at most (1 MB in float32): the chunk
 * is still in cache when BLIS reads it. Whole, a batch slice's patches
 * were 14 MB, written to memory and read back, and a float32 step spent a
 * fifth of its time on them.
 * Zero padding 1; stride 1 (same size) or 2 (H_out = ceil(H / 2), the
 * U-Net's downsampling).
 * Upsampling followed by a convolution is also one layer
 * (fmd_upconv_forward): each output parity a 2 x 2 convolution of the small
 * map, 4/9 of the multiply-adds.
 * A direct convolution by loops (fmd_conv3x3_naive) is the reference the
 * suite compares with (verify/test_conv.c). */
#ifndef FMD_CONV_H
#define FMD_CONV_H

#include <stddef.h>

/* The numbers in one chunk of patches: a convolution makes its patches
 * FMD_CONV_COLS / (9 c_in) output pixels at a time. */
#define FMD_CONV_COLS ((size_t)1 << 18)

/* The output side for input side h: (h + 2 - 3) / stride + 1. */
size_t fmd_conv_out_side(size_t h, size_t stride);

/* The typed layers: fmd_im2col, fmd_col2im, fmd_conv3x3_forward and
 * _backward, fmd_upsample2_forward and _backward in float64, and the same
 * with _f32 in float32 (conv_typed.h). */
#define FMD_TYPED_F32 0
#include "networks/conv_typed.h"
#define FMD_TYPED_F32 1
#include "networks/conv_typed.h"

/* The same forward as a direct sum over the 3 x 3 neighbourhood: the reference. */
void fmd_conv3x3_naive(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const double *x,
                       const double *W, const double *b, double *y);

#endif
