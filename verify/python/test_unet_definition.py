"""test_unet_definition.py -- the U-Net computes the network it names
(issue 27, item 4): its forward pass against an independent NumPy
implementation written here from the definition, not from the C code.

The gradient checks of verify/test_unet.c prove that backward matches
forward; they cannot see a forward that computes the wrong layer
consistently (a group-norm epsilon, attention's 1/sqrt(c), the time
features' frequencies, the order of a skip's channels). This test can: a
small network (8 x 8 images, 2 levels of 4 and 8 channels, attention, 3
classes) with every parameter set to a different non-trivial value is run
by libfmd (a C program compiled here against build/libfmd.a) and by the
definition below, on three images with different times and labels (one
without a label). The definition, layer by layer (channels last):
  time features   [sin(w_j t), cos(w_j t)], w_j = 1000^(j / (F - 1)), j < F
  embedding       e = SiLU(tf W1 + b1) W2 + b2 + table[y]; s_e = SiLU(e)
  conv3x3         pad 1, stride 1 or 2: out(o) = b + sum_{ky,kx,c} W[(3ky+kx)c_in + c] x(s o + k - 1)
  group norm      per image and group: (x - mean) / sqrt(var + 1e-5), then gamma, beta
  residual block  h = conv1(SiLU(GN1 x)) + s_e W_e + b_e; out = conv2(SiLU(GN2 h)) + skip(x)
  attention       y = GN x; [Q|K|V] = y W_qkv + b; out = x + softmax(Q K^T / sqrt(c)) V W_o + b_o
  up path         [from below | skip], then nearest 2x upsampling and a conv3x3
  head            conv3x3(SiLU(GN U_0)) to one channel
  patches         (cfg.patch = 2) pixel (2Y + dy, 2X + dx) is channel 2 dy + dx of
                  pixel (Y, X): the stem reads 4 channels, the head writes 4
float64 must agree to 1e-12 relative to the output's size; float32 within
the bound stated in the test. verify/planted_bugs.tsv plants a consistent
change of each kind named above, and verify/replant.sh shows this test
catches every one while the gradient checks pass.
"""
import os
import subprocess
import tempfile

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

