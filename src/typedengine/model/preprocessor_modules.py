"""The runtime preprocessor modules built by the configs in :mod:`typedengine.model.preprocessor`.

They take plain arguments and never import the configs (the configs import this module in ``build()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BaseDataPreprocessor", "ImgDataPreprocessor", "build_base_data_preprocessor", "cast_data"]


def cast_data(data: object, device: torch.device, non_blocking: bool) -> object:
    """Recursively move tensors inside dicts, lists and tuples to ``device`` (other values unchanged)."""
    if isinstance(data, torch.Tensor):
        return data if data.device == device else data.to(device, non_blocking=non_blocking)
    if isinstance(data, Mapping):
        return {k: cast_data(v, device, non_blocking) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        make = cast(Any, data)._make  # a namedtuple: rebuild it field by field
        return make(cast_data(v, device, non_blocking) for v in data)
    if isinstance(data, (list, tuple)):
        return type(data)(cast_data(v, device, non_blocking) for v in data)
    return data


class BaseDataPreprocessor(nn.Module):
    """Moves a batch (tensors nested in dicts/lists/tuples) to the device of this module.

    The device follows ``.to()``/``.cuda()`` calls on the owning model through a zero-size buffer, so
    ``model.to(device)`` is all a user does.
    """

    def __init__(self, non_blocking: bool = False) -> None:
        super().__init__()
        self.non_blocking = non_blocking
        self.register_buffer("_device_probe", torch.empty(0), persistent=False)

    @property
    def device(self) -> torch.device:
        probe = self._device_probe
        assert isinstance(probe, torch.Tensor)
        return probe.device

    def cast_data(self, data: object) -> object:
        """Move ``data`` to this module's device."""
        return cast_data(data, self.device, self.non_blocking)

    def forward(self, data: object, training: bool = False) -> object:
        """Return the batch on the model's device. ``training`` lets subclasses augment only in training.

        A list, tuple or dict of tensors already on the device is returned as it is (no copy of the
        container): the per-iteration cost of a batch that needs no move is one device check per tensor.
        """
        device = self._buffers["_device_probe"].device  # type: ignore[union-attr]  # registered in __init__
        kind = type(data)
        if kind is list or kind is tuple:
            items: Iterable[object] = data  # type: ignore[assignment]  # checked: a list or tuple
        elif kind is dict:
            items = data.values()  # type: ignore[attr-defined]  # checked: a dict
        else:
            return cast_data(data, device, self.non_blocking)
        tensor = torch.Tensor
        for item in items:
            if type(item) is not tensor or item.device != device:
                return cast_data(data, device, self.non_blocking)
        return data


class ImgDataPreprocessor(BaseDataPreprocessor):
    """Flip channels → float → normalise → pad (bottom/right) to ``pad_size_divisor`` (MMEngine's order).

    Accepts a batch whose first element (tuple/list) or ``"inputs"``/``"imgs"`` entry (dict) is an NCHW
    tensor or a list of CHW tensors of different sizes (stacked after padding to the largest).
    """

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        pad_size_divisor: int = 1,
        pad_value: float = 0.0,
        flip_channels: bool = False,
        non_blocking: bool = False,
    ) -> None:
        super().__init__(non_blocking=non_blocking)
        self.normalize = mean is not None and std is not None
        self.register_buffer(
            "mean", torch.tensor(list(mean or [0.0]), dtype=torch.float32).view(-1, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(list(std or [1.0]), dtype=torch.float32).view(-1, 1, 1), persistent=False
        )
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.flip_channels = flip_channels

    def _process(self, img: torch.Tensor) -> torch.Tensor:
        if self.flip_channels and img.shape[-3] == 3:
            img = img.flip(-3)
        img = img.float()
        if self.normalize:
            mean = self.mean
            std = self.std
            assert isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor)
            img = (img - mean) / std
        return img

    def _pad_stack(self, imgs: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if isinstance(imgs, torch.Tensor):
            batch = imgs
        else:
            h = max(i.shape[-2] for i in imgs)
            w = max(i.shape[-1] for i in imgs)
            batch = torch.stack(
                [F.pad(i, (0, w - i.shape[-1], 0, h - i.shape[-2]), value=self.pad_value) for i in imgs]
            )
        d = self.pad_size_divisor
        h, w = batch.shape[-2], batch.shape[-1]
        ph, pw = (-h) % d, (-w) % d
        if ph or pw:
            batch = F.pad(batch, (0, pw, 0, ph), value=self.pad_value)
        return batch

    def process_images(self, imgs: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        """Normalise and pad one batch of images (NCHW tensor or list of CHW tensors)."""
        imgs = self.cast_data(imgs)  # type: ignore[assignment]  # cast_data keeps the container type
        if isinstance(imgs, torch.Tensor):
            return self._pad_stack(self._process(imgs))
        return self._pad_stack([self._process(i) for i in imgs])

    def forward(self, data: object, training: bool = False) -> object:
        if isinstance(data, Mapping):
            key = "inputs" if "inputs" in data else "imgs"
            out = dict(self.cast_data({k: v for k, v in data.items() if k != key}))  # type: ignore[call-overload]  # a dict stays a dict
            out[key] = self.process_images(data[key])
            return out
        if isinstance(data, (tuple, list)) and data:
            rest = self.cast_data(list(data[1:]))
            assert isinstance(rest, list)
            return type(data)([self.process_images(data[0]), *rest])
        if isinstance(data, torch.Tensor):
            return self.process_images(data)
        return self.cast_data(data)


def build_base_data_preprocessor() -> nn.Module:
    """The default preprocessor of a :class:`~typedengine.model.base.BaseModel` built without one."""
    return BaseDataPreprocessor()
