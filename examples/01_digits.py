"""01 — train a small CNN on scikit-learn's digits (1797 8x8 images that ship with scikit-learn).

The experiment is a typed config tree: mypy checks it, tyro turns it into a CLI, and the Runner builds
and trains it. Torch-side code lives in ``digits_parts.py`` and is imported inside ``build()``, so
``--help`` stays instant.

Usage:
    python examples/01_digits.py                                  # 10 epochs, >= 95 % val accuracy
    python examples/01_digits.py --train.max-epochs 2
    python examples/01_digits.py optim-wrapper.optimizer:adamw --optim-wrapper.optimizer.lr 1e-3
    python examples/01_digits.py --help
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

import typedengine as te

if TYPE_CHECKING:
    from digits_parts import DigitsNet
    from torch.utils.data import TensorDataset


DIGITS_SAMPLES = 1797
"""Images in scikit-learn's digits dataset."""


class DigitsData(te.DatasetConfig):
    """scikit-learn's digits, split once into train/val with a fixed permutation."""

    split: Literal["train", "val"] = Field("train", description="Which part of the fixed split to load.")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="Fraction of the 1797 images held out for val.")
    split_seed: int = Field(0, ge=0, description="Seed of the permutation that splits train/val.")

    def build(self) -> TensorDataset:
        from digits_parts import digits_dataset

        return digits_dataset(self.split, self.val_fraction, self.split_seed)

    def declared_length(self) -> int:
        # plain arithmetic (no torch import), so --plan and validation stay instant
        n_val = round(DIGITS_SAMPLES * self.val_fraction)
        return DIGITS_SAMPLES - n_val if self.split == "train" else n_val


class DigitsNetConfig(te.ModelConfig):
    """A small CNN for 8x8 digits."""

    width: int = Field(32, gt=0, description="Channels of the first convolution.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout before the classifier.")

    def build(self) -> DigitsNet:
        from digits_parts import DigitsNet

        return DigitsNet(self.width, self.dropout)


class DigitsExperiment(te.RunnerConfig):
    """Digits classification: 10 epochs of SGD with warmup + cosine decay, validated every epoch."""

    model: DigitsNetConfig = DigitsNetConfig()
    work_dir: Path = Path("work_dirs/digits")
    train_dataloader: te.DataLoaderConfig[DigitsData] | None = te.DataLoaderConfig[DigitsData](
        dataset=DigitsData(split="train"), batch_size=64
    )
    val_dataloader: te.DataLoaderConfig[DigitsData] | None = te.DataLoaderConfig[DigitsData](
        dataset=DigitsData(split="val"), batch_size=256, shuffle=False
    )
    train: te.TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=10, val_interval=1)
    optim_wrapper: te.OptimWrapperUnion | None = te.OptimWrapperConfig(
        optimizer=te.SGDConfig(lr=0.05, momentum=0.9, weight_decay=1e-4)
    )
    param_scheduler: tuple[te.ParamSchedulerConfig, ...] = (
        te.LinearSchedulerConfig(start_factor=0.1, by_epoch=False, begin=0, end=20),
        te.CosineAnnealingSchedulerConfig(by_epoch=True, begin=0),
    )
    val_evaluator: te.EvaluatorConfig[te.AccuracyConfig] | None = te.EvaluatorConfig[te.AccuracyConfig](
        metrics=(te.AccuracyConfig(),)
    )
    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=0)


def main() -> None:
    cfg = te.cli(DigitsExperiment, description=__doc__)
    with te.Runner.from_config(cfg) as runner:
        runner.train()


if __name__ == "__main__":
    main()
