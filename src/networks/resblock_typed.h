/* resblock_typed.h -- resblock.h's typed structs and functions, included
 * twice (float64, then float32 with the suffix _f32; see typed_begin.h). */
#include "base/typed_begin.h"

/* Scratch that a network's blocks share, one after another: nothing in it
 * outlives a block's forward or backward. A convolution's patches are 9x its
 * input, so they are not kept for backward but made again from the input,
 * a chunk at a time (src/networks/conv.h): a U-Net's memory is then its feature
 * maps, not nine times them. Sizes: cols and dcols FMD_CONV_COLS numbers,
 * da and dh the largest map (P, c) of the blocks that share it, wino
 * FMD_WINO_SCRATCH. */
typedef struct {
    fmd_real *cols, *dcols, *da, *dh;
    fmd_real *wino;   /* FMD_WINO_SCRATCH numbers for Winograd's transforms, or NULL */
} FMD_T(fmd_layer_scratch);

/* Allocate scratch for maps of at most `map` numbers, with Winograd's
 * (wino; NULL without) if the blocks will convolve by it. */
int FMD_T(fmd_layer_scratch_alloc)(size_t map, int winograd, FMD_T(fmd_layer_scratch) *sc);
void FMD_T(fmd_layer_scratch_free)(FMD_T(fmd_layer_scratch) *sc);

/* What forward keeps for backward, for up to n_max images of hw pixels. */
typedef struct {
    size_t n_max, hw;
    fmd_real *xhat1, *is1;        /* GN1: normalized input, inverse std (n, groups) */
    fmd_real *a1, *s1;            /* SiLU(GN1(x)), conv1's input, and its sigmoid: kept for backward */
    fmd_real *h1;                 /* (n, hw, c_out) conv1's output plus the embedding's bias */
    fmd_real *xhat2, *is2, *a2, *s2;   /* GN2 and its SiLU likewise */
    fmd_real *proj;               /* (n, c_out) the embedding's per-channel bias */
    FMD_T(fmd_layer_scratch) *sc;      /* shared (not owned) */
} FMD_T(fmd_resblock_work);

int FMD_T(fmd_resblock_work_alloc)(const fmd_resblock *rb, size_t n_max, size_t hw, FMD_T(fmd_layer_scratch) *sc,
                            FMD_T(fmd_resblock_work) **out);
void FMD_T(fmd_resblock_work_free)(FMD_T(fmd_resblock_work) *w);

/* out (n, h, w, c_out) from x (n, h, w, c_in) and s_e (n, emb). */
int FMD_T(fmd_resblock_forward)(const fmd_resblock *rb, FMD_T(fmd_resblock_work) *w, size_t n, size_t h, size_t wd,
                         const fmd_real *params, const fmd_real *x, const fmd_real *s_e, fmd_real *out);

/* After forward on the same inputs: grad += d loss / d params; dx (n, h,
 * w, c_in) = d loss / d x; ds_e (n, emb) += d loss / d s_e; for dout. */
int FMD_T(fmd_resblock_backward)(const fmd_resblock *rb, FMD_T(fmd_resblock_work) *w, size_t n, size_t h, size_t wd,
                          const fmd_real *params, const fmd_real *x, const fmd_real *s_e, const fmd_real *dout,
                          fmd_real *grad, fmd_real *dx, fmd_real *ds_e);

/* SiLU over m numbers, y = z s with s = sigmoid(z) kept beside it (y may
 * be z: in place), and its backward from them alone,
 *     dz = dy s (1 + z (1 - s)) = dy (s + y (1 - s))   (z s = y),
 * with no exponential: a layer keeps y (the next one's input) and s
 * instead of z, and each exponential pass was 1% of a float32 step. */
void FMD_T(fmd_silu)(size_t m, const fmd_real *z, fmd_real *s, fmd_real *y);
void FMD_T(fmd_silu_backward)(size_t m, const fmd_real *s, const fmd_real *y, const fmd_real *dy, fmd_real *dz);

#include "base/typed_end.h"
