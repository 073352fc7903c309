/* winograd_typed.c -- F(2 x 2, 3 x 3) forward and backward (winograd.h),
 * written once for fmd_real (typed_begin.h); winograd.c includes it for
 * float64 and float32. Tile q = (i th + ty) tw + tx of image i, th = ceil(h
 * / 2), tw = ceil(w / 2). Place xi = 4 r + s of the 4 x 4 grid. A chunk of
 * T tiles keeps V as (T, 16, c_in) -- a tile's 16 rows together, so its
 * transforms touch contiguous memory -- and M (or dM) as (T, 16, c_out);
 * the matrix V_xi is then column block xi, row stride 16 c_in. */
#include "base/typed_begin.h"

/* The scratch, in order: U and dU (16 c_in c_out each), a row of zeros (c
 * numbers, c = max(c_in, c_out)), two tiles' worth of 16 rows of c numbers
 * (a window, and the transforms' middle step), then the chunk's V and M. */
typedef struct {
    fmd_real *U, *dU, *zeros, *win, *tmp, *V, *M;
    size_t T;   /* tiles a chunk */
} FMD_T(wino_parts);

static int FMD_T(wino_split)(size_t c_in, size_t c_out, fmd_real *scratch, FMD_T(wino_parts) *p)
{
    const size_t c = c_in > c_out ? c_in : c_out, T = fmd_winograd_chunk(c_in, c_out);
    if (T == 0)
        return FMD_EINVAL;
    p->U = scratch, p->dU = p->U + 16 * c_in * c_out;
    p->zeros = p->dU + 16 * c_in * c_out, p->win = p->zeros + c, p->tmp = p->win + 16 * c;
    p->V = p->tmp + 16 * c, p->M = p->V + 16 * T * c_in, p->T = T;
    for (size_t k = 0; k < c; k++)
        p->zeros[k] = 0;
    return FMD_OK;
}

/* The pixel (i, y, x) of a map (n, h, w, c), or NULL when (y, x) is off
 * the image (y and x may be -1 or h, w). */
static inline fmd_real *FMD_T(wino_pixel)(const fmd_real *map, size_t h, size_t w, size_t c, size_t i, long y, long x)
{
    if (y < 0 || x < 0 || y >= (long)h || x >= (long)w)
        return NULL;
    return (fmd_real *)map + ((i * h + (size_t)y) * w + (size_t)x) * c;
}

/* U_xi (c_in, c_out) = (G g G^T)_xi for every channel pair; g from W (9 c_in, c_out) */
FMD_VECTOR_LOOPS
static void FMD_T(wino_filter)(size_t c_in, size_t c_out, const fmd_real *W, fmd_real *U)
{
    const size_t S = c_in * c_out;
    for (size_t ci = 0; ci < c_in; ci++) {
        const fmd_real *g[9];
        for (size_t t = 0; t < 9; t++)
            g[t] = W + (t * c_in + ci) * c_out;
        fmd_real *u = U + ci * c_out;
        for (size_t co = 0; co < c_out; co++) {
            fmd_real a[4][3], v[4][4];
            for (size_t k = 0; k < 3; k++) {   /* G g: rows 0, 1, 2 of g to 4 rows */
                const fmd_real g0 = g[k][co], g1 = g[3 + k][co], g2 = g[6 + k][co];
                a[0][k] = g0, a[1][k] = (g0 + g1 + g2) / 2, a[2][k] = (g0 - g1 + g2) / 2, a[3][k] = g2;
            }
            _Pragma("GCC unroll 4")
            for (size_t r = 0; r < 4; r++) {   /* (G g) G^T: the same on each row */
                v[r][0] = a[r][0], v[r][1] = (a[r][0] + a[r][1] + a[r][2]) / 2;
                v[r][2] = (a[r][0] - a[r][1] + a[r][2]) / 2, v[r][3] = a[r][2];
            }
            for (size_t xi = 0; xi < 16; xi++)
                u[xi * S + co] = v[xi / 4][xi % 4];
        }
    }
}

