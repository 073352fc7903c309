"""Peer of bench/fmnist_bench.c: the chapter-5 Fashion-MNIST denoiser in
PyTorch (CPU), float64 and float32 -- inputs [x (784), sin/cos(pi j t) j=1..4,
one-hot label over 10 + "no label"], 512 x 3 SiLU, 784 outputs predicting the
clean image on the CondOT path, label dropout 0.1, Adam(lr 1e-3), batch 128;
and sampling with classifier-free guidance (two forwards per field
evaluation, field (D - x) / (1 - t)), midpoint rule, 25 steps on [0, 0.999],
100 images a batch.
usage: /usr/bin/python3 fmnist_peer.py DATA_DIR TRAIN_STEPS SAMPLE_BATCHES THREADS
Prints "torch-f64 STEPS_PER_S IMAGES_PER_S" and the same for torch-f32.
Used by the benchmark only, never by the library."""
import gzip, sys, time
import numpy as np
import torch


def load(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def net_for(dtype):
    layers, n_in = [], 784 + 8 + 11
    for _ in range(3):
        layers += [torch.nn.Linear(n_in, 512), torch.nn.SiLU()]
        n_in = 512
    layers.append(torch.nn.Linear(n_in, 784))
    return torch.nn.Sequential(*layers).to(dtype)


def features(x, t, y):
    j = torch.arange(1, 5, dtype=x.dtype)
    ang = torch.pi * t[:, None] * j[None, :]
    tf = torch.stack([torch.sin(ang), torch.cos(ang)], dim=2).reshape(len(t), 8)
    oh = torch.nn.functional.one_hot(y, 11).to(x.dtype)
    return torch.cat([x, tf, oh], dim=1)


def run(dtype, images, labels, train_steps, sample_batches):
    torch.manual_seed(0)
    net = net_for(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)

    def step():
        k = torch.randint(0, len(images), (128,), generator=g)
        z, y = images[k], labels[k].clone()
        y[torch.rand(128, generator=g) < 0.1] = 10
        eps = torch.randn(128, 784, generator=g, dtype=dtype)
        t = torch.rand(128, generator=g, dtype=dtype)
        x = t[:, None] * z + (1 - t[:, None]) * eps
        loss = ((net(features(x, t, y)) - z) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(train_steps):
        step()
    steps_per_s = train_steps / (time.perf_counter() - t0)

    def field(x, t, y, w):
        tt = torch.full((len(x),), t, dtype=dtype)
        u0 = net(features(x, tt, torch.full((len(x),), 10)))
        u1 = net(features(x, tt, y))
        return ((1 - w) * u0 + w * u1 - x) / (1 - t)   # CondOT: u = (D - x) / (1 - t)

    with torch.no_grad():
        t0 = time.perf_counter()
        for b in range(sample_batches):
            y = torch.full((100,), b % 10)
            x = torch.randn(100, 784, generator=g, dtype=dtype)
            h = 0.999 / 25
            for k in range(25):
                t = k * h
                mid = x + 0.5 * h * field(x, t, y, 2.5)
                x = x + h * field(mid, t + 0.5 * h, y, 2.5)
        images_per_s = 100 * sample_batches / (time.perf_counter() - t0)
    return steps_per_s, images_per_s


def main():
    data, train_steps, sample_batches, threads = sys.argv[1:5]
    torch.set_num_threads(int(threads))
    raw = load(data + "/train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    lab = load(data + "/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    for name, dt in (("torch-f64", torch.float64), ("torch-f32", torch.float32)):
        images = torch.from_numpy(raw.astype(np.float64) / 127.5 - 1.0).to(dt)
        s, i = run(dt, images, torch.from_numpy(lab), int(train_steps), int(sample_batches))
        print("%s %.6g %.6g" % (name, s, i), flush=True)


if __name__ == "__main__":
    main()
