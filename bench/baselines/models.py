"""PyTorch (eager, Python) versions of the gridrun models the benchmarks use.

The same layers, shapes and losses as the model files (modelspec/zoo/*.yaml,
built by models/model_builder.cpp; models/losses.cpp), so bench/baselines/ measures the same
work in plain PyTorch. Runs under Debian's python3-torch (/usr/bin/python3).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def seed001_dcgan(latent=100):
    """Seed 001 DCGAN (modelspec/zoo/seed001-dcgan.yaml): G 791,776 / D 691,680."""
    g = nn.Sequential(
        nn.ConvTranspose2d(latent, 128, 7, 1, 0, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 1, 3, 1, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
        nn.Conv2d(256, 1, 3, 1, 0, bias=False))
    return g, d


def wgan_gp(latent=100, width=64):
    """The wgan-gp family at its defaults on 1x28x28 (modelspec/zoo/wgan-gp.yaml):
    width 64, depth 3, critic without BatchNorm."""
    g = nn.Sequential(
        nn.ConvTranspose2d(latent, 4 * width, 3, 1, 0, bias=False), nn.BatchNorm2d(4 * width), nn.ReLU(),
        nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1, output_padding=1, bias=False),
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * width, 1, 3, 1, 0))
    return g, d


class MlpVae(nn.Module):
    """Seed 004 MLP VAE 784-1024-512-256-5 (BuildSeed004VaeMlp), or the
    vae-mlp family 784-width-latent (hidden=[width])."""

    def __init__(self, hidden=(1024, 512, 256), latent=5, pixels=784):
        super().__init__()
        enc, last = [], pixels
        for h in hidden:
            enc += [nn.Linear(last, h), nn.ReLU()]
            last = h
        self.encoder = nn.Sequential(*enc)
        self.z_mean = nn.Linear(last, latent)
        self.z_logvar = nn.Linear(last, latent)
        dec, last = [], latent
        for h in reversed(hidden):
            dec += [nn.Linear(last, h), nn.ReLU()]
            last = h
        dec.append(nn.Linear(last, pixels))
        self.decoder = nn.Sequential(*dec)

    def forward(self, x, eps):
        h = self.encoder(x.reshape(x.size(0), -1))
        mu, logvar = self.z_mean(h), self.z_logvar(h)
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.decoder(z).view_as(x), mu, logvar


def vae_loss(logits, x, mu, logvar, kl_weight=1.0):
    """models/losses.cpp VaeLoss with BCE: per-image sums averaged over the batch."""
    b = x.size(0)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / b
    return recon + kl_weight * kl, recon, kl


def adam(params):
    """gridrun's default optimizer for GANs and WGAN-GP: Adam lr 2e-4, betas (0.5, 0.999)
    (coordinator/grid_spec.cpp DefaultOptimizer)."""
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def vae_adam(params):
    """gridrun's default optimizer for VAEs and classifiers: Adam lr 1e-3, betas (0.9, 0.999)."""
    return torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999))


def gradient_penalty(d, real, fake, alpha):
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = d(mixed).reshape(mixed.size(0), -1)
    grad = torch.autograd.grad(scores, mixed, torch.ones_like(scores), retain_graph=True,
                               create_graph=True)[0]
    norm = (grad.reshape(grad.size(0), -1).pow(2).sum(1) + 1e-12).sqrt()
    return (norm - 1).pow(2).mean()


class GanStep:
    """One gridrun GAN step (models/trainer_gan.cpp): critic_iters critic steps,
    each on its own real batch, then one generator step on the last fake."""

    def __init__(self, g, d, latent, objective, critic_iters=1, gp_weight=10.0):
        self.g, self.d, self.latent = g, d, latent
        self.objective, self.k, self.gp_weight = objective, critic_iters, gp_weight
        self.g_opt, self.d_opt = adam(g.parameters()), adam(d.parameters())
        self.gen = torch.Generator().manual_seed(1)

    def __call__(self, batches):
        g, d = self.g, self.d
        bce = self.objective == "gan"
        stats = None
        for i, real in enumerate(batches):
            z = torch.randn(real.size(0), self.latent, 1, 1, generator=self.gen)
            if i == len(batches) - 1:
                fake = g(z)
            else:
                with torch.no_grad():
                    fake = g(z)
            self.d_opt.zero_grad()
            real_out = d(real).reshape(real.size(0), -1)
            fake_out = d(fake.detach()).reshape(real.size(0), -1)
            if bce:
                loss = (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out)) +
                        F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
            else:
                loss = fake_out.mean() - real_out.mean()
            parts = [loss.detach(), (torch.sigmoid(real_out) if bce else real_out).mean().detach(),
                     (torch.sigmoid(fake_out) if bce else fake_out).mean().detach()]
            if self.objective == "wgan-gp":
                alpha = torch.rand(real.size(0), 1, 1, 1, generator=self.gen)
                gp = gradient_penalty(d, real, fake, alpha)
                loss = loss + self.gp_weight * gp
                parts.append(gp.detach())
            stats = torch.stack(parts).double().tolist()  # the NaN guard's one host copy
            loss.backward()
            self.d_opt.step()
        self.g_opt.zero_grad()
        for p in d.parameters():
            p.requires_grad_(False)
        out = d(fake).reshape(fake.size(0), -1)
        loss = (F.binary_cross_entropy_with_logits(out, torch.ones_like(out)) if bce
                else -out.mean())
        loss_g = loss.item()
        loss.backward()
        for p in d.parameters():
            p.requires_grad_(True)
        self.g_opt.step()
        return stats, loss_g


class VaeStep:
    def __init__(self, vae, latent):
        self.vae, self.latent = vae, latent
        self.opt = vae_adam(vae.parameters())
        self.gen = torch.Generator().manual_seed(1)

    def __call__(self, batches):
        x = batches[0]
        self.opt.zero_grad()
        eps = torch.randn(x.size(0), self.latent, generator=self.gen)
        logits, mu, logvar = self.vae(x, eps)
        total, recon, kl = vae_loss(logits, x, mu, logvar)
        stats = torch.stack([total.detach(), recon.detach(), kl.detach()]).double().tolist()
        total.backward()
        self.opt.step()
        return stats


def build(model, critic_iters=1):
    """(step callable, data range (lo, hi), batches per step) for a catalog name."""
    if model == "seed001-dcgan":
        g, d = seed001_dcgan()
        return GanStep(g, d, 100, "gan", 1), (-1.0, 1.0), 1
    if model == "wgan-gp":
        g, d = wgan_gp()
        return GanStep(g, d, 100, "wgan-gp", critic_iters), (-1.0, 1.0), critic_iters
    if model == "seed004-vae-mlp":
        return VaeStep(MlpVae((1024, 512, 256), 5), 5), (0.0, 1.0), 1
    raise SystemExit(f"--model: no Python baseline for '{model}'")
