#!/usr/bin/python3
"""The sequential-Python-loop baseline of the end-to-end benchmark: trains the
same grid of vae-mlp models as bench/e2e_grid.py submits to `gridrun local`
(784-width-latent, LeakyReLU 0.01, BCE + kl_weight * KL, gridrun's VAE default
optimizer Adam lr 1e-3, betas (0.9, 0.999)), one trial after another in one
process, and prints each trial's final test/neg_elbo and test/recon as JSON
lines, then the wall time.

  /usr/bin/python3 bench/baselines/seq_grid.py --data-dir ../shared/data \
      --dataset fashion-mnist --latent 2,16 --kl 1.0,0.5
"""
import argparse
import gzip
import itertools
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(dirpath, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(dirpath, name)
        if os.path.exists(p):
            return p
    sys.exit(f"--data-dir: {stem}[.gz] not found in {dirpath}")


class FamilyVae(models.MlpVae):
    """vae-mlp family (modelspec/zoo/vae-mlp.yaml) at depth 1: LeakyReLU(0.01)."""

    def __init__(self, width, latent):
        super().__init__((width,), latent)
        self.encoder = nn.Sequential(nn.Linear(784, width), nn.LeakyReLU(0.01))
        self.decoder = nn.Sequential(nn.Linear(latent, width), nn.LeakyReLU(0.01),
                                     nn.Linear(width, 784))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--latent", default="2,16")
    p.add_argument("--kl", default="1.0,0.5")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--train-size", type=int, default=20000)
    p.add_argument("--test-size", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    t0 = time.monotonic()
    torch.set_num_threads(a.threads)
    d = os.path.join(a.data_dir, a.dataset)
    train = torch.from_numpy(read_idx(find(d, "train-images-idx3-ubyte"))[:a.train_size].copy())
    test = torch.from_numpy(read_idx(find(d, "t10k-images-idx3-ubyte"))[:a.test_size].copy())
    train = train.float().div(255).unsqueeze(1)
    test = test.float().div(255).unsqueeze(1)
    for latent, kl in itertools.product([int(x) for x in a.latent.split(",")],
                                        [float(x) for x in a.kl.split(",")]):
        torch.manual_seed(1)
        vae = FamilyVae(a.width, latent)
        opt = models.vae_adam(vae.parameters())
        gen = torch.Generator().manual_seed(1)
        for epoch in range(a.epochs):
            order = torch.randperm(train.size(0), generator=gen)
            for start in range(0, train.size(0) - a.batch + 1, a.batch):
                x = train[order[start:start + a.batch]]
                opt.zero_grad()
                logits, mu, logvar = vae(x, torch.randn(x.size(0), latent, generator=gen))
                total, _, _ = models.vae_loss(logits, x, mu, logvar, kl)
                total.backward()
                opt.step()
            with torch.no_grad():
                recon_sum = kl_sum = 0.0
                egen = torch.Generator().manual_seed(2)
                for start in range(0, test.size(0), 256):
                    x = test[start:start + 256]
                    logits, mu, logvar = vae(x, torch.randn(x.size(0), latent, generator=egen))
                    _, r, k = models.vae_loss(logits, x, mu, logvar)
                    recon_sum += r.item() * x.size(0)
                    kl_sum += k.item() * x.size(0)
        n = test.size(0)
        print(json.dumps({"latent_size": latent, "kl_weight": kl,
                          "test/neg_elbo": (recon_sum + kl_sum) / n, "test/recon": recon_sum / n}),
              flush=True)
    print(json.dumps({"wall_s": time.monotonic() - t0}))


if __name__ == "__main__":
    main()
