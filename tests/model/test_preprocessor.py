"""ImgDataPreprocessor: flip -> float -> normalise -> pad (padding in normalised space)."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from typedengine.model.preprocessor import ImgDataPreprocessorConfig


def test_normalise_flip_and_pad() -> None:
    pre = ImgDataPreprocessorConfig(
        mean=(1.0, 2.0, 3.0), std=(2.0, 2.0, 2.0), bgr_to_rgb=True, pad_size_divisor=4, pad_value=-9.0
    ).build()
    img = torch.stack([torch.full((5, 6), float(c)) for c in (10, 20, 30)]).to(torch.uint8)  # BGR, CHW
    labels = torch.tensor([3])
    out = pre((img.unsqueeze(0), labels), True)
    assert isinstance(out, tuple)
    batch = out[0]
    assert batch.shape == (1, 3, 8, 8)
    # channel flip: RGB = (30, 20, 10); then (x - mean) / std
    assert torch.allclose(batch[0, :, :5, :6].mean(dim=(1, 2)), torch.tensor([(30 - 1) / 2, (20 - 2) / 2, (10 - 3) / 2]))
    assert torch.all(batch[0, :, 5:, :] == -9.0) and torch.all(batch[0, :, :, 6:] == -9.0)
    assert torch.equal(out[1], labels)


def test_list_of_images_of_different_sizes_is_stacked() -> None:
    pre = ImgDataPreprocessorConfig().build()
    out = pre({"inputs": [torch.ones(1, 2, 3), torch.ones(1, 4, 2)], "labels": torch.tensor([0, 1])})
    assert isinstance(out, dict)
    assert out["inputs"].shape == (2, 1, 4, 3)


def test_mean_without_std_is_rejected() -> None:
    with pytest.raises(ValidationError, match="mean and std must be given together"):
        ImgDataPreprocessorConfig(mean=(0.5,))
