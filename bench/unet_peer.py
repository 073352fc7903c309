"""Peer of bench/unet_bench.c: the same U-Net (src/networks/unet.h: channels C, levels
28/14/7 with multipliers 1/2/2, a residual block per level and two around
one-head self-attention at 7 x 7, group norms of 8, sinusoidal time features
through Linear-SiLU-Linear to E numbers, a class table of 11 rows) in
PyTorch (torch.nn.Conv2d, GroupNorm, Linear), its training step (the same
CFM loss shape, Adam) on a batch of random images, float64 and float32.

usage: /usr/bin/python3 unet_peer.py CHANNELS EMB BATCH SECONDS THREADS
Prints one line per precision: name, images per second (the best of five
windows of SECONDS), and the parameter count, so the bench can check that
both sides train the same network. Used by the benchmark only."""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

G = 8


class Block(nn.Module):
    def __init__(self, ci, co, emb):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(min(G, ci), ci), nn.Conv2d(ci, co, 3, padding=1)
        self.e = nn.Linear(emb, co)
        self.n2, self.c2 = nn.GroupNorm(min(G, co), co), nn.Conv2d(co, co, 3, padding=1)
        self.skip = nn.Conv2d(ci, co, 1) if ci != co else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x))) + self.e(e)[:, :, None, None]
        return self.c2(F.silu(self.n2(h))) + self.skip(x)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n, self.qkv, self.o = nn.GroupNorm(G, c), nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):
        n, c, h, w = x.shape
        y = self.n(x).flatten(2).transpose(1, 2)
        q, k, v = self.qkv(y).chunk(3, -1)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), -1)
        return x + self.o(a @ v).transpose(1, 2).reshape(n, c, h, w)


class UNet(nn.Module):
    def __init__(self, C, E):
        super().__init__()
        ch = [C, 2 * C, 2 * C]
        self.register_buffer("freq", torch.exp(math.log(1000.0) * torch.arange(16) / 15.0))
        self.emb = nn.Sequential(nn.Linear(32, E), nn.SiLU(), nn.Linear(E, E))
        self.cls = nn.Embedding(11, E)
        self.stem = nn.Conv2d(1, C, 3, padding=1)
        self.down = nn.ModuleList([Block(ch[0], ch[0], E), Block(ch[0], ch[1], E), Block(ch[1], ch[2], E)])
        self.ds = nn.ModuleList([nn.Conv2d(ch[0], ch[0], 3, 2, 1), nn.Conv2d(ch[1], ch[1], 3, 2, 1)])
        self.m1, self.attn, self.m2 = Block(ch[2], ch[2], E), Attention(ch[2]), Block(ch[2], ch[2], E)
        self.up = nn.ModuleList([Block(ch[1] + ch[0], ch[0], E), Block(ch[2] + ch[1], ch[1], E),
                                 Block(ch[2] + ch[2], ch[2], E)])
        self.upconv = nn.ModuleList([nn.Identity(), nn.Conv2d(ch[1], ch[1], 3, padding=1),
                                     nn.Conv2d(ch[2], ch[2], 3, padding=1)])
        self.out_norm, self.out = nn.GroupNorm(G, C), nn.Conv2d(C, 1, 3, padding=1)

    def forward(self, x, t, y):
        f = t[:, None] * self.freq[None]
        e = F.silu(self.emb(torch.cat([f.sin(), f.cos()], 1)) + self.cls(y))
        h, skips = self.stem(x), []
        for l in range(3):
            h = self.down[l](h, e)
            skips.append(h)
            if l < 2:
                h = self.ds[l](h)
        h = self.m2(self.attn(self.m1(h, e)), e)
        for l in (2, 1, 0):
            h = self.up[l](torch.cat([h, skips[l]], 1), e)
            if l > 0:
                h = self.upconv[l](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out(F.silu(self.out_norm(h)))


def rate(dtype, C, E, batch, seconds):
    torch.manual_seed(0)
    net = UNet(C, E).to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    z = torch.rand(batch, 1, 28, 28, dtype=dtype) * 2 - 1
    y = torch.randint(0, 11, (batch,))

    def step():
        t = torch.rand(batch, dtype=dtype)
        eps = torch.randn_like(z)
        x = t[:, None, None, None] * z + (1 - t[:, None, None, None]) * eps
        loss = ((net(x, t, y) - (z - eps)) ** 2).sum((1, 2, 3)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    best = 0.0
    for _ in range(5):
        count, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            count += 1
        best = max(best, count * batch / (time.perf_counter() - t0))
    return best, sum(p.numel() for p in net.parameters())


def main():
    C, E, batch, seconds, threads = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    for name, dt in (("torch-f64", torch.float64), ("torch-f32", torch.float32)):
        r, n = rate(dt, int(C), int(E), int(batch), float(seconds))
        print("%s %.6g %d" % (name, r, n), flush=True)


if __name__ == "__main__":
    main()
