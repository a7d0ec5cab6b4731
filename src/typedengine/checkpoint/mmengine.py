"""MMEngine checkpoints: loaded for ``load_from`` and ``resume`` without unpickling code.

A checkpoint written by MMEngine's Runner pickles ``mmengine.logging.history_buffer.HistoryBuffer``
objects (the message hub's histories), numpy arrays and scalars, and possibly ``ConfigDict``s; plain
``torch.load(weights_only=True)`` refuses those globals. :func:`load_mmengine_checkpoint` still loads with
``weights_only=True`` — torch's restricted unpickler — and registers, for that one call, stand-ins under
those qualified names (``torch.serialization.safe_globals`` accepts ``(object, "qualified.name")`` pairs):

* ``HistoryBuffer`` -> :class:`_HistoryBufferState`, which only stores the unpickled attribute dict;
* ``ConfigDict`` (and addict's ``Dict``) -> ``collections.OrderedDict``;
* numpy's array and scalar reconstructors, ``numpy.ndarray``, ``numpy.dtype`` and the dtype classes ->
  numpy's own (what torch's documentation allowlists for numpy data), under numpy 1's and numpy 2's names.

Nothing else is allowed: a file holding any other global (a custom hook's object, a scheduler's pickled
function) is refused before anything is unpickled, with a message naming the globals. MMEngine is not
needed (the stand-ins are ours). Needs torch >= 2.6 (renamed safe globals); older versions fail with a
message saying so.

The loaded dict is converted to typedengine's layout (:mod:`.contents`): ``meta`` (``epoch``/``iter`` are
MMEngine's completed counts, as typedengine's), ``state_dict``, ``optimizer`` (the same torch state dict),
``param_schedulers`` (MMEngine's scheduler ``__dict__``s hold typedengine's progress keys ``_global_step``,
``last_step``, ``base_values``, ``_last_value`` under the same names), ``run_state`` (counters, best score,
kept checkpoints), ``message_hub`` (each HistoryBuffer becomes a history, so smoothing windows continue),
``ema_state_dict``/``ema_steps`` (MMEngine's EMAHook layout). What cannot be carried over is listed in
``meta["not_carried_over"]``; :func:`carry_over_warning` turns it into the one warning a resume logs.

Example::

    ckpt = load_mmengine_checkpoint("work_dirs/mmengine_run/epoch_12.pth")   # None: not an MMEngine file

One module of a little over 400 lines: the safe loader and the converter share the stand-in types and the
knowledge of MMEngine's layout, and change together when that layout does.
"""

from __future__ import annotations

import collections
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckpointError

if TYPE_CHECKING:
    import torch

__all__ = [
    "carry_over_warning",
    "convert_mmengine_checkpoint",
    "is_mmengine_file",
    "load_mmengine_checkpoint",
]

_KEEP_HISTORY = 1000
"""Entries per history carried over (typedengine keeps as many in its own checkpoints); totals cover all."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _HistoryBufferState:
    """Stand-in for ``mmengine.logging.history_buffer.HistoryBuffer``: keeps the unpickled attributes only.

    Its state is ``{"max_length": int, "_log_history": ndarray, "_count_history": ndarray}``; no MMEngine
    code runs, and the values are read by :func:`_history_state`.
    """

    def __init__(self) -> None:
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


# --------------------------------------------------------------------------------------------------------
# detecting and loading
# --------------------------------------------------------------------------------------------------------
def _pickle_bytes(path: Path) -> bytes | None:
    """The pickled structure (``<archive>/data.pkl``) of a ``torch.save`` zip file, or None for other files.

    Read with :mod:`zipfile`; nothing is unpickled. Tensor data lives in other records and is not read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(names) != 1:
                return None
            return archive.read(names[0])
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return None