/* dW (9 c_in, c_out) += G^T dU_xi G, the adjoint of wino_filter */
FMD_VECTOR_LOOPS
static void FMD_T(wino_filter_back)(size_t c_in, size_t c_out, const fmd_real *dU, fmd_real *dW)
{
    const size_t S = c_in * c_out;
    for (size_t ci = 0; ci < c_in; ci++) {
        fmd_real *g[9];
        for (size_t t = 0; t < 9; t++)
            g[t] = dW + (t * c_in + ci) * c_out;
        const fmd_real *u = dU + ci * c_out;
        for (size_t co = 0; co < c_out; co++) {
            fmd_real a[3][4], v[3][3];
            _Pragma("GCC unroll 4")
            for (size_t s = 0; s < 4; s++) {   /* G^T dU: 4 rows to 3 */
                const fmd_real u0 = u[s * S + co], u1 = u[(4 + s) * S + co], u2 = u[(8 + s) * S + co],
                               u3 = u[(12 + s) * S + co];
                a[0][s] = u0 + (u1 + u2) / 2, a[1][s] = (u1 - u2) / 2, a[2][s] = (u1 + u2) / 2 + u3;
            }
            _Pragma("GCC unroll 4")
            for (size_t r = 0; r < 3; r++) {   /* (G^T dU) G: the same on each row */
                v[r][0] = a[r][0] + (a[r][1] + a[r][2]) / 2, v[r][1] = (a[r][1] - a[r][2]) / 2;
                v[r][2] = (a[r][1] + a[r][2]) / 2 + a[r][3];
            }
            for (size_t t = 0; t < 9; t++)
                g[t][co] += v[t / 3][t % 3];
        }
    }
}

/* Rows of c numbers combined elementwise: each transform below is a few
 * dozen of these per tile, inlined into it, loops the compiler turns into
 * vector code (the transform is compiled for each vector width,
 * FMD_VECTOR_LOOPS). */
#define FMD_WINO_ROW_OP(name, expr)                                                                                   \
    static inline void FMD_T(name)(size_t c, const fmd_real *restrict a, const fmd_real *restrict b,                   \
                                   const fmd_real *restrict e, fmd_real *restrict o)                                  \
    {                                                                                                                 \
        (void)b, (void)e;                                                                                             \
        for (size_t k = 0; k < c; k++)                                                                                \
            o[k] = expr;                                                                                              \
    }
FMD_WINO_ROW_OP(row_sub, a[k] - b[k])               /* a - b */
FMD_WINO_ROW_OP(row_add, a[k] + b[k])               /* a + b */
FMD_WINO_ROW_OP(row_neg, -a[k])                     /* -a */
FMD_WINO_ROW_OP(row_add3, a[k] + b[k] + e[k])       /* a + b + e */
FMD_WINO_ROW_OP(row_sub3, a[k] - b[k] - e[k])       /* a - b - e */
FMD_WINO_ROW_OP(row_subadd, a[k] - b[k] + e[k])     /* a - b + e */
FMD_WINO_ROW_OP(row_addsub, a[k] + b[k] - e[k])     /* a + b - e */
#undef FMD_WINO_ROW_OP

/* o += a */
static inline void FMD_T(row_acc)(size_t c, const fmd_real *restrict a, fmd_real *restrict o)
{
    for (size_t k = 0; k < c; k++)
        o[k] += a[k];
}

/* out = B^T d B for one tile: d and out 16 rows of c (place 4 r + s), t scratch of 16 rows.
 * B^T's rows applied to 4 numbers: (d0 - d2, d1 + d2, d2 - d1, d1 - d3), down the columns then along the rows. */
FMD_VECTOR_LOOPS static void FMD_T(bt_d_b)(size_t c, const fmd_real *d, fmd_real *t, fmd_real *out)
{
    for (size_t s = 0; s < 4; s++) {   /* t = B^T d: column s */
        const fmd_real *d0 = d + s * c, *d1 = d + (4 + s) * c, *d2 = d + (8 + s) * c, *d3 = d + (12 + s) * c;
        FMD_T(row_sub)(c, d0, d2, NULL, t + s * c);
        FMD_T(row_add)(c, d1, d2, NULL, t + (4 + s) * c);
        FMD_T(row_sub)(c, d2, d1, NULL, t + (8 + s) * c);
        FMD_T(row_sub)(c, d1, d3, NULL, t + (12 + s) * c);
    }
    for (size_t r = 0; r < 4; r++) {   /* out = t B: row r */
        const fmd_real *t0 = t + 4 * r * c, *t1 = t0 + c, *t2 = t0 + 2 * c, *t3 = t0 + 3 * c;
        fmd_real *o = out + 4 * r * c;
        FMD_T(row_sub)(c, t0, t2, NULL, o);
        FMD_T(row_add)(c, t1, t2, NULL, o + c);
        FMD_T(row_sub)(c, t2, t1, NULL, o + 2 * c);
        FMD_T(row_sub)(c, t1, t3, NULL, o + 3 * c);
    }
}

