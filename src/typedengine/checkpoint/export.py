"""Export release weights: selected checkpoint keys, as safetensors when available, with a hash in the name.

``export_checkpoint(ckpt, out_dir, "epoch_10", published_keys=("meta", "state_dict"))`` writes
``epoch_10-1a2b3c4d.safetensors`` (or ``.pth``), where ``1a2b3c4d`` is the first 8 hex digits of the SHA-256 of
the written file, as MMEngine's ``published_keys`` does, so a download can be checked against its name.

safetensors layout (``format="safetensors"``): a flat ``name -> tensor`` file plus a ``str -> str`` header.
The ``state_dict`` entry is stored under the model's own key names (what every safetensors reader expects);
tensors of other selected entries go under ``<entry>.<key path>``; non-tensor entries (``meta``) are stored as
JSON text in the header under their entry name. Tensors that share memory (tied weights) are stored once each
(copied), since safetensors forbids aliasing.

``.pth`` layout (``format="pth"``, or ``"auto"`` without safetensors installed): ``{key: ckpt[key]}`` written
with :func:`~typedengine.checkpoint.io.save_checkpoint_file` (weights_only-loadable, checksum trailer).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import CheckpointError
from .io import atomic_write_bytes, save_checkpoint_file

if TYPE_CHECKING:
    import torch

__all__ = ["ExportFormat", "export_checkpoint", "safetensors_available"]

ExportFormat = Literal["auto", "safetensors", "pth"]


def safetensors_available() -> bool:
    """Whether the optional ``safetensors`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("safetensors") is not None


def export_checkpoint(
    checkpoint: Mapping[str, object],
    out_dir: str | os.PathLike[str],
    stem: str,
    *,
    published_keys: Sequence[str] = ("meta", "state_dict"),
    format: ExportFormat = "auto",
) -> Path:
    """Write the ``published_keys`` of ``checkpoint`` to ``out_dir/<stem>-<sha256[:8]>.<ext>``; return it.

    Raises :class:`KeyError` naming a published key the checkpoint lacks and :class:`CheckpointError` for
    write failures. The write is atomic (temporary file, rename).
    """
    missing = [k for k in published_keys if k not in checkpoint]
    if missing:
        raise KeyError(f"published_keys {missing} are not in the checkpoint (it has {sorted(checkpoint)})")
    selected = {k: checkpoint[k] for k in published_keys}
    root = Path(out_dir)
    use_safetensors = format == "safetensors" or (format == "auto" and safetensors_available())
    if use_safetensors:
        data = _safetensors_bytes(selected)
        digest = hashlib.sha256(data).hexdigest()[:8]
        target = root / f"{stem}-{digest}.safetensors"
        atomic_write_bytes(target, data)
        return target
    staging = root / f"{stem}.pth.export"
    save_checkpoint_file(selected, staging)
    digest = _sha256_file(staging)[:8]
    target = root / f"{stem}-{digest}.pth"
    try:
        os.replace(staging, target)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise CheckpointError(target, f"could not be written: {exc.strerror or exc}") from exc
    return target


def _sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _safetensors_bytes(selected: Mapping[str, object]) -> bytes:
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    header: dict[str, str] = {}
    for key, value in selected.items():
        prefix = "" if key == "state_dict" else f"{key}."
        flat = _flatten_tensors(value, prefix)
        if flat is not None:
            tensors.update(flat)
            continue
        try:
            header[key] = json.dumps(value, sort_keys=True)
        except TypeError as exc:
            raise TypeError(
                f"published key {key!r} holds neither only tensors nor JSON data; it cannot go into safetensors "
                "(use format='pth')"
            ) from exc
    seen: set[int] = set()
    ready: dict[str, torch.Tensor] = {}
    for name, tensor in tensors.items():
        t = tensor.detach()
        ptr = t.untyped_storage().data_ptr() if t.numel() else -1
        if ptr in seen or not t.is_contiguous():
            t = t.contiguous().clone()
        seen.add(ptr)
        ready[name] = t.cpu()
    return bytes(save(ready, metadata=header or None))


def _flatten_tensors(value: object, prefix: str) -> dict[str, torch.Tensor] | None:
    """``{prefix + path: tensor}`` for a mapping whose leaves are all tensors; None if any leaf is not."""
    import torch

    if isinstance(value, torch.Tensor):
        return {prefix.rstrip("."): value}
    if not isinstance(value, Mapping) or not value:
        return None
    out: dict[str, torch.Tensor] = {}
    for k, v in value.items():
        sub = _flatten_tensors(v, f"{prefix}{k}.")
        if sub is None:
            return None
        out.update(sub)
    return out
