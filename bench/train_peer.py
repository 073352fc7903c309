"""Peer of bench/train_bench.c: the same MLP trained the same way in PyTorch
(CPU), float64 and float32. One step: draw a batch from the mixture, CondOT
CFM target z - eps at x = t z + (1 - t) eps, MSE, Adam(lr 1e-3). Then
sampling: N particles from N(0, I) by RK4, STEPS steps on [0, 1], the whole
batch at once, no gradients.
usage: /usr/bin/python3 train_peer.py GMM_FILE WIDTH DEPTH BATCH SECONDS THREADS N STEPS
Prints "torch-f64 STEPS_PER_S SAMPLES_PER_S" and the same for torch-f32
(training timed for about SECONDS seconds). Used by the benchmark only, never
by the library."""
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


def run(dtype, w, mu, L, width, depth, batch, seconds, n, steps):
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
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        count += 1
    steps_per_s = count / (time.perf_counter() - t0)

    def field(x, t):
        return net(torch.cat([x, torch.full((x.shape[0], 1), t, dtype=dtype)], dim=1))

    with torch.no_grad():
        x = torch.from_numpy(rng.standard_normal((n, d))).to(dtype)
        t0 = time.perf_counter()
        h = 1.0 / steps
        for s in range(steps):   # classical RK4
            t = s * h
            k1 = field(x, t)
            k2 = field(x + 0.5 * h * k1, t + 0.5 * h)
            k3 = field(x + 0.5 * h * k2, t + 0.5 * h)
            k4 = field(x + h * k3, t + h)
            x = x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        samples_per_s = n / (time.perf_counter() - t0)
    return steps_per_s, samples_per_s


def main():
    gmm, width, depth, batch, seconds, threads, n, steps = sys.argv[1:9]
    torch.set_num_threads(int(threads))
    w, mu, L = read_gmm(gmm)
    for name, dt in (("torch-f64", torch.float64), ("torch-f32", torch.float32)):
        s, p = run(dt, w, mu, L, int(width), int(depth), int(batch), float(seconds), int(n), int(steps))
        print("%s %.6g %.6g" % (name, s, p), flush=True)


if __name__ == "__main__":
    main()