/* out = B v B^T (the adjoint): B's rows applied to 4 numbers: (v0, v1 - v2 + v3, v1 + v2 - v0, -v3) */
FMD_VECTOR_LOOPS static void FMD_T(b_v_bt)(size_t c, const fmd_real *v, fmd_real *t, fmd_real *out)
{
    for (size_t s = 0; s < 4; s++) {
        const fmd_real *v0 = v + s * c, *v1 = v + (4 + s) * c, *v2 = v + (8 + s) * c, *v3 = v + (12 + s) * c;
        memcpy(t + s * c, v0, c * sizeof(fmd_real));
        FMD_T(row_subadd)(c, v1, v2, v3, t + (4 + s) * c);
        FMD_T(row_addsub)(c, v1, v2, v0, t + (8 + s) * c);
        FMD_T(row_neg)(c, v3, NULL, NULL, t + (12 + s) * c);
    }
    for (size_t r = 0; r < 4; r++) {
        const fmd_real *t0 = t + 4 * r * c, *t1 = t0 + c, *t2 = t0 + 2 * c, *t3 = t0 + 3 * c;
        fmd_real *o = out + 4 * r * c;
        memcpy(o, t0, c * sizeof(fmd_real));
        FMD_T(row_subadd)(c, t1, t2, t3, o + c);
        FMD_T(row_addsub)(c, t1, t2, t0, o + 2 * c);
        FMD_T(row_neg)(c, t3, NULL, NULL, o + 3 * c);
    }
}

/* out (4 rows: place 2 a + e) = A^T m A: A^T's rows applied to 4 numbers: (m0 + m1 + m2, m1 - m2 - m3) */
FMD_VECTOR_LOOPS static void FMD_T(at_m_a)(size_t c, const fmd_real *m, fmd_real *t, fmd_real *out)
{
    for (size_t s = 0; s < 4; s++) {   /* t (2 x 4) = A^T m */
        const fmd_real *m0 = m + s * c, *m1 = m + (4 + s) * c, *m2 = m + (8 + s) * c, *m3 = m + (12 + s) * c;
        FMD_T(row_add3)(c, m0, m1, m2, t + s * c);
        FMD_T(row_sub3)(c, m1, m2, m3, t + (4 + s) * c);
    }
    for (size_t a = 0; a < 2; a++) {   /* out = t A */
        const fmd_real *t0 = t + 4 * a * c, *t1 = t0 + c, *t2 = t0 + 2 * c, *t3 = t0 + 3 * c;
        FMD_T(row_add3)(c, t0, t1, t2, out + 2 * a * c);
        FMD_T(row_sub3)(c, t1, t2, t3, out + (2 * a + 1) * c);
    }
}

/* out (16 rows) = A g A^T for g 4 rows (place 2 a + e): A's rows applied to 2 numbers: (g0, g0 + g1, g0 - g1, -g1) */
FMD_VECTOR_LOOPS static void FMD_T(a_g_at)(size_t c, const fmd_real *g, fmd_real *t, fmd_real *out)
{
    for (size_t s = 0; s < 2; s++) {   /* t (4 x 2) = A g */
        const fmd_real *g0 = g + s * c, *g1 = g + (2 + s) * c;
        memcpy(t + s * c, g0, c * sizeof(fmd_real));
        FMD_T(row_add)(c, g0, g1, NULL, t + (2 + s) * c);
        FMD_T(row_sub)(c, g0, g1, NULL, t + (4 + s) * c);
        FMD_T(row_neg)(c, g1, NULL, NULL, t + (6 + s) * c);
    }
    for (size_t r = 0; r < 4; r++) {   /* out = t A^T */
        const fmd_real *t0 = t + 2 * r * c, *t1 = t0 + c;
        fmd_real *o = out + 4 * r * c;
        memcpy(o, t0, c * sizeof(fmd_real));
        FMD_T(row_add)(c, t0, t1, NULL, o + c);
        FMD_T(row_sub)(c, t0, t1, NULL, o + 2 * c);
        FMD_T(row_neg)(c, t1, NULL, NULL, o + 3 * c);
    }
}

