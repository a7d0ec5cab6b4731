"""Scalar histories with windowed statistics, and the :class:`MessageHub` that holds them for a run.

Hooks push one value per key per iteration (loss, lr, time); the log processor reads windowed statistics
at the log interval. Values may be 0-dim tensors on the training device: they are kept as tensors (no
host synchronisation) until a statistic is read, and then converted all at once — one device-to-host
copy per key per log interval instead of one per iteration.

Example::

    hub = MessageHub()
    for step in range(100):
        hub.update_scalar("train/loss", loss.detach())  # a CUDA tensor: no sync here
    hub.get_scalar("train/loss").mean(10)             # syncs once, here
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["History", "MessageHub"]

# A pushed tensor is converted at the latest after this many pending values, so that a key nobody reads
# cannot hold an unbounded number of device tensors.
_MAX_PENDING = 1000


# ``torch.Tensor`` once a tensor has been pushed (the fast path compares exact types; subclasses take the
# general path); kept lazy so that reading saved histories does not import torch.
_TENSOR_TYPE: list[type | None] = [None]


def _is_tensor(value: object) -> bool:
    # avoid importing torch for plain floats (keeps the module cheap for readers of saved histories)
    return type(value).__module__.startswith("torch") and hasattr(value, "numel")


class History:
    """The recent values of one scalar with count-weighted statistics over a window.

    Each entry is a value with a count (the number of samples it averages; 1 by default). ``mean(window)``
    is the count-weighted mean of the last ``window`` entries; ``global_mean()`` covers every entry ever
    pushed (kept as a running sum, so it survives trimming to ``max_length``).

    Example::

        h = History()
        for v in (1.0, 2.0, 3.0):
            h.update(v)
        assert h.mean(2) == 2.5 and h.current() == 3.0
    """

    def __init__(self, max_length: int = 20_000) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        self.max_length = max_length
        self._values: deque[float] = deque(maxlen=max_length)
        self._counts: deque[int] = deque(maxlen=max_length)
        # values pushed after the first unconverted tensor, in order (floats queue behind tensors)
        self._pending: list[tuple[torch.Tensor | float, int]] = []
        self._total = 0.0
        self._total_count = 0
        self._uniform = True  # every count ever appended is 1: means need no weights

    # --- writing ---------------------------------------------------------------------------------------
    def update(self, value: float | torch.Tensor, count: int = 1) -> None:
        """Append ``value`` (the mean of ``count`` samples). Tensors are kept on device until read."""
        kind = type(value)
        if count == 1:  # the per-iteration path: one type check, no conversions
            if kind is float and not self._pending:
                self._values.append(value)  # type: ignore[arg-type]  # checked: a float
                self._counts.append(1)
                self._total += value  # type: ignore[assignment]  # checked: a float
                self._total_count += 1
                return
            if kind is _TENSOR_TYPE[0] and value.requires_grad is False and value.dim() == 0:  # type: ignore[union-attr]
                self._pending.append((value, 1))
                if len(self._pending) >= _MAX_PENDING:
                    self._flush()
                return
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        if isinstance(value, (int, float)) or (not _is_tensor(value) and hasattr(value, "__float__")):
            # numbers (numpy scalars too); they queue behind pending tensors to keep the order
            if self._pending:
                self._pending.append((float(value), count))
            else:
                self._append(float(value), count)
            return
        if not _is_tensor(value):
            raise TypeError(
                f"a scalar history takes a number or a one-element tensor, got {type(value).__name__}"
            )
        if value.numel() != 1:
            raise ValueError(f"a scalar history takes a one-element tensor, got shape {tuple(value.shape)}")
        if _TENSOR_TYPE[0] is None:
            import torch

            _TENSOR_TYPE[0] = torch.Tensor
        tensor = value.detach()
        self._pending.append((tensor.reshape(()) if tensor.dim() else tensor, count))
        if len(self._pending) >= _MAX_PENDING:
            self._flush()

    def _append(self, value: float, count: int) -> None:
        if count != 1:
            self._uniform = False
        self._values.append(value)
        self._counts.append(count)
        self._total += value * count
        self._total_count += count

    def _flush(self) -> None:
        """Convert pending tensors to floats: one stack and one host copy per device."""
        if not self._pending:
            return
        import torch

        pending, self._pending = self._pending, []
        values = [v for v, _ in pending]
        if not any(type(v) is float for v in values):
            # the usual case: only tensors, on one device — one stack, one host copy
            try:
                stacked = torch.stack(values)  # type: ignore[arg-type]  # checked: no floats
            except RuntimeError:  # several devices: grouped below
                pass
            else:
                if not stacked.dtype.is_floating_point:
                    stacked = stacked.double()
                elif stacked.dtype.itemsize < 4:  # fp16/bf16: exact in float32
                    stacked = stacked.float()
                for f, (_, count) in zip(stacked.tolist(), pending):
                    self._append(f, count)
                return
        groups: dict[tuple[torch.device, torch.dtype], list[tuple[int, torch.Tensor]]] = {}
        converted: list[float] = [0.0] * len(pending)
        for i, (v, _) in enumerate(pending):
            if isinstance(v, float):
                converted[i] = v
            else:
                groups.setdefault((v.device, v.dtype), []).append((i, v))
        for (device, dtype), items in groups.items():
            stacked = torch.stack([t for _, t in items])
            if dtype.is_floating_point and dtype.itemsize < 4:  # fp16/bf16: exact in float32
                stacked = stacked.float()
            for (i, _), f in zip(items, stacked.cpu().tolist()):
                converted[i] = float(f)
        for v, (_, count) in zip(converted, pending):
            self._append(v, count)

    # --- reading (each flushes pending device values first) -------------------------------------------
    def _window(self, window: int | None) -> tuple[list[float], list[int]]:
        self._flush()
        if not self._values:
            raise ValueError("the history is empty")
        if window is None or window >= len(self._values):
            return list(self._values), list(self._counts)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        values = list(islice(reversed(self._values), window))
        counts = list(islice(reversed(self._counts), window))
        return values, counts

    def current(self) -> float:
        """The latest value."""
        self._flush()
        if not self._values:
            raise ValueError("the history is empty")
        return self._values[-1]

    def mean(self, window: int | None = None) -> float:
        """Count-weighted mean of the last ``window`` entries (all kept entries when ``None``)."""
        if self._uniform:  # all counts 1: the same sums, without building weight lists
            if self._pending:
                self._flush()
            kept = self._values
            n = len(kept)
            if n and (window is None or window >= n):
                return sum(kept) / n
            if n and window is not None and window >= 1:
                return sum(islice(reversed(kept), window)) / window
        values, counts = self._window(window)
        return sum(v * c for v, c in zip(values, counts)) / sum(counts)

    def min(self, window: int | None = None) -> float:
        """Smallest of the last ``window`` entries."""
        return min(self._window(window)[0])

    def max(self, window: int | None = None) -> float:
        """Largest of the last ``window`` entries."""
        return max(self._window(window)[0])

    def global_mean(self) -> float:
        """Count-weighted mean of every value ever pushed (including trimmed and resumed ones)."""
        self._flush()
        if self._total_count == 0:
            raise ValueError("the history is empty")
        return self._total / self._total_count

    def values(self) -> list[float]:
        """The kept values, oldest first."""
        self._flush()
        return list(self._values)

    def __len__(self) -> int:
        """Number of values kept (pending device values included)."""
        return len(self._values) + len(self._pending)

    # --- state -----------------------------------------------------------------------------------------
    def state_dict(self, keep_last: int) -> dict[str, object]:
        """The last ``keep_last`` entries plus the running totals: plain floats and ints only."""
        self._flush()
        n = min(keep_last, len(self._values))
        values = list(self._values)[len(self._values) - n :]
        counts = list(self._counts)[len(self._counts) - n :]
        return {"values": values, "counts": counts, "total": self._total, "total_count": self._total_count}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Restore from :meth:`state_dict` output (replaces the current contents)."""
        values = state.get("values", [])
        counts = state.get("counts", [])
        if (
            not isinstance(values, (list, tuple))
            or not isinstance(counts, (list, tuple))
            or len(values) != len(counts)
        ):
            raise ValueError("history state must hold equal-length 'values' and 'counts' lists")
        self._values.clear()
        self._counts.clear()
        self._pending.clear()
        self._uniform = True
        for v, c in zip(values, counts):
            self._values.append(float(v))
            self._counts.append(int(c))
            if int(c) != 1:
                self._uniform = False
        total = state.get("total")
        total_count = state.get("total_count")
        if isinstance(total, (int, float)) and isinstance(total_count, int):
            self._total, self._total_count = float(total), total_count
        else:
            self._total = sum(v * c for v, c in zip(self._values, self._counts))
            self._total_count = sum(self._counts)

    def __repr__(self) -> str:
        return f"History(len={len(self)}, max_length={self.max_length})"


