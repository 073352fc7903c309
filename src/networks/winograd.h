/* winograd.h -- the U-Net's stride-1 3 x 3 convolutions by Winograd's
 * minimal filtering F(2 x 2, 3 x 3) (Lavin & Gray 2016, "Fast algorithms for
 * convolutional neural networks"; issue 27): the same function as
 * fmd_conv3x3_forward at stride 1 (src/networks/conv.h), with 16 multiplies
 * per 2 x 2 block of outputs and input channel instead of 36.
 *
 * The algorithm. Cut the output into 2 x 2 tiles; tile (ty, tx) reads the
 * 4 x 4 input window d at rows 2 ty - 1 .. 2 ty + 2 (zero outside: padding
 * 1). For one input channel and a 3 x 3 filter g, the tile is
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A,
 * with the 4 x 4, 4 x 3 and 4 x 2 matrices
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 * (a 1-D convolution of 4 inputs by 3 taps, 2 outputs, in 4 multiplies --
 * Toom-Cook at the points 0, 1, -1, infinity -- nested in both directions).
 * Over channels the elementwise product is a sum, so each of the 16 places
 * xi of the 4 x 4 grid is one matrix product over all tiles:
 *     M_xi (tiles, c_out) = V_xi (tiles, c_in) U_xi (c_in, c_out),
 * V = B^T d B of every tile and channel, U = G g G^T of every channel pair:
 * 16 products on BLIS with a chunk of tiles at a time, between cheap
 * transforms of adds (and halves, for U). Backward is the same algebra
 * transposed:
 *     dM = A dY A^T,   dV_xi = dM_xi U_xi^T,   dd = B dV B^T (added into dx,
 *     tiles overlap by 2),   dU_xi = V_xi^T dM_xi,   dg = G^T dU G.
 * A side that is odd has a last tile half outside the image: its outputs
 * there are computed and dropped, its inputs there are zero.
 *
 * Precision: the transforms add at most 4 numbers of the input (B^T, each
 * direction: entries 0, +-1, two nonzeros a row) and at most 3 halves of
 * the filter (G); A^T adds 3. The rounding of a float32 output is then a
 * small multiple of direct convolution's, bounded in verify/test_winograd.c
 * against the float64 result. */
#ifndef FMD_WINOGRAD_H
#define FMD_WINOGRAD_H

#include <stddef.h>

/* Scratch numbers a Winograd convolution takes: U and dU (16 c_in c_out
 * each) and a chunk of V and M (16 (c_in + c_out) a tile). */
#define FMD_WINO_SCRATCH ((size_t)1 << 21)

/* Tiles a chunk of the scratch holds for these channels; 0 if too many channels. */
size_t fmd_winograd_chunk(size_t c_in, size_t c_out);

/* Which way the U-Net convolves at stride 1 (src/networks/unet.h). */
typedef enum { FMD_CONV_DIRECT = 0, FMD_CONV_WINOGRAD } fmd_conv_method;

const char *fmd_conv_method_name(fmd_conv_method m);   /* "direct" | "winograd" */
int fmd_conv_method_by_name(const char *name, fmd_conv_method *m);

#define FMD_TYPED_F32 0
#include "networks/winograd_typed.h"
#define FMD_TYPED_F32 1
#include "networks/winograd_typed.h"

#endif