def is_mmengine_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks written by MMEngine: its pickle names an ``mmengine`` module or MMEngine's
    ``mmengine_version`` meta key. Cheap (reads the pickle bytes, unpickles nothing)."""
    data = _pickle_bytes(Path(path))
    return data is not None and (b"mmengine_version" in data or b"mmengine." in data)


def _numpy_globals() -> list[tuple[object, str] | object]:
    """numpy's reconstructors under numpy 1's and numpy 2's module names, ``ndarray``, ``dtype`` and the
    dtype classes (torch checks the class of a built dtype)."""
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    out: list[tuple[object, str] | object] = [np.ndarray, np.dtype]
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out.append((multiarray._reconstruct, f"{module}._reconstruct"))
        out.append((multiarray.scalar, f"{module}.scalar"))
    dtype_classes: set[type] = set()
    for code in np.typecodes["All"]:
        try:
            dtype_classes.add(type(np.dtype(code)))
        except TypeError:
            continue
    ordered: list[type] = sorted(dtype_classes, key=lambda cls: cls.__name__)
    out.extend(ordered)
    return out


def _stand_ins() -> list[tuple[object, str] | object]:
    return [
        (_HistoryBufferState, "mmengine.logging.history_buffer.HistoryBuffer"),
        (collections.OrderedDict, "mmengine.config.config.ConfigDict"),
        (collections.OrderedDict, "addict.addict.Dict"),
        *_numpy_globals(),
    ]


def _check_torch() -> None:
    import torch
    from torch.torch_version import TorchVersion

    if TorchVersion(torch.__version__) < "2.6" or not hasattr(torch.serialization, "safe_globals"):
        raise RuntimeError(
            "loading MMEngine checkpoints needs torch >= 2.6 (renamed safe globals); "
            f"this is torch {torch.__version__}"
        )


@contextmanager
def _allowed(extra: list[tuple[object, str] | object]) -> Iterator[None]:
    """torch's ``safe_globals`` for ``extra``, minus what the process already allowed (so leaving the
    context never removes a global the user registered)."""
    import torch

    present = set(torch.serialization.get_safe_globals())
    added = [g for g in extra if g not in present]
    with torch.serialization.safe_globals(added):  # type: ignore[arg-type]  # torch annotates Callable items
        yield


def load_mmengine_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> dict[str, object] | None:
    """Load an MMEngine checkpoint with ``weights_only=True`` and convert it (see the module docstring).

    Returns None when ``path`` is not an MMEngine checkpoint (the caller loads it its own way). Raises
    :class:`CheckpointError` naming the file for a file holding globals beyond the stand-ins (nothing is
    unpickled then) or one that cannot be read.
    """
    import torch

    target = Path(path)
    if not is_mmengine_file(target):
        return None
    try:
        _check_torch()
    except RuntimeError as exc:
        raise CheckpointError(target, str(exc)) from exc
    stand_ins = _stand_ins()
    with _allowed(stand_ins):
        try:
            unsafe = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(str(target)))
        except (ValueError, RuntimeError) as exc:
            raise CheckpointError(
                target, f"cannot be read as a torch.save archive: {_first_line(exc)}"
            ) from exc
        if unsafe:
            raise CheckpointError(
                target,
                f"an MMEngine checkpoint holding pickled {', '.join(unsafe)}; typedengine loads only "
                "tensors, plain data, MMEngine's HistoryBuffer/ConfigDict and numpy values, never other "
                "objects (unpickling them can run code from the file). Nothing was loaded. Where you trust "
                "the file, re-save the parts you need as plain data, e.g. torch.save({'state_dict': "
                "torch.load(path, weights_only=False)['state_dict']}, 'weights.pth'), and load that",
            )
        try:
            raw = torch.load(target, map_location=map_location, weights_only=True)
        except Exception as exc:  # zip/unpickling errors: RuntimeError, UnpicklingError, EOFError, ...
            raise CheckpointError(
                target, f"cannot be loaded with weights_only=True: {_first_line(exc)}"
            ) from exc
    if not isinstance(raw, Mapping) or not _looks_like_mmengine(raw):
        return None
    return convert_mmengine_checkpoint(raw, source=target)


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _looks_like_mmengine(raw: Mapping[object, object]) -> bool:
    meta = raw.get("meta")
    hub = raw.get("message_hub")
    return (isinstance(meta, Mapping) and "mmengine_version" in meta) or (
        isinstance(hub, Mapping) and "log_scalars" in hub
    )


# --------------------------------------------------------------------------------------------------------
# converting
# --------------------------------------------------------------------------------------------------------
def _plain(value: object) -> object:
    """numpy values -> Python numbers/lists, OrderedDict/ConfigDict/Counter -> dict; tensors stay."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype == object else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, _HistoryBufferState):
        return _history_state(value)
    return value


