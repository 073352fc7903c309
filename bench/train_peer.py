"""Peer of bench/train_bench.c: the same MLP trained the same way in PyTorch
(CPU), float64 and float32. One step: draw a batch from the mixture, CondOT
CFM target z - eps at x = t z + (1 - t) eps, MSE, Adam(lr 1e-3).
usage: /usr/bin/python3 train_peer.py GMM_FILE WIDTH DEPTH BATCH STEPS THREADS
Prints "torch-f64 STEPS_PER_S" and "torch-f32 STEPS_PER_S". Used by the
benchmark only, never by the library."""
import sys, time
import numpy as np
import torch


def read_gmm(path):
    rows = [l.split() for l in open(path) if l.strip() and not l.lstrip().startswith("#")]
    d, K = int(rows[0][1]), int(rows[0][2])
    w = np.array([float(r[0]) for r in rows[1:]])
    mu = np.array([[float(v) for v in r[1:1 + d]] for r in rows[1:]])
    S = np.array([[float(v) for v in r[1 + d:]] for r in rows[1:]]).reshape(K, d, d)
    return w, mu, np.linalg.cholesky(S)


def run(dtype, w, mu, L, width, depth, batch, steps):
    d = mu.shape[1]
    layers, n_in = [], d + 1
    for _ in range(depth):
        layers += [torch.nn.Linear(n_in, width), torch.nn.SiLU()]
        n_in = width
    layers.append(torch.nn.Linear(n_in, d))
    net = torch.nn.Sequential(*layers).to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)

    def step():
        k = rng.choice(len(w), size=batch, p=w)
        z = mu[k] + np.einsum("nij,nj->ni", L[k], rng.standard_normal((batch, d)))
        eps = rng.standard_normal((batch, d))
        t = rng.random((batch, 1))
        x = t * z + (1 - t) * eps
        inp = torch.from_numpy(np.concatenate([x, t], axis=1)).to(dtype)
        target = torch.from_numpy(z - eps).to(dtype)
        loss = ((net(inp) - target) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def main():
    gmm, width, depth, batch, steps, threads = sys.argv[1:7]
    torch.set_num_threads(int(threads))
    w, mu, L = read_gmm(gmm)
    for name, dt in (("torch-f64", torch.float64), ("torch-f32", torch.float32)):
        print("%s %.6g" % (name, run(dt, w, mu, L, int(width), int(depth), int(batch), int(steps))), flush=True)


if __name__ == "__main__":
    main()
