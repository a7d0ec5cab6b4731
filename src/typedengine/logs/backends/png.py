"""Image conversion to HWC ``uint8`` and a dependency-free PNG writer (for the local backend and MLflow)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import torch

__all__ = ["ImageArray", "ImageLike", "to_hwc_uint8", "write_png"]

ImageArray: TypeAlias = NDArray[np.uint8]
"""An image as the backends receive it: HWC (or HW) ``uint8``, RGB(A)."""

ImageLike: TypeAlias = "NDArray[np.generic] | torch.Tensor"
"""What :meth:`Visualizer.add_image` accepts: HWC/HW arrays, or CHW/HW tensors; floats are in [0, 1]."""


def to_hwc_uint8(image: ImageLike) -> ImageArray:
    """HWC ``uint8`` from an HWC/HW array or a CHW/HW tensor (floats are scaled from [0, 1])."""
    if isinstance(image, np.ndarray):
        array: NDArray[np.generic] = image
    else:
        t = image.detach().cpu()
        if t.ndim == 3 and t.shape[0] in (1, 3, 4):
            t = t.permute(1, 2, 0)  # tensors are CHW by convention
        array = t.numpy()
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"an image must be HW, HWC (C = 1, 3, 4) or a CHW tensor, got shape {array.shape}")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array, dtype=np.uint8)
    if np.issubdtype(array.dtype, np.floating) or array.dtype == np.bool_:
        scaled = np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0
        return np.ascontiguousarray(np.rint(scaled).astype(np.uint8))
    return np.ascontiguousarray(np.clip(array.astype(np.int64), 0, 255).astype(np.uint8))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png(path: Path, image: ImageArray) -> None:
    """Write an 8-bit grey/RGB/RGBA PNG (no Pillow or matplotlib needed)."""
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = image.reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