def _history_state(buffer: _HistoryBufferState) -> dict[str, object] | None:
    """A HistoryBuffer's values as typedengine's history state (the last entries, totals over all)."""
    import numpy as np

    state = buffer.state
    if not isinstance(state, Mapping):
        return None
    log = np.asarray(state.get("_log_history", ()), dtype=np.float64).reshape(-1)
    counts = np.asarray(state.get("_count_history", np.ones_like(log)), dtype=np.float64).reshape(-1)
    if log.shape != counts.shape:
        return None
    counts = np.maximum(np.rint(counts), 1)
    return {
        "values": log[-_KEEP_HISTORY:].tolist(),
        "counts": [int(c) for c in counts[-_KEEP_HISTORY:]],
        "total": float(np.dot(log, counts)),
        "total_count": int(counts.sum()),
    }


def _int(value: object, default: int = 0) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _near(name: object, source: Path) -> str | None:
    """An MMEngine path (absolute) as typedengine names checkpoints: relative to the work dir when it lies
    beside ``source`` (MMEngine's default out_dir), else as it is."""
    if not isinstance(name, str) or not name:
        return None
    named = Path(name)
    return named.name if named.is_absolute() and named.parent == source.parent.absolute() else name


def convert_mmengine_checkpoint(raw: Mapping[object, object], *, source: Path) -> dict[str, object]:
    """MMEngine's checkpoint dict (as loaded) in typedengine's layout; see the module docstring.

    ``source`` is the file it came from (checkpoint names are made relative to its directory).
    """
    notes: list[str] = [
        (
            "random number generator states (MMEngine stores none): dropout and augmentation streams start "
            "again from the seed"
        )
    ]
    meta_in = raw.get("meta")
    meta = dict(_plain(meta_in)) if isinstance(meta_in, Mapping) else {}  # type: ignore[call-overload]
    hub_in = raw.get("message_hub")
    hub: Mapping[object, object] = hub_in if isinstance(hub_in, Mapping) else {}
    info_in = _plain(hub.get("runtime_info"))
    info: Mapping[object, object] = info_in if isinstance(info_in, Mapping) else {}

    epoch, iteration = _int(meta.get("epoch")), _int(meta.get("iter"))
    out: dict[str, object] = {
        "meta": {
            "format": "mmengine",
            "mmengine_version": meta.get("mmengine_version"),
            "epoch": epoch,
            "iter": iteration,
            "seed": meta.get("seed"),
            "experiment_name": meta.get("experiment_name"),
            "time": meta.get("time"),
            "dataset_meta": meta.get("dataset_meta"),
            "not_carried_over": notes,
        },
        "config": None,
        "rng": [],
    }
    notes.append("the config (MMEngine stores it as Python text): changes since that run are not checked")

    state_dict = raw.get("state_dict")
    if isinstance(state_dict, Mapping):
        out["state_dict"] = state_dict
    optimizer = raw.get("optimizer")
    if isinstance(optimizer, Mapping):
        out["optimizer"] = _plain(optimizer)
    out.update(_schedulers(raw.get("param_schedulers"), notes))
    out["run_state"] = _run_state(epoch, iteration, info, source, notes)
    out["message_hub"] = _message_hub(hub.get("log_scalars"))
    out.update(_ema(raw, notes))
    known = {"meta", "state_dict", "optimizer", "param_schedulers", "message_hub", "ema_state_dict"}
    for key, value in raw.items():  # entries custom hooks added in before_save_checkpoint
        if isinstance(key, str) and key not in known and key not in out:
            out[key] = _plain(value)
    return out


def _schedulers(value: object, notes: list[str]) -> dict[str, object]:
    """MMEngine's scheduler state dicts (a list, or one list per optimizer of an OptimWrapperDict)."""
    if isinstance(value, Mapping):  # OptimWrapperDict: {name: [states]}, flattened in the file's order
        states = [s for group in value.values() if isinstance(group, (list, tuple)) for s in group]
        notes.append(
            f"scheduler states were per optimizer ({', '.join(map(str, value))}); they are matched to this "
            "run's schedulers in that order"
        )
    elif isinstance(value, (list, tuple)):
        states = list(value)
    else:
        return {}
    return {"param_schedulers": [_plain(s) for s in states if isinstance(s, Mapping)]}