HARNESS = r'''
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmd.h"

static void rb(const char *name, const fmd_resblock *r)
{
    printf("%s %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", name, r->c_in, r->c_out, r->emb,
           r->groups, r->g1, r->b1, r->w1, r->c1, r->we, r->be, r->g2, r->b2, r->w2, r->c2, r->ws, r->bs);
}

int main(int argc, char **argv)
{
    fmd_unet_config cfg;
    fmd_unet_default_config(8, 3, &cfg);
    cfg.channels = 4, cfg.levels = 2, cfg.mult[0] = 1, cfg.mult[1] = 2, cfg.attention = 1, cfg.groups = 2;
    cfg.n_fourier = 3, cfg.emb = 6;
    if (strcmp(argv[1], "f64-winograd") == 0)   /* the same network, its blocks convolving by F(2x2, 3x3) */
        cfg.conv = FMD_CONV_WINOGRAD;
    if (strcmp(argv[1], "f64-patch") == 0)   /* the same network on 2 x 2 patches: levels 4 x 4 and 2 x 2 */
        cfg.patch = 2;
    fmd_unet *net, *run;
    if (fmd_unet_alloc(&cfg, &net) != FMD_OK)
        return 1;
    for (size_t i = 0; i < net->nparams; i++)   /* every parameter non-trivial and different */
        net->params[i] = 0.45 * sin(1.7 * (double)i + 0.3) + 0.05 * cos(0.37 * (double)i);
    run = net;
    if (strcmp(argv[1], "f32") == 0 && fmd_unet_convert(net, FMD_F32, &run) != FMD_OK)
        return 1;
    enum { N = 3, D = 64 };
    double x[N * D], t[N] = {0.1, 0.55, 0.97}, out[N * D];
    int labels[N] = {0, 2, 3};   /* 3 = no label */
    for (size_t i = 0; i < N * D; i++)
        x[i] = 0.8 * cos(0.9 * (double)i) + 0.1 * sin(2.3 * (double)i);
    fmd_unet_work *w;
    if (fmd_unet_work_alloc(run, N, &w) != FMD_OK || fmd_unet_forward(run, w, N, x, t, labels, out) != FMD_OK)
        return 1;
    printf("cfg %zu %zu %zu %zu %zu %zu %zu %zu\n", cfg.side, cfg.levels, cfg.groups, cfg.n_fourier, cfg.emb,
           cfg.n_classes, (size_t)cfg.attention, cfg.patch ? cfg.patch : 1);
    for (size_t l = 0; l < cfg.levels; l++)
        printf("level %zu %zu %zu\n", l, net->ch[l], net->sides[l]);
    printf("emb %zu %zu %zu %zu %zu\n", net->emb1.w, net->emb1.b, net->emb2.w, net->emb2.b, net->class_table);
    printf("stem %zu %zu\n", net->stem.w, net->stem.b);
    for (size_t l = 0; l < cfg.levels; l++) {
        char name[32];
        snprintf(name, sizeof name, "down%zu", l), rb(name, &net->down[l]);
        snprintf(name, sizeof name, "up%zu", l), rb(name, &net->up[l]);
        printf("downsample%zu %zu %zu\n", l, net->downsample[l].w, net->downsample[l].b);
        printf("upconv%zu %zu %zu\n", l, net->upconv[l].w, net->upconv[l].b);
    }
    rb("mid1", &net->mid1), rb("mid2", &net->mid2);
    printf("attn %zu %zu %zu %zu %zu %zu %zu %zu\n", net->attn.c, net->attn.groups, net->attn.g, net->attn.b,
           net->attn.wqkv, net->attn.bqkv, net->attn.wo, net->attn.bo);
    printf("head %zu %zu %zu %zu\n", net->out_g, net->out_b, net->out.w, net->out.b);
    printf("params");
    for (size_t i = 0; i < net->nparams; i++)
        printf(" %.17g", net->params[i]);
    printf("\nx");
    for (size_t i = 0; i < N * D; i++)
        printf(" %.17g", x[i]);
    printf("\nt %.17g %.17g %.17g\nlabels %d %d %d\nout", t[0], t[1], t[2], labels[0], labels[1], labels[2]);
    for (size_t i = 0; i < N * D; i++)
        printf(" %.17g", out[i]);
    printf("\n");
    return 0;
}
'''


