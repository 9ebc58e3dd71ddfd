"""A conditional WGAN-GP generator and critic as TorchScript, for gridrun.

    python3 make_cgan.py OUT_DIR [--latent-size 64] [--width 128]

writes OUT_DIR/generator.pt and OUT_DIR/critic.pt, which cgan_mlp.yaml (next
to this script) names. gridrun trains them as they are: their weights here
are the initial weights (one seed, whatever the trial's), and the calling
contract is the one every TorchScript network follows:

    generator(z [B, latent], one_hot [B, classes]) -> image [B, C, H, W] in [-1, 1]
    critic(image [B, C, H, W], one_hot [B, classes]) -> score [B] or [B, 1]

(an unconditional model drops the one_hot argument; a VAE's encoder maps
image -> (mu, logvar), each [B, latent], and its decoder z -> image logits).
`--bad-shape` writes a critic that breaks the contract (tests use it).
"""
import argparse
import os

import torch
from torch import nn


class Generator(nn.Module):
    def __init__(self, latent_size: int, classes: int, width: int, image=(1, 28, 28)):
        super().__init__()
        self.image = list(image)
        pixels = image[0] * image[1] * image[2]
        self.net = nn.Sequential(
            nn.Linear(latent_size + classes, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, pixels), nn.Tanh())

    def forward(self, z: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        x = self.net(torch.cat([z, one_hot], dim=1))
        return x.view([x.size(0)] + self.image)


class Critic(nn.Module):
    def __init__(self, classes: int, width: int, image=(1, 28, 28), outputs: int = 1):
        super().__init__()
        pixels = image[0] * image[1] * image[2]
        self.net = nn.Sequential(
            nn.Linear(pixels + classes, width), nn.LeakyReLU(0.2),
            nn.Linear(width, width), nn.LeakyReLU(0.2),
            nn.Linear(width, outputs))

    def forward(self, image: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image.flatten(1), one_hot], dim=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--latent-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bad-shape", action="store_true",
                        help="write critic_bad_shape.pt: 7 scores per image")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    generator = torch.jit.script(Generator(args.latent_size, args.classes, args.width))
    critic = torch.jit.script(Critic(args.classes, args.width))
    torch.jit.save(generator, os.path.join(args.out_dir, "generator.pt"))
    torch.jit.save(critic, os.path.join(args.out_dir, "critic.pt"))
    if args.bad_shape:
        bad = torch.jit.script(Critic(args.classes, args.width, outputs=7))
        torch.jit.save(bad, os.path.join(args.out_dir, "critic_bad_shape.pt"))


if __name__ == "__main__":
    main()
