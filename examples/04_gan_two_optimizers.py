"""04 — a tiny GAN on CPU: two optimizers in a ``te.OptimWrapperDict``, driven by a custom ``train_step``.

The generator maps noise to 2-D points; the discriminator tells them from samples of a Gaussian blob
centred at ``(target_x, target_y)``. ``optim_wrapper`` is a ``te.OptimWrapperDictConfig`` whose keys name
the model's submodules (``generator``, ``discriminator``): each wrapper optimizes that submodule's
parameters. ``TinyGAN.train_step`` updates the discriminator, then the generator, each through its own
wrapper (``optim_wrapper["discriminator"].update_params(loss_d)``). The schedulers in ``param_scheduler``
are built once per wrapper, and the logs show ``generator.lr`` and ``discriminator.lr``.

Usage:
    python examples/04_gan_two_optimizers.py                        # 6 epochs, a few seconds on CPU
    python examples/04_gan_two_optimizers.py --train.max-epochs 1
    python examples/04_gan_two_optimizers.py --help
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.utils.data import TensorDataset

import typedengine as te


class BlobData(te.DatasetConfig):
    """Samples of a 2-D Gaussian blob (the distribution the generator must learn)."""

    n_samples: int = Field(2048, ge=1, description="Number of real samples.")
    target_x: float = Field(2.0, description="x of the blob's centre.")
    target_y: float = Field(-1.0, description="y of the blob's centre.")
    std: float = Field(0.3, gt=0, description="Standard deviation of the blob.")
    seed: int = Field(0, ge=0, description="Seed of the sampled points.")

    def build(self) -> TensorDataset:
        g = torch.Generator().manual_seed(self.seed)
        centre = torch.tensor([self.target_x, self.target_y])
        return TensorDataset(centre + self.std * torch.randn(self.n_samples, 2, generator=g))

    def declared_length(self) -> int:
        return self.n_samples


class TinyGAN(te.BaseModel):
    """A two-layer MLP generator and discriminator for 2-D points."""

    def __init__(self, latent_dim: int, hidden: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, n: int, mode: str = "tensor") -> torch.Tensor:
        """Generate ``n`` points."""
        z = torch.randn(n, self.latent_dim, device=next(self.parameters()).device)
        points: torch.Tensor = self.generator(z)
        return points

    def train_step(
        self, data: object, optim_wrapper: te.OptimWrapper | te.OptimWrapperDict
    ) -> dict[str, torch.Tensor]:
        """Update the discriminator, then the generator, each with its own optim wrapper."""
        assert isinstance(optim_wrapper, te.OptimWrapperDict), "TinyGAN needs te.OptimWrapperDictConfig"
        batch = self.data_preprocessor(data, True)
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        n = real.shape[0]
        ones, zeros = torch.ones(n, 1, device=real.device), torch.zeros(n, 1, device=real.device)

        d_wrapper = optim_wrapper["discriminator"]
        with d_wrapper.optim_context(self.discriminator):
            fake = self(n).detach()
            loss_d = F.binary_cross_entropy_with_logits(self.discriminator(real), ones)
            loss_d = loss_d + F.binary_cross_entropy_with_logits(self.discriminator(fake), zeros)
        d_wrapper.update_params(loss_d)

        g_wrapper = optim_wrapper["generator"]
        self.discriminator.requires_grad_(False)  # the generator's loss must not leave grads in D
        with g_wrapper.optim_context(self.generator):
            loss_g = F.binary_cross_entropy_with_logits(self.discriminator(self(n)), ones)
        g_wrapper.update_params(loss_g)
        self.discriminator.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}


class TinyGANConfig(te.ModelConfig):
    """The tiny GAN's sizes."""

    latent_dim: int = Field(4, ge=1, description="Size of the generator's noise input.")
    hidden: int = Field(32, ge=1, description="Hidden units of both networks.")

    def build(self) -> TinyGAN:
        return TinyGAN(self.latent_dim, self.hidden)


def _adam() -> te.OptimWrapperConfig:
    return te.OptimWrapperConfig(optimizer=te.AdamConfig(lr=2e-3, betas=(0.5, 0.999)))


class GANExperiment(te.RunnerConfig):
    """A 2-D GAN with two Adam optimizers and a shared warmup."""

    model: TinyGANConfig = TinyGANConfig()
    work_dir: Path = Path("work_dirs/gan")
    train_dataloader: te.DataLoaderConfig[BlobData] | None = te.DataLoaderConfig[BlobData](
        dataset=BlobData(), batch_size=64
    )
    train: te.TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=6)
    optim_wrapper: te.OptimWrapperUnion | None = te.OptimWrapperDictConfig(
        wrappers={"generator": _adam(), "discriminator": _adam()}
    )
    param_scheduler: tuple[te.ParamSchedulerConfig, ...] = (
        te.LinearSchedulerConfig(start_factor=0.1, by_epoch=False, end=20),
    )
    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=0)


def main(args: list[str] | None = None) -> TinyGAN:
    cfg = te.cli(GANExperiment, args=args, description=__doc__)
    with te.Runner.from_config(cfg) as runner:
        model = runner.train()
    assert isinstance(model, TinyGAN)
    with torch.no_grad():
        centre = model(4096).mean(dim=0)
    data = cfg.train_dataloader.dataset if cfg.train_dataloader is not None else BlobData()
    print(
        f"generated mean ({centre[0]:.2f}, {centre[1]:.2f}); target ({data.target_x:.2f}, {data.target_y:.2f})"
    )
    return model


if __name__ == "__main__":
    main()