def run_harness(tmp, dtype):
    """Build the C program once, run it for dtype (f64, f32 or f64-winograd) and parse its
    lines: `level l ch side` lines become ch0, side0, ...; the rest key -> values."""
    src, exe = os.path.join(tmp, "unet_def.c"), os.path.join(tmp, "unet_def")
    if not os.path.exists(exe):
        open(src, "w").write(HARNESS)
        r = subprocess.run(["cc", "-std=gnu11", "-I" + os.path.join(ROOT, "src"), src,
                            os.path.join(ROOT, "build", "libfmd.a"), "-o", exe, "-pthread", "-lgsl", "-lgslcblas",
                            "-lblis", "-lsleef", "-lz", "-lm"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    out = subprocess.run([exe, dtype], capture_output=True, text=True, env=dict(os.environ, FMD_THREADS="1"))
    assert out.returncode == 0, out.stderr
    rec = {}
    for line in out.stdout.splitlines():
        key, *vals = line.split()
        if key == "level":
            rec["ch" + vals[0]], rec["side" + vals[0]] = [vals[1]], [vals[2]]
        else:
            rec[key] = vals
    return rec


# ---- the definition -------------------------------------------------------------
def silu(z):
    return z / (1.0 + np.exp(-z))


def conv3x3(x, W, b, stride):
    """x (n, h, w, c_in); W (9 c_in, c_out) with row (3 ky + kx) c_in + c; pad 1."""
    n, h, w, ci = x.shape
    co = W.shape[1]
    ho, wo = (h - 1) // stride + 1, (w - 1) // stride + 1
    xp = np.zeros((n, h + 2, w + 2, ci))
    xp[:, 1:h + 1, 1:w + 1, :] = x
    y = np.zeros((n, ho, wo, co)) + b
    for ky in range(3):
        for kx in range(3):
            patch = xp[:, ky:ky + stride * (ho - 1) + 1:stride, kx:kx + stride * (wo - 1) + 1:stride, :]
            y += patch @ W[(3 * ky + kx) * ci:(3 * ky + kx + 1) * ci, :]
    return y


def group_norm(x, gamma, beta, groups):
    n, h, w, c = x.shape
    g = x.reshape(n, h * w, groups, c // groups)
    mu = g.mean(axis=(1, 3), keepdims=True)
    var = ((g - mu) ** 2).mean(axis=(1, 3), keepdims=True)
    return ((g - mu) / np.sqrt(var + 1e-5)).reshape(n, h, w, c) * gamma + beta


def groups_for(c, asked):
    g = min(asked, c)
    while g > 1 and c % g:
        g -= 1
    return max(g, 1)


def resblock(P, r, x, s_e):
    ci, co, emb, groups = r[:4]
    g1, b1, w1, c1, we, be, g2, b2, w2, c2, ws, bs = r[4:]
    h = conv3x3(silu(group_norm(x, P[g1:g1 + ci], P[b1:b1 + ci], groups_for(ci, groups))),
                P[w1:w1 + 9 * ci * co].reshape(9 * ci, co), P[c1:c1 + co], 1)
    h = h + (s_e @ P[we:we + emb * co].reshape(emb, co) + P[be:be + co])[:, None, None, :]
    out = conv3x3(silu(group_norm(h, P[g2:g2 + co], P[b2:b2 + co], groups_for(co, groups))),
                  P[w2:w2 + 9 * co * co].reshape(9 * co, co), P[c2:c2 + co], 1)
    return out + (x if ci == co else x @ P[ws:ws + ci * co].reshape(ci, co) + P[bs:bs + co])


def attention(P, a, x):
    c, groups, g, b, wqkv, bqkv, wo, bo = a
    n, h, w, _ = x.shape
    y = group_norm(x, P[g:g + c], P[b:b + c], groups).reshape(n, h * w, c)
    qkv = y @ P[wqkv:wqkv + 3 * c * c].reshape(c, 3 * c) + P[bqkv:bqkv + 3 * c]
    Q, K, V = qkv[..., :c], qkv[..., c:2 * c], qkv[..., 2 * c:]
    S = Q @ K.transpose(0, 2, 1) / np.sqrt(c)
    A = np.exp(S - S.max(axis=2, keepdims=True))
    A /= A.sum(axis=2, keepdims=True)
    O = A @ V
    return x + (O @ P[wo:wo + c * c].reshape(c, c) + P[bo:bo + c]).reshape(n, h, w, c)


def reference(rec):
    """The network's output from its definition (module docstring)."""
    side, L, groups, F, E, C, attn_on, p = (int(v) for v in rec["cfg"])
    P = np.array([float(v) for v in rec["params"]])
    n, s0 = 3, side // p
    # p x p patches as p^2 channels: channel dy p + dx of patch (Y, X) is pixel (p Y + dy, p X + dx)
    x = np.array([float(v) for v in rec["x"]]).reshape(n, s0, p, s0, p).transpose(0, 1, 3, 2, 4).reshape(n, s0, s0, p * p)
    t = np.array([float(v) for v in rec["t"]])
    labels = np.array([int(v) for v in rec["labels"]])
    ch = [int(rec["ch%d" % l][0]) for l in range(L)]
    e1w, e1b, e2w, e2b, table = (int(v) for v in rec["emb"])
    freq = 1000.0 ** (np.arange(F) / (F - 1))
    tf = np.concatenate([np.sin(freq * t[:, None]), np.cos(freq * t[:, None])], axis=1)
    a1 = silu(tf @ P[e1w:e1w + 2 * F * E].reshape(2 * F, E) + P[e1b:e1b + E])
    e = a1 @ P[e2w:e2w + E * E].reshape(E, E) + P[e2b:e2b + E]
    e = e + P[table:table + (C + 1) * E].reshape(C + 1, E)[labels]
    s_e = silu(e)
    rb = {k: [int(v) for v in rec[k]] for k in rec if k.startswith(("down", "up", "mid")) and k[-1].isdigit()}
    sw, sb = (int(v) for v in rec["stem"])
    h = conv3x3(x, P[sw:sw + 9 * p * p * ch[0]].reshape(9 * p * p, ch[0]), P[sb:sb + ch[0]], 1)
    H = []
    for l in range(L):
        h = resblock(P, rb["down%d" % l], h, s_e)
        H.append(h)
        if l + 1 < L:
            dw, db = (int(v) for v in rec["downsample%d" % l])
            h = conv3x3(h, P[dw:dw + 9 * ch[l] * ch[l]].reshape(9 * ch[l], ch[l]), P[db:db + ch[l]], 2)
    m = resblock(P, rb["mid1"], H[-1], s_e)
    if attn_on:
        m = attention(P, [int(v) for v in rec["attn"]], m)
    m = resblock(P, rb["mid2"], m, s_e)
    below = m
    for l in range(L - 1, -1, -1):
        u = resblock(P, rb["up%d" % l], np.concatenate([below, H[l]], axis=3), s_e)
        if l > 0:
            uw, ub = (int(v) for v in rec["upconv%d" % l])
            up = u.repeat(2, axis=1).repeat(2, axis=2)   # nearest 2x upsampling
            below = conv3x3(up, P[uw:uw + 9 * ch[l] * ch[l]].reshape(9 * ch[l], ch[l]), P[ub:ub + ch[l]], 1)
    og, ob, ow, obias = (int(v) for v in rec["head"])
    y = silu(group_norm(u, P[og:og + ch[0]], P[ob:ob + ch[0]], groups_for(ch[0], groups)))
    out = conv3x3(y, P[ow:ow + 9 * ch[0] * p * p].reshape(9 * ch[0], p * p), P[obias:obias + p * p], 1)
    return out.reshape(n, s0, s0, p, p).transpose(0, 1, 3, 2, 4).reshape(n, side * side)   # patches back to pixels


@pytest.fixture(scope="module")
def tmp():
    with tempfile.TemporaryDirectory() as d:
        yield d


def test_float64_unet_is_its_definition(tmp):
    rec = run_harness(tmp, "f64")
    want = reference(rec)
    got = np.array([float(v) for v in rec["out"]]).reshape(want.shape)
    scale = np.abs(want).max()
    assert scale > 0.1   # a real signal, not a vanishing one
    err = np.abs(got - want).max() / scale
    assert err < 1e-12, "float64 U-Net differs from its definition by %.3g of the output's size" % err


def test_winograd_unet_is_its_definition(tmp):
    """The same, the residual blocks convolving by Winograd's F(2 x 2, 3 x 3)
    (src/networks/winograd.h): the definition is the direct sum, so this is
    Winograd's algebra checked against it inside the whole network."""
    rec = run_harness(tmp, "f64-winograd")
    want = reference(rec)
    got = np.array([float(v) for v in rec["out"]]).reshape(want.shape)
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err < 1e-12, "the Winograd U-Net differs from its definition by %.3g of the output's size" % err


def test_patched_unet_is_its_definition(tmp):
    """The same network on 2 x 2 patches (cfg.patch = 2): the image enters as
    4 channels of a 4 x 4 map and leaves the head as 4 channels put back in
    place. A transposed patch (dy and dx swapped, or the channel order
    reversed) in both directions is a consistent change the gradient check
    cannot see; here it moves pixels and fails."""
    rec = run_harness(tmp, "f64-patch")
    assert rec["cfg"][7] == "2" and rec["side0"] == ["4"]
    want = reference(rec)
    got = np.array([float(v) for v in rec["out"]]).reshape(want.shape)
    scale = np.abs(want).max()
    assert scale > 0.1
    err = np.abs(got - want).max() / scale
    assert err < 1e-12, "the patched U-Net differs from its definition by %.3g of the output's size" % err


def test_float32_unet_is_its_definition_within_float32s_bound(tmp):
    """Float32: each product rounds to 6e-8 relative; along the ~25 layers of
    the deepest path, with sums of up to 9 x 16 = 144 terms, the errors add
    to about 25 x sqrt(144) x 6e-8 = 2e-5 of the output's size in the worst
    case; the weights themselves are rounded to float32 too (another 6e-8
    each, inside that sum). The check allows 1e-4 and requires the error to
    be above float64's level, so it is a float32 network that was run."""
    rec = run_harness(tmp, "f32")
    want = reference(rec)
    got = np.array([float(v) for v in rec["out"]]).reshape(want.shape)
    err = np.abs(got - want).max() / np.abs(want).max()
    assert 1e-9 < err < 1e-4, "float32 U-Net differs from its definition by %.3g of the output's size" % err
