"""Map the loops and the data they run over: ``train_cfg`` (with its dataloader and evaluators), ``val_cfg``,
``test_cfg``.

``dynamic_intervals`` is translated by meaning: MMEngine picks the interval with ``bisect(milestones,
count + 1)``, so a switch at milestone ``m`` applies from count ``m - 1``; typedengine's pairs say where they
apply, so ``(m, k)`` becomes ``(m - 1, k)`` (and a milestone of 1, in force from the start, becomes the base
interval). The validation points are then MMEngine's.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..loops.epoch_based import EpochBasedTrainLoopConfig
from ..loops.evaluation import TestLoopConfig, ValLoopConfig
from ..loops.iter_based import IterBasedTrainLoopConfig
from .map_common import MISSING, Mapping, Root, Section, given, show
from .map_data import DataMapping, map_dataloader, map_evaluator

__all__ = ["map_eval_loop", "map_train"]


def map_train(m: Mapping, root: Root, data: DataMapping) -> None:
    raw = root.get("train_cfg")
    iter_based = False
    if raw not in (MISSING, None):
        sec = m.section(raw, "train_cfg", root.where("train_cfg"))
        if sec is not None:
            loop = _train_loop(m, sec)
            if loop is not None:
                iter_based = isinstance(loop, IterBasedTrainLoopConfig)
                root.put("train", loop)
    for role in ("train", "val", "test"):
        key = f"{role}_dataloader"
        value = root.get(key)
        if value in (MISSING, None):
            continue
        found = map_dataloader(m, value, key, root.where(key), data, role.capitalize(),
                               iter_based and role == "train")  # fmt: skip
        if found is not None:
            node, stub = found
            root.put(key, node, args=(stub.class_name,))
    for role in ("val", "test"):
        key = f"{role}_evaluator"
        value = root.get(key)
        if value in (MISSING, None):
            continue
        found_eval = map_evaluator(m, value, key, root.where(key), data)
        if found_eval is not None:
            root.put(key, found_eval[0], args=found_eval[1])


def _train_loop(m: Mapping, sec: Section) -> BaseModel | None:
    kind = sec.take_type()
    by_epoch = sec.take_bool("by_epoch")
    if kind is not None and by_epoch is not MISSING:
        m.problem(
            sec.where(), "train_cfg", "gives both `type` and `by_epoch` (MMEngine's Runner refuses that)"
        )
        return None
    if kind is None and by_epoch is MISSING:
        m.problem(sec.where(), "train_cfg", "needs `type` or `by_epoch` (MMEngine stops with a KeyError)")
        return None
    if kind is not None and kind not in ("EpochBasedTrainLoop", "IterBasedTrainLoop"):
        m.problem(sec.where("type"), "train_cfg.type",
                       f"{kind!r}: typedengine has EpochBasedTrainLoop and IterBasedTrainLoop; for your own loop "
                       "subclass te.BaseTrainLoopConfig (see typedengine/loops/choices.py)")  # fmt: skip
        return None
    epochs = kind == "EpochBasedTrainLoop" or by_epoch is True
    length_key = "max_epochs" if epochs else "max_iters"
    length = sec.take_int(length_key)
    if length is MISSING:
        if not sec.has(length_key):
            m.problem(sec.where(), f"train_cfg.{length_key}", "is required (MMEngine stops with a TypeError)")
        return None
    val_interval = sec.take_int("val_interval")
    kwargs = given(val_begin=sec.take_int("val_begin"), val_interval=val_interval)
    dynamic = _dynamic_intervals(m, sec)
    if dynamic is not None:
        pairs, base_interval = dynamic
        kwargs["dynamic_intervals"] = pairs
        if base_interval is not None:
            kwargs["val_interval"] = base_interval
    kwargs[length_key] = length
    sec.finish()
    cls: type[BaseModel] = EpochBasedTrainLoopConfig if epochs else IterBasedTrainLoopConfig
    return m.build(cls, kwargs, sec, keep=frozenset({length_key}))


def _dynamic_intervals(m: Mapping, sec: Section) -> tuple[tuple[tuple[int, int], ...], int | None] | None:
    """MMEngine switches to interval k after milestone m - 1; typedengine's pairs say where they apply.

    Returns the pairs and, for a milestone <= 1 (in force from the start), the new base interval.
    """
    raw = sec.take("dynamic_intervals")
    if raw is MISSING or raw is None:
        return None
    pairs: list[tuple[int, int]] = []
    base: int | None = None
    items = raw if isinstance(raw, (list, tuple)) else None
    for item in items or [raw]:
        milestone = item[0] if isinstance(item, (list, tuple)) and len(item) == 2 else None
        interval = item[1] if isinstance(item, (list, tuple)) and len(item) == 2 else None
        if not (isinstance(milestone, int) and isinstance(interval, int)):
            m.expect(item, "train_cfg.dynamic_intervals", sec.where("dynamic_intervals"),
                          "a list of (milestone, interval) pairs")  # fmt: skip
            return None
        if milestone - 1 < 1:
            base = interval  # in force from the start
        else:
            pairs.append((milestone - 1, interval))
    shown = ", ".join(f"({a}, {b})" for a, b in pairs) or "none"
    m.translated(sec.where("dynamic_intervals"), "train_cfg.dynamic_intervals",
                      f"{show(raw)} -> ({shown}){'' if base is None else f', val_interval={base}'}: MMEngine applies "
                      "each switch one epoch/iteration before its milestone; typedengine's pairs say where it "
                      "applies, so the validation points are MMEngine's")  # fmt: skip
    return tuple(pairs), base


def map_eval_loop(m: Mapping, root: Root, role: str) -> None:
    key = f"{role}_cfg"
    raw = root.get(key)
    if raw in (MISSING, None):
        return
    sec = m.section(raw, key, root.where(key))
    if sec is None:
        return
    kind = sec.take_type()
    expected = "ValLoop" if role == "val" else "TestLoop"
    if kind not in (None, expected):
        sec.skip(*[str(k) for k in sec.data])
        m.not_migrated(sec.where("type"), f"{key}.type",
                            f"= {kind!r}: typedengine runs its own {expected}; a custom loop is not migrated")  # fmt: skip
        return
    fp16 = sec.take_bool("fp16")
    sec.finish()
    kwargs: dict[str, object] = {} if fp16 is MISSING else {"autocast": "fp16" if fp16 else "off"}
    cls: type[BaseModel] = ValLoopConfig if role == "val" else TestLoopConfig
    built = m.build(cls, kwargs, sec, keys={"autocast": "fp16"})
    if built is not None and built.model_fields_set:
        root.put(role, built)
    elif built is not None and not kwargs:
        m.default(sec.where(), key, raw)


# --- optimization and hooks --------------------------------------------------------------------