/* The side x side window of image i of a map (n, h, w, c) whose top left
 * pixel is (y0, x0) into p->win, side^2 rows of c, zeros off the image. */
static void FMD_T(wino_gather)(const fmd_real *map, size_t h, size_t w, size_t c, size_t i, long y0, long x0,
                               size_t side, const FMD_T(wino_parts) *p)
{
    for (size_t k = 0; k < side * side; k++) {
        const fmd_real *src = FMD_T(wino_pixel)(map, h, w, c, i, y0 + (long)(k / side), x0 + (long)(k % side));
        memcpy(p->win + k * c, src ? src : p->zeros, c * sizeof(fmd_real));
    }
}

/* Tiles [q0, q1)'s V = B^T d B of each 4 x 4 input window d, gathered first
 * into p->win (zeros off the image). V of a chunk is (T, 16, c): V_xi is
 * the (T, c) matrix at column block xi, row stride 16 c. */
static void FMD_T(wino_input)(size_t h, size_t w, size_t c, const fmd_real *x, size_t q0, size_t q1,
                              const FMD_T(wino_parts) *p, fmd_real *V)
{
    const size_t th = (h + 1) / 2, tw = (w + 1) / 2;
    for (size_t q = q0; q < q1; q++) {
        const size_t i = q / (th * tw), ty = q / tw % th, tx = q % tw;
        FMD_T(wino_gather)(x, h, w, c, i, 2 * (long)ty - 1, 2 * (long)tx - 1, 4, p);
        FMD_T(bt_d_b)(c, p->win, p->tmp, V + (q - q0) * 16 * c);
    }
}

/* dx (n, h, w, c) += B dV B^T of each tile, put back on its window (the
 * adjoint of wino_input; windows overlap by two rows or columns, so each adds) */
static void FMD_T(wino_input_back)(size_t h, size_t w, size_t c, const fmd_real *dV, size_t q0, size_t q1,
                                   const FMD_T(wino_parts) *p, fmd_real *dx)
{
    const size_t th = (h + 1) / 2, tw = (w + 1) / 2;
    for (size_t q = q0; q < q1; q++) {
        const size_t i = q / (th * tw), ty = q / tw % th, tx = q % tw;
        FMD_T(b_v_bt)(c, dV + (q - q0) * 16 * c, p->tmp, p->win);
        for (size_t xi = 0; xi < 16; xi++) {
            fmd_real *dst = FMD_T(wino_pixel)(dx, h, w, c, i, 2 * (long)ty - 1 + (long)(xi / 4), 2 * (long)tx - 1 + (long)(xi % 4));
            if (dst)   /* off the image: the padding's gradient is not wanted */
                FMD_T(row_acc)(c, p->win + xi * c, dst);
        }
    }
}

/* y's tiles [q0, q1) = A^T M A + b, M (T, 16, c) as V (the outputs off the image dropped) */
static void FMD_T(wino_output)(size_t h, size_t w, size_t c, const fmd_real *M, const fmd_real *b, size_t q0,
                               size_t q1, const FMD_T(wino_parts) *p, fmd_real *y)
{
    const size_t th = (h + 1) / 2, tw = (w + 1) / 2;
    for (size_t q = q0; q < q1; q++) {
        const size_t i = q / (th * tw), ty = q / tw % th, tx = q % tw;
        FMD_T(at_m_a)(c, M + (q - q0) * 16 * c, p->tmp, p->win);
        for (size_t e = 0; e < 4; e++) {
            fmd_real *dst = FMD_T(wino_pixel)(y, h, w, c, i, 2 * (long)ty + (long)(e / 2), 2 * (long)tx + (long)(e % 2));
            if (dst)
                FMD_T(row_add)(c, p->win + e * c, b, NULL, dst);
        }
    }
}

