"""Torch-side parts of the digits examples: the network and the dataset (imported lazily by the configs,
so ``python examples/01_digits.py --help`` never imports torch)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

import typedengine as te

DIGITS_SAMPLES = 1797


def split_sizes(val_fraction: float) -> tuple[int, int]:
    """(train, val) sample counts of the fixed digits split."""
    n_val = round(DIGITS_SAMPLES * val_fraction)
    return DIGITS_SAMPLES - n_val, n_val


def digits_dataset(split: Literal["train", "val"], val_fraction: float, split_seed: int) -> TensorDataset:
    """scikit-learn's 8x8 digits as (1x8x8 float image in [0, 1], label), split with a fixed permutation."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(split_seed))
    n_train, _ = split_sizes(val_fraction)
    idx = order[:n_train] if split == "train" else order[n_train:]
    return TensorDataset(images[idx].contiguous(), labels[idx].contiguous())


class DigitsNet(te.BaseModel):
    """Two 3x3 convolutions, a 2x2 pool and a two-layer classifier for 8x8 digits."""

    def __init__(self, width: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * 16, 128), nn.ReLU(), nn.Linear(128, 10)
        )

    def forward(
        self, imgs: torch.Tensor, labels: torch.Tensor, mode: str = "tensor"
    ) -> dict[str, torch.Tensor] | tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
        logits: torch.Tensor = self.head(self.features(imgs))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, labels)}
        if mode == "predict":
            return logits, labels
        return logits
