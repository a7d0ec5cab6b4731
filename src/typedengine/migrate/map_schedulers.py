"""Map ``param_scheduler``: MMEngine's 10 schedule kinds, each in three families (``LinearLR``,
``LinearMomentum``, ``LinearParamScheduler`` with ``param_name``).

:func:`scheduler_class` is the one place that knows which typedengine config stands for a (kind,
parameter) pair. Arguments keep their MMEngine names and meaning (``begin``/``end``/``by_epoch``/
``convert_to_iter_based``; an unset ``end`` is the run length in both).
"""

from __future__ import annotations

from pydantic import BaseModel

from ..optim.schedulers.cosine import CosineAnnealingSchedulerConfig, CosineRestartSchedulerConfig
from ..optim.schedulers.linear import LinearSchedulerConfig
from ..optim.schedulers.one_cycle import OneCycleSchedulerConfig
from ..optim.schedulers.plateau import ReduceOnPlateauSchedulerConfig
from ..optim.schedulers.simple import ConstantSchedulerConfig, ExponentialSchedulerConfig, PolySchedulerConfig
from ..optim.schedulers.step import MultiStepSchedulerConfig, StepSchedulerConfig
from .map_common import MISSING, Mapping, Section, float_tuple
from .values import CfgDict, Location, Value

__all__ = ["map_param_schedulers", "scheduler_class"]

# kind -> MMEngine arguments of that kind (besides begin/end/by_epoch/convert_to_iter_based)
_SCHEDULER_ARGS: dict[str, tuple[str, ...]] = {
    "Constant": ("factor",),
    "Linear": ("start_factor", "end_factor"),
    "Step": ("step_size", "gamma"),
    "MultiStep": ("milestones", "gamma"),
    "Exponential": ("gamma",),
    "CosineAnnealing": ("T_max", "eta_min", "eta_min_ratio"),
    "CosineRestart": ("periods", "restart_weights", "eta_min", "eta_min_ratio"),
    "Poly": ("eta_min", "power"),
    "OneCycle": ("eta_max", "total_steps", "pct_start", "anneal_strategy", "div_factor", "final_div_factor",
                 "three_phase"),
    "ReduceOnPlateau": ("monitor", "rule", "factor", "patience", "threshold", "threshold_rule", "cooldown",
                        "min_value", "eps"),
}  # fmt: skip
_INT_ARGS = frozenset({"step_size", "T_max", "total_steps", "patience", "cooldown", "begin", "end"})
_INT_TUPLES = frozenset({"milestones", "periods"})
_STR_ARGS = frozenset({"monitor", "rule", "threshold_rule", "anneal_strategy"})
_BOOL_ARGS = frozenset({"three_phase", "by_epoch", "convert_to_iter_based"})

_SCHEDULERS: dict[str, type[BaseModel]] = {
    "Constant": ConstantSchedulerConfig, "Linear": LinearSchedulerConfig, "Step": StepSchedulerConfig,
    "MultiStep": MultiStepSchedulerConfig, "Exponential": ExponentialSchedulerConfig,
    "CosineAnnealing": CosineAnnealingSchedulerConfig, "CosineRestart": CosineRestartSchedulerConfig,
    "Poly": PolySchedulerConfig, "OneCycle": OneCycleSchedulerConfig, "ReduceOnPlateau": ReduceOnPlateauSchedulerConfig,
}  # fmt: skip


def scheduler_class(kind: str, param: str) -> tuple[type[BaseModel], dict[str, object]] | None:
    """The typedengine config for MMEngine's scheduler ``kind`` driving ``param``, and its arguments:
    one config per kind, ``param`` names the param-group key (``LinearLR`` -> ``param="lr"``); OneCycle
    cycles the lr only (as MMEngine asserts)."""
    if kind == "OneCycle" and param != "lr":
        return None
    return _SCHEDULERS[kind], {"param": param}


def _parse_scheduler_type(name: str) -> tuple[str, str | None] | None:
    """``LinearLR`` -> (Linear, lr); ``CosineAnnealingMomentum`` -> (CosineAnnealing, momentum);
    ``PolyParamScheduler`` -> (Poly, None: read ``param_name``)."""
    for suffix, param in (("ParamScheduler", None), ("Momentum", "momentum"), ("LR", "lr")):
        if name.endswith(suffix) and name[: -len(suffix)] in _SCHEDULER_ARGS:
            return name[: -len(suffix)], param
    return None


def map_param_schedulers(m: Mapping, value: Value, where: Location) -> tuple[BaseModel, ...]:
    """``param_scheduler``: one dict or a list, in order (each constructor applies step 0, so order matters)."""
    if isinstance(value, CfgDict) and "type" not in value:
        m.not_migrated(where, "param_scheduler",
                       "a dict of scheduler lists per optimizer: typedengine applies one list to every optimizer")  # fmt: skip
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[BaseModel] = []
    for i, item in enumerate(items):
        key = f"param_scheduler[{i}]" if isinstance(value, (list, tuple)) else "param_scheduler"
        sec = m.section(item, key, where)
        if sec is None:
            continue
        built = _scheduler(m, sec)
        if built is not None:
            out.append(built)
    return tuple(out)


def _scheduler(m: Mapping, sec: Section) -> BaseModel | None:
    name = sec.take_type() or ""
    parsed = _parse_scheduler_type(name)
    if parsed is None:
        sec.skip(*[str(k) for k in sec.data])
        m.not_migrated(sec.where("type"), sec.path,
                       f"scheduler type {name!r}: typedengine has MMEngine's 10 kinds (Constant, Linear, Step, "
                       "MultiStep, Exponential, CosineAnnealing, CosineRestart, Poly, OneCycle, ReduceOnPlateau)")  # fmt: skip
        return None
    kind, param = parsed
    if param is None:
        named = sec.take_str("param_name")
        if named is MISSING:
            m.problem(sec.where(), sec.path, f"{name} needs param_name (MMEngine stops with a TypeError too)")
            return None
        param = named
    found = scheduler_class(kind, param)
    if found is None:
        m.not_migrated(
            sec.where("type"),
            sec.path,
            f"{name} with param_name={param!r}: typedengine has OneCycle for lr only",
        )
        return None
    cls, kwargs = found
    for arg in ("begin", "end", "by_epoch", "convert_to_iter_based", *_SCHEDULER_ARGS[kind]):
        if not sec.has(arg):
            continue
        got = _scheduler_arg(m, sec, arg)
        if got is not MISSING:
            kwargs[arg] = got
    for arg, default in (("last_step", -1), ("verbose", False)):
        if sec.has(arg) and sec.take(arg) == default:
            m.default(sec.where(arg), sec.key(arg), default)
    sec.finish()
    return m.build(cls, kwargs, sec, keep=frozenset({"param"}))


def _scheduler_arg(m: Mapping, sec: Section, arg: str) -> object:
    if arg in _BOOL_ARGS:
        return sec.take_bool(arg)
    if arg in _STR_ARGS:
        return sec.take_str(arg)
    if arg in _INT_TUPLES:
        return sec.take_ints(arg)
    if arg == "restart_weights":
        value = sec.take(arg)
        numbers = float_tuple(tuple(value)) if isinstance(value, (list, tuple)) else None
        if numbers is not None:
            return numbers
        m.expect(value, sec.key(arg), sec.where(arg), "a list of numbers")
        return MISSING
    if arg in _INT_ARGS:
        value = sec.take(arg)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        m.expect(value, sec.key(arg), sec.where(arg), "an integer")
        return MISSING
    return sec.take_float(arg, allow_none=arg in ("eta_min",))
