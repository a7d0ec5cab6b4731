"""Load weights into a model with key renaming and a report of what matched (``load_from``).

:func:`load_weights` renames checkpoint keys with regular expressions (by default it strips a leading
``module.`` left by DDP/DataParallel), compares them with the model's keys and shapes, and then loads:

* ``strict=True``: any missing key, unexpected key or shape mismatch raises :class:`WeightsMismatchError`
  listing them all, and the model is left unchanged (nothing is loaded).
* ``strict=False``: the matching tensors are loaded; missing keys keep the model's values, unexpected keys
  and tensors of the wrong shape are skipped; everything is listed in the returned :class:`LoadReport`.

:func:`read_weights` reads a weights file (a typedengine or MMEngine checkpoint, a plain ``torch.save`` of a
state dict, or a ``.safetensors`` file) without ever unpickling arbitrary objects.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import CheckpointError, WeightsMismatchError
from .io import load_checkpoint_file

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "DEFAULT_REVISE_KEYS",
    "LoadReport",
    "extract_state_dict",
    "load_weights",
    "read_weights",
    "rename_keys",
]

DEFAULT_REVISE_KEYS: tuple[tuple[str, str], ...] = ((r"^module\.", ""),)
"""Strip the ``module.`` prefix that DDP/DataParallel state dicts carry."""

_IGNORED_MISSING = ("num_batches_tracked",)
T = TypeVar("T")


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_weights` did: loaded keys count and every key that did not match."""

    loaded: int
    missing_keys: tuple[str, ...]
    unexpected_keys: tuple[str, ...]
    shape_mismatches: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]

    @property
    def exact(self) -> bool:
        """True when every model key was loaded and every checkpoint key was used."""
        return not (self.missing_keys or self.unexpected_keys or self.shape_mismatches)

    def __str__(self) -> str:
        lines = [f"loaded {self.loaded} tensors"]
        if self.missing_keys:
            keys = ", ".join(self.missing_keys)
            lines.append(f"missing keys ({len(self.missing_keys)}, kept the model's values): {keys}")
        if self.unexpected_keys:
            keys = ", ".join(self.unexpected_keys)
            lines.append(f"unexpected keys ({len(self.unexpected_keys)}, ignored): {keys}")
        for key, got, want in self.shape_mismatches:
            lines.append(f"shape mismatch for {key} (skipped): checkpoint {list(got)}, model {list(want)}")
        return "\n".join(lines)


def rename_keys(state_dict: Mapping[str, T], rules: Sequence[tuple[str, str]]) -> dict[str, T]:
    """Rename keys: each ``(pattern, replacement)`` is applied with ``re.sub`` to every key, in order.

    Raises :class:`ValueError` when two keys end up with the same name.
    """
    compiled = [(re.compile(p), r) for p, r in rules]
    out: dict[str, T] = {}
    for key, value in state_dict.items():
        new = key
        for pattern, repl in compiled:
            new = pattern.sub(repl, new)
        if new in out:
            raise ValueError(f"revise_keys maps two checkpoint keys to {new!r} (one of them is {key!r})")
        out[new] = value
    return out


def load_weights(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    strict: bool,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
) -> LoadReport:
    """Load ``state_dict`` into ``model`` (unwrapping DDP) after renaming keys; see the module docstring.

    An FSDP2-sharded ``model`` takes full tensors and shards them (every rank must call this).

    ``num_batches_tracked`` buffers missing from older checkpoints are not reported as missing.

    Example::

        report = load_weights(model, read_weights("pretrained.pth"), strict=False)
        logger.info(str(report))
    """
    import torch

    target = model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
    revised = rename_keys(state_dict, revise_keys)
    own = target.state_dict()
    missing = tuple(k for k in own if k not in revised and not k.endswith(_IGNORED_MISSING))
    unexpected = tuple(k for k in revised if k not in own)
    mismatched = tuple(
        (k, tuple(v.shape), tuple(own[k].shape))
        for k, v in revised.items()
        if k in own and isinstance(v, torch.Tensor) and tuple(v.shape) != tuple(own[k].shape)
    )
    if strict and (missing or unexpected or mismatched):
        raise WeightsMismatchError(missing, unexpected, mismatched)
    skip = {k for k, _, _ in mismatched}
    usable: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict(
        (k, v) for k, v in revised.items() if k in own and k not in skip
    )
    metadata = getattr(state_dict, "_metadata", None)
    if isinstance(metadata, Mapping):  # module versions (e.g. BatchNorm's) keep their meaning after renames
        compiled = [(re.compile(p), r) for p, r in revise_keys]
        renamed: dict[str, object] = {}
        for key, value in metadata.items():
            new = f"{key}."
            for pattern, repl in compiled:
                new = pattern.sub(repl, new)
            renamed[new.rstrip(".")] = value  # "module" and "" collide: the inner module's entry wins
        usable._metadata = renamed  # type: ignore[attr-defined]  # torch reads this attribute in load_state_dict
    from ..model.fsdp import is_fully_sharded, load_full_model_state

    if is_fully_sharded(target):  # full tensors, sharded on every rank (a collective)
        load_full_model_state(target, usable, strict=False)
    else:
        target.load_state_dict(usable, strict=False)
    return LoadReport(len(usable), missing, unexpected, mismatched)


def extract_state_dict(checkpoint: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """The model weights inside a checkpoint dict: its ``state_dict`` entry, or the dict itself if flat."""
    import torch

    inner = checkpoint.get("state_dict", checkpoint)
    if not isinstance(inner, Mapping):
        raise TypeError("the checkpoint's 'state_dict' entry is not a mapping")
    out: dict[str, torch.Tensor] = {}
    for key, value in inner.items():
        if isinstance(value, torch.Tensor):
            out[str(key)] = value
    return out


def read_weights(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> dict[str, torch.Tensor]:
    """Read model weights from a ``.safetensors`` file or a checkpoint/state-dict file (weights_only).

    A checksum trailer, when present, is verified; every failure is a :class:`CheckpointError` naming the
    file.
    """
    target = Path(path)
    if target.suffix == ".safetensors":
        return _read_safetensors(target, map_location)
    return extract_state_dict(load_checkpoint_file(target, map_location, require_checksum=False))


def _read_safetensors(path: Path, map_location: str | torch.device | None) -> dict[str, torch.Tensor]:
    try:
        from safetensors.torch import load_file
    except ImportError as exc:
        raise CheckpointError(path, "reading .safetensors needs the 'safetensors' package") from exc
    device = "cpu" if map_location is None else str(map_location)
    try:
        return dict(load_file(str(path), device=device))
    except Exception as exc:  # safetensors raises SafetensorError/OSError with its own messages
        raise CheckpointError(path, f"cannot be read as safetensors: {exc}") from exc
