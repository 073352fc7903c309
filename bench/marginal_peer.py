"""Peer of bench/marginal_bench.c: the exact marginal field u_t(x) of a
Gaussian mixture (the closed form of src/marginal.h, Thm 10 of the notes),
vectorized with NumPy and with PyTorch (float64, CPU), timed the same way.

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
    u, dt = timed(numpy_field, X, w, mu, S, a, b, adot, bbd)
    print("numpy %.6g %.3g" % (X.shape[0] / dt, np.abs(u[:200] - ref).max()), flush=True)
    try:
        import torch
        torch.set_num_threads(threads)
        u, dt = timed(torch_field, X, w, mu, S, a, b, adot, bbd)
        print("torch %.6g %.3g" % (X.shape[0] / dt, np.abs(u[:200] - ref).max()), flush=True)
    except ImportError:
        print("torch 0 nan", flush=True)


if __name__ == "__main__":
    main()