def _plain(value: object) -> bool:
    """Whether ``value`` is safe for ``torch.load(weights_only=True)`` (numbers, strings, lists, dicts)."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


class MessageHub:
    """Per-run store of scalar histories (``train/loss``, ``val/accuracy``) and runtime info (``eta``).

    ``keep_in_checkpoint`` bounds how many recent entries per key :meth:`state_dict` keeps: enough to
    continue the smoothing windows after a resume without storing the whole run in every checkpoint.

    Example::

        hub = MessageHub()
        hub.update_scalar("train/loss", 0.5)
        hub.update_info("eta", 12.0)
        hub.get_scalar("train/loss").current(), hub.get_info("eta")
    """

    def __init__(self, *, max_length: int = 20_000, keep_in_checkpoint: int = 1000) -> None:
        self.max_length = max_length
        self.keep_in_checkpoint = keep_in_checkpoint
        self._scalars: dict[str, History] = {}
        self._info: dict[str, object] = {}

    # --- scalars ---------------------------------------------------------------------------------------
    def update_scalar(self, key: str, value: float | torch.Tensor, count: int = 1) -> None:
        """Push one value (a number or a one-element tensor, kept on device until read) under ``key``."""
        history = self._scalars.get(key)
        if history is None:
            history = self._scalars[key] = History(self.max_length)
        history.update(value, count)

    def update_scalars(self, values: Mapping[str, float | int | torch.Tensor], prefix: str = "") -> None:
        """Push several values at once, each key prefixed with ``prefix``."""
        for key, value in values.items():
            self.update_scalar(prefix + key, value)

    def get_scalar(self, key: str) -> History:
        """The history of ``key``; ``KeyError`` naming the known keys if it was never pushed."""
        try:
            return self._scalars[key]
        except KeyError:
            raise KeyError(f"no scalar {key!r} in the message hub; known: {sorted(self._scalars)}") from None

    def has_scalar(self, key: str) -> bool:
        """Whether ``key`` has been pushed."""
        return key in self._scalars

    @property
    def scalars(self) -> Mapping[str, History]:
        """All histories by key (read-only view)."""
        return self._scalars

    def scalar_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, in first-push order."""
        return (k for k in self._scalars if k.startswith(prefix))

    # --- runtime info ----------------------------------------------------------------------------------
    def update_info(self, key: str, value: object) -> None:
        """Set runtime information (``eta``, ``epoch``, ``by_epoch`` …); replaces any previous value."""
        self._info[key] = value

    def get_info(self, key: str, default: object = None) -> object:
        """Runtime information under ``key``, or ``default``."""
        return self._info.get(key, default)

    def pop_info(self, key: str, default: object = None) -> object:
        """Remove and return runtime information under ``key``."""
        return self._info.pop(key, default)

    @property
    def info(self) -> Mapping[str, object]:
        """All runtime information (read-only view)."""
        return self._info

    # --- state -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, object]:
        """Histories (last ``keep_in_checkpoint`` entries each) and plain runtime info.

        Contains only lists of floats/ints, dicts and strings, so ``torch.load(weights_only=True)`` reads it.
        Info values that are not plain data (objects, tensors) and non-finite totals are left out.
        """
        scalars = {k: h.state_dict(self.keep_in_checkpoint) for k, h in self._scalars.items()}
        info = {
            k: v for k, v in self._info.items() if _plain(v) and not (isinstance(v, float) and math.isnan(v))
        }
        return {"scalars": scalars, "info": info}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Restore histories and info saved by :meth:`state_dict` (merges into the current contents)."""
        scalars = state.get("scalars", {})
        if not isinstance(scalars, Mapping):
            raise TypeError("message hub state: 'scalars' must be a mapping")
        for key, hstate in scalars.items():
            if not isinstance(hstate, Mapping):
                raise TypeError(f"message hub state: scalar {key!r} must be a mapping")
            history = History(self.max_length)
            history.load_state_dict(hstate)
            self._scalars[str(key)] = history
        info = state.get("info", {})
        if isinstance(info, Mapping):
            for key, value in info.items():
                self._info[str(key)] = value

    def __repr__(self) -> str:
        return f"MessageHub(scalars={sorted(self._scalars)}, info={sorted(self._info)})"