def _run_state(
    epoch: int, iteration: int, info: Mapping[object, object], source: Path, notes: list[str]
) -> dict[str, object]:
    state: dict[str, object] = {"epoch": epoch, "iter": iteration, "inner_iter": 0}
    max_epochs, max_iters = _int(info.get("max_epochs")), _int(info.get("max_iters"))
    if max_epochs > 1 and max_iters % max_epochs == 0 and iteration % (max_iters // max_epochs):
        per_epoch = max_iters // max_epochs
        notes.append(
            f"the position inside epoch {epoch + 1} (saved after iteration {iteration % per_epoch} of "
            f"{per_epoch}; MMEngine stores none): the epoch starts again at its first batch, as in MMEngine"
        )
    last = _near(info.get("last_ckpt"), source)
    if last is not None:
        state["last_checkpoint"] = last
        ids = info.get("keep_ckpt_ids")
        pattern = re.fullmatch(r"(.*?)(\d+)(\.\w+)", Path(last).name)
        if isinstance(ids, (list, tuple)) and pattern:
            prefix, _, suffix = pattern.groups()
            parent = Path(last).parent
            state["kept_checkpoints"] = [(parent / f"{prefix}{_int(i)}{suffix}").as_posix() for i in ids]
    best_scores: dict[str, float] = {}
    best_files: dict[str, str] = {}
    for key, value in info.items():
        if not isinstance(key, str) or not key.startswith("best_score"):
            continue
        metric = key[len("best_score_") :] if key.startswith("best_score_") else None
        ckpt_name = _near(info.get("best_ckpt" if metric is None else f"best_ckpt_{metric}"), source)
        if metric is None and ckpt_name is not None:  # one save_best key: named only in the file name
            found = re.fullmatch(r"best_(.+)_(?:epoch|iter)_\d+\.pth", Path(ckpt_name).name)
            metric = found.group(1) if found else None
        if metric is None or not isinstance(value, (int, float)):
            notes.append(f"the best score {value} (its metric is not named in the checkpoint)")
            continue
        best_scores[metric] = float(value)
        if ckpt_name is not None:
            best_files[metric] = ckpt_name
    if best_scores:
        state["best_scores"] = best_scores
        state["best_checkpoints"] = best_files
    return state


def _message_hub(log_scalars: object) -> dict[str, object]:
    scalars: dict[str, object] = {}
    if isinstance(log_scalars, Mapping):
        for key, buffer in log_scalars.items():
            if isinstance(buffer, _HistoryBufferState):
                history = _history_state(buffer)
                if history is not None and history["values"]:
                    scalars[str(key)] = history
    return {"scalars": scalars, "info": {}}


def _ema(raw: Mapping[object, object], notes: list[str]) -> dict[str, object]:
    """MMEngine's EMAHook entry: the averaged model's state dict (``module.<name>`` keys, holding the raw
    weights after its save-time swap, and ``steps``) -> typedengine's ``ema_state_dict`` + ``ema_steps``."""
    import torch

    ema = raw.get("ema_state_dict")
    if not isinstance(ema, Mapping):
        return {}
    weights: dict[str, object] = {}
    for key, value in ema.items():
        if isinstance(key, str) and key.startswith("module."):
            weights[key[len("module.") :]] = value
    steps = ema.get("steps")
    if not weights:
        notes.append("the EMA weights (ema_state_dict has no 'module.' entries)")
        return {}
    count = int(steps.item()) if isinstance(steps, torch.Tensor) and steps.numel() == 1 else _int(steps, 1)
    return {"ema_state_dict": weights, "ema_steps": count}


def carry_over_warning(ckpt: Mapping[str, object]) -> str | None:
    """The one warning a resume from a converted MMEngine checkpoint logs (None for other checkpoints)."""
    meta = ckpt.get("meta")
    if not isinstance(meta, Mapping) or meta.get("format") != "mmengine":
        return None
    notes = meta.get("not_carried_over")
    items = [str(n) for n in notes] if isinstance(notes, (list, tuple)) else []
    version = meta.get("mmengine_version") or "unknown"
    lines = [f"resumed from an MMEngine {version} checkpoint; not carried over:"]
    lines += [f"  - {item}" for item in items]
    return "\n".join(lines)
