"""Peer of bench/marginal_bench.c: the exact marginal field u_t(x) of a
Gaussian mixture (the closed form of src/paths/marginal.h, Thm 10 of the notes),
vectorized with NumPy and with PyTorch (float64, CPU), timed the same way.
A low-rank mixture (covariances D + F F^T, file header `gmm d K lowrank r`)
gets the Woodbury form of src/paths/marginal_lowrank.c, written the way a PyTorch
user writes it for speed: the K components side by side in two large
products, and the diagonal terms expanded into products too.

usage: /usr/bin/python3 marginal_peer.py GMM_FILE POINTS_FILE ALPHA BETA ALPHA_DOT BETA_BETA_DOT THREADS
Prints one line per implementation: name, points per second, and the largest
|u - u_C| over the first 200 points against POINTS_FILE.u (the C result),
so the peer is shown to compute the same thing. Used by the benchmark only,
never by the library."""
import sys, time, os
import numpy as np


def read_gmm(path):
    rows = [l.split() for l in open(path) if l.strip() and not l.lstrip().startswith("#")]
    d, K = int(rows[0][1]), int(rows[0][2])
    if len(rows[0]) > 3 and rows[0][3] == "lowrank":
        r = int(rows[0][4])
        w = np.array([float(x[0]) for x in rows[1:]])
        v = np.array([[float(x) for x in row[1:1 + 2 * d + d * r]] for row in rows[1:]])
        return w, v[:, :d], (v[:, d:2 * d], v[:, 2 * d:].reshape(K, d, r))
    w = np.array([float(r[0]) for r in rows[1:]])
    mu = np.array([[float(v) for v in r[1:1 + d]] for r in rows[1:]])
    S = np.array([[float(v) for v in r[1 + d:]] for r in rows[1:]]).reshape(K, d, d)
    return w, mu, S


def numpy_field(X, w, mu, S, a, b, adot, bbd, chunk=4096):
    K, d = mu.shape
    C = a * a * S + b * b * np.eye(d)
    Cinv = np.linalg.inv(C)
    logdet = np.linalg.slogdet(C)[1]
    lognorm = np.log(w) - 0.5 * logdet - 0.5 * d * np.log(2 * np.pi)
    out = np.empty_like(X)
    for s in range(0, X.shape[0], chunk):
        x = X[s:s + chunk]
        D = x[None, :, :] - a * mu[:, None, :]                 # (K, n, d)
        V = np.matmul(D, Cinv)                                 # C symmetric: D C^-1
        q = np.einsum("knd,knd->kn", D, V)
        logit = lognorm[:, None] - 0.5 * q
        m = logit.max(axis=0)
        r = np.exp(logit - m)
        r /= r.sum(axis=0)
        E = mu[:, None, :] + a * np.matmul(V, S)               # E[z | x, k]
        score = -np.einsum("kn,knd->nd", r, V)
        zmean = np.einsum("kn,knd->nd", r, E)
        out[s:s + chunk] = adot * zmean - bbd * score
    return out


def torch_field(X, w, mu, S, a, b, adot, bbd, chunk=4096):
    import torch
    X, w, mu, S = (torch.from_numpy(v) for v in (X, w, mu, S))
    K, d = mu.shape
    C = a * a * S + b * b * torch.eye(d, dtype=torch.float64)
    Cinv = torch.linalg.inv(C)
    logdet = torch.linalg.slogdet(C)[1]
    lognorm = torch.log(w) - 0.5 * logdet - 0.5 * d * np.log(2 * np.pi)
    out = torch.empty_like(X)
    for s in range(0, X.shape[0], chunk):
        x = X[s:s + chunk]
        D = x[None, :, :] - a * mu[:, None, :]
        V = torch.matmul(D, Cinv)
        q = (D * V).sum(-1)
        r = torch.softmax(lognorm[:, None] - 0.5 * q, dim=0)
        E = mu[:, None, :] + a * torch.matmul(V, S)
        score = -(r[:, :, None] * V).sum(0)
        zmean = (r[:, :, None] * E).sum(0)
        out[s:s + chunk] = adot * zmean - bbd * score
    return out.numpy()