/* dM of tiles [q0, q1) = A dY A^T of each tile's 2 x 2 block of dy (the adjoint of wino_output) */
static void FMD_T(wino_output_back)(size_t h, size_t w, size_t c, const fmd_real *dy, size_t q0, size_t q1,
                                    const FMD_T(wino_parts) *p, fmd_real *dM)
{
    const size_t th = (h + 1) / 2, tw = (w + 1) / 2;
    for (size_t q = q0; q < q1; q++) {
        const size_t i = q / (th * tw), ty = q / tw % th, tx = q % tw;
        FMD_T(wino_gather)(dy, h, w, c, i, 2 * (long)ty, 2 * (long)tx, 2, p);
        FMD_T(a_g_at)(c, p->win, p->tmp, dM + (q - q0) * 16 * c);
    }
}

int FMD_T(fmd_winograd_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                                const fmd_real *W, const fmd_real *b, fmd_real *scratch, fmd_real *y)
{
    FMD_T(wino_parts) p;
    if (n == 0 || h == 0 || w == 0 || FMD_T(wino_split)(c_in, c_out, scratch, &p) != FMD_OK)
        return FMD_EINVAL;
    const size_t tiles = n * ((h + 1) / 2) * ((w + 1) / 2);
    FMD_T(wino_filter)(c_in, c_out, W, p.U);
    for (size_t q0 = 0; q0 < tiles; q0 += p.T) {
        const size_t q1 = q0 + p.T < tiles ? q0 + p.T : tiles, T = q1 - q0;
        FMD_T(wino_input)(h, w, c_in, x, q0, q1, &p, p.V);
        for (size_t xi = 0; xi < 16; xi++)   /* M_xi = V_xi U_xi, column block xi of (T, 16 c) */
            fmd_gemm_real(0, 0, T, c_out, c_in, 1.0, p.V + xi * c_in, 16 * c_in, p.U + xi * c_in * c_out, c_out, 0.0,
                          p.M + xi * c_out, 16 * c_out);
        FMD_T(wino_output)(h, w, c_out, p.M, b, q0, q1, &p, y);
    }
    return FMD_OK;
}

int FMD_T(fmd_winograd_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                                 const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *scratch,
                                 fmd_real *dx)
{
    FMD_T(wino_parts) p;
    if (n == 0 || h == 0 || w == 0 || FMD_T(wino_split)(c_in, c_out, scratch, &p) != FMD_OK)
        return FMD_EINVAL;
    const size_t tiles = n * ((h + 1) / 2) * ((w + 1) / 2), P = n * h * w;
    for (size_t q = 0; q < P; q++)
        for (size_t c = 0; c < c_out; c++)
            db[c] += dy[q * c_out + c];
    if (dx) {
        memset(dx, 0, P * c_in * sizeof(fmd_real));
        FMD_T(wino_filter)(c_in, c_out, W, p.U);
    }
    memset(p.dU, 0, 16 * c_in * c_out * sizeof(fmd_real));
    for (size_t q0 = 0; q0 < tiles; q0 += p.T) {
        const size_t q1 = q0 + p.T < tiles ? q0 + p.T : tiles, T = q1 - q0;
        FMD_T(wino_input)(h, w, c_in, x, q0, q1, &p, p.V);      /* V again, not kept from forward */
        FMD_T(wino_output_back)(h, w, c_out, dy, q0, q1, &p, p.M);   /* dM */
        for (size_t xi = 0; xi < 16; xi++) {
            fmd_real *V = p.V + xi * c_in, *dM = p.M + xi * c_out;
            fmd_gemm_real(1, 0, c_in, c_out, T, 1.0, V, 16 * c_in, dM, 16 * c_out, 1.0, p.dU + xi * c_in * c_out, c_out);
            if (dx)   /* dV_xi = dM_xi U_xi^T, over V_xi (used above, not needed again) */
                fmd_gemm_real(0, 1, T, c_in, c_out, 1.0, dM, 16 * c_out, p.U + xi * c_in * c_out, c_out, 0.0, V, 16 * c_in);
        }
        if (dx)
            FMD_T(wino_input_back)(h, w, c_in, p.V, q0, q1, &p, dx);
    }
    FMD_T(wino_filter_back)(c_in, c_out, p.dU, dW);
    return FMD_OK;
}

#include "base/typed_end.h"