def lowrank_parts(lib, w, mu, Dg, F, a, b, adot, bbd):
    """The time slice's matrices (marginal_lowrank.c): WF = Delta^-1 F, M^-1,
    log-normalisers, psi F, b = alpha mu^T Delta^-1 F, omega; lib is numpy or torch."""
    K, d, r = F.shape
    Delta = a * a * Dg + b * b
    dinv = 1.0 / Delta
    WF = dinv[:, :, None] * F
    M = lib.eye(r, dtype=F.dtype)[None] + a * a * lib.matmul(F.transpose(0, 2, 1) if lib is np else F.transpose(1, 2), WF)
    L = lib.linalg.cholesky(M)
    Minv = lib.linalg.inv(M)
    diagL = lib.diagonal(L, axis1=1, axis2=2) if lib is np else lib.diagonal(L, dim1=1, dim2=2)
    logdet = lib.log(Delta).sum(1) + 2.0 * lib.log(diagL).sum(1)
    lognorm = lib.log(w) - 0.5 * logdet - 0.5 * d * np.log(2 * np.pi)
    if lib is np:
        WFall = WF.transpose(1, 0, 2).reshape(d, K * r)
    else:
        WFall = WF.permute(1, 0, 2).reshape(d, K * r)
    PSI = a * (adot * b * b - bbd * a) * WFall
    bk = a * (mu[:, :, None] * WF).sum(1)                        # (K, r)
    omega = (a * adot * Dg + bbd) * dinv                         # (K, d)
    return dinv, WFall, Minv, lognorm, PSI, bk, omega


def lowrank_field(lib, X, w, mu, Dg, F, a, b, adot, bbd, chunk=1024):
    K, d, r = F.shape
    dinv, WFall, Minv, lognorm, PSI, bk, omega = lowrank_parts(lib, w, mu, Dg, F, a, b, adot, bbd)
    mud = (mu * dinv).T                                          # (d, K)
    mumu = (mu * mu * dinv).sum(1)                               # (K)
    base = (adot * mu - a * omega * mu)                          # (K, d)
    out = lib.empty_like(X)
    for s in range(0, X.shape[0], chunk):
        x = X[s:s + chunk]
        n = x.shape[0]
        A = lib.matmul(x, WFall).reshape(n, K, r) - bk[None]
        C = lib.einsum("nkr,krs->nks", A, Minv)
        qd = lib.matmul(x * x, dinv.T) - 2 * a * lib.matmul(x, mud) + a * a * mumu[None]
        q = qd - a * a * (A * C).sum(-1)
        z = lognorm[None] - 0.5 * q
        z = z - z.max(1, keepdims=True) if lib is np else z - z.max(1, keepdim=True).values
        R = lib.exp(z)
        R = R / R.sum(1)[:, None]
        out[s:s + chunk] = lib.matmul((R[:, :, None] * C).reshape(n, K * r), PSI.T) + \
            lib.matmul(R, base) + x * lib.matmul(R, omega)
    return out


def numpy_lowrank(X, w, mu, cov, a, b, adot, bbd):
    return lowrank_field(np, X, w, mu, cov[0], cov[1], a, b, adot, bbd)


def torch_lowrank(X, w, mu, cov, a, b, adot, bbd):
    import torch
    X, w, mu, Dg, F = (torch.from_numpy(np.ascontiguousarray(v)) for v in (X, w, mu, cov[0], cov[1]))
    return lowrank_field(torch, X, w, mu, Dg, F, a, b, adot, bbd).numpy()


def timed(f, *args):
    f(*args)                       # warm up (allocations, thread pool)
    t0 = time.perf_counter()
    u = f(*args)
    return u, time.perf_counter() - t0


def main():
    gmm, pts, a, b, adot, bbd, threads = sys.argv[1:8]
    a, b, adot, bbd, threads = float(a), float(b), float(adot), float(bbd), int(threads)
    w, mu, S = read_gmm(gmm)
    X = np.fromfile(pts, dtype=np.float64).reshape(-1, mu.shape[1])
    ref = np.fromfile(pts + ".u", dtype=np.float64).reshape(-1, mu.shape[1])[:200]
    lowrank = isinstance(S, tuple)
    u, dt = timed(numpy_lowrank if lowrank else numpy_field, X, w, mu, S, a, b, adot, bbd)
    print("numpy %.6g %.3g" % (X.shape[0] / dt, np.abs(u[:200] - ref).max()), flush=True)
    try:
        import torch
        torch.set_num_threads(threads)
        u, dt = timed(torch_lowrank if lowrank else torch_field, X, w, mu, S, a, b, adot, bbd)
        print("torch %.6g %.3g" % (X.shape[0] / dt, np.abs(u[:200] - ref).max()), flush=True)
    except ImportError:
        print("torch 0 nan", flush=True)


if __name__ == "__main__":
    main()
