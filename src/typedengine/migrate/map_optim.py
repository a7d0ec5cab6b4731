"""Map ``optim_wrapper`` (optimizer, paramwise rules, clipping, accumulation, AMP), ``param_scheduler`` and
``auto_scale_lr``.

MMEngine's scheduler classes come in three families per kind (``LinearLR``, ``LinearMomentum``,
``LinearParamScheduler`` with ``param_name``); :func:`scheduler_class` is the one place that knows which
typedengine config stands for a (kind, parameter) pair.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..optim import (
    AdadeltaConfig,
    AdagradConfig,
    AdamaxConfig,
    AdamConfig,
    AdamWConfig,
    AmpOptimWrapperConfig,
    AutoScaleLRConfig,
    ClipGradNormConfig,
    ClipGradValueConfig,
    ConstantLRConfig,
    ConstantMomentumConfig,
    ConstantParamConfig,
    CosineAnnealingLRConfig,
    CosineAnnealingMomentumConfig,
    CosineAnnealingParamConfig,
    CosineRestartLRConfig,
    CosineRestartMomentumConfig,
    CosineRestartParamConfig,
    CustomKeyRule,
    ExponentialLRConfig,
    ExponentialMomentumConfig,
    ExponentialParamConfig,
    GradScalerConfig,
    ImportedOptimizerConfig,
    LinearLRConfig,
    LinearMomentumConfig,
    LinearParamConfig,
    MultiStepLRConfig,
    MultiStepMomentumConfig,
    MultiStepParamConfig,
    NAdamConfig,
    OneCycleLRConfig,
    OptimWrapperConfig,
    OptimWrapperDictConfig,
    ParamwiseConfig,
    PolyLRConfig,
    PolyMomentumConfig,
    PolyParamConfig,
    RAdamConfig,
    ReduceOnPlateauLRConfig,
    ReduceOnPlateauMomentumConfig,
    ReduceOnPlateauParamConfig,
    RMSpropConfig,
    SGDConfig,
    StepLRConfig,
    StepMomentumConfig,
    StepParamConfig,
)
from ..optim.optimizers import OptimizerKwarg
from .experiment import ConfigNode
from .map_common import MISSING, Mapping, Section, given
from .values import CfgDict, Location, Value

__all__ = ["map_auto_scale_lr", "map_optim_wrapper", "map_param_schedulers", "scheduler_class"]

_OPTIMIZERS: dict[str, type[BaseModel]] = {
    "SGD": SGDConfig, "Adam": AdamConfig, "AdamW": AdamWConfig, "RMSprop": RMSpropConfig,
    "Adagrad": AdagradConfig, "Adadelta": AdadeltaConfig, "Adamax": AdamaxConfig, "NAdam": NAdamConfig,
    "RAdam": RAdamConfig,
}  # fmt: skip
_TORCH_ONLY = ("ASGD", "LBFGS", "Rprop", "SparseAdam", "Adafactor")
"""torch.optim classes without a typedengine config: written as an ImportedOptimizerConfig."""
_THIRD_PARTY = {"Lion": "lion_pytorch.Lion", "DAdaptAdaGrad": "dadaptation.DAdaptAdaGrad",
                "DAdaptAdam": "dadaptation.DAdaptAdam", "DAdaptSGD": "dadaptation.DAdaptSGD"}  # fmt: skip

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

_SCHEDULERS: dict[tuple[str, str], type[BaseModel]] = {
    ("Constant", "lr"): ConstantLRConfig, ("Constant", "momentum"): ConstantMomentumConfig,
    ("Constant", "*"): ConstantParamConfig,
    ("Linear", "lr"): LinearLRConfig, ("Linear", "momentum"): LinearMomentumConfig, ("Linear", "*"): LinearParamConfig,
    ("Step", "lr"): StepLRConfig, ("Step", "momentum"): StepMomentumConfig, ("Step", "*"): StepParamConfig,
    ("MultiStep", "lr"): MultiStepLRConfig, ("MultiStep", "momentum"): MultiStepMomentumConfig,
    ("MultiStep", "*"): MultiStepParamConfig,
    ("Exponential", "lr"): ExponentialLRConfig, ("Exponential", "momentum"): ExponentialMomentumConfig,
    ("Exponential", "*"): ExponentialParamConfig,
    ("CosineAnnealing", "lr"): CosineAnnealingLRConfig, ("CosineAnnealing", "momentum"): CosineAnnealingMomentumConfig,
    ("CosineAnnealing", "*"): CosineAnnealingParamConfig,
    ("CosineRestart", "lr"): CosineRestartLRConfig, ("CosineRestart", "momentum"): CosineRestartMomentumConfig,
    ("CosineRestart", "*"): CosineRestartParamConfig,
    ("Poly", "lr"): PolyLRConfig, ("Poly", "momentum"): PolyMomentumConfig, ("Poly", "*"): PolyParamConfig,
    ("OneCycle", "lr"): OneCycleLRConfig,
    ("ReduceOnPlateau", "lr"): ReduceOnPlateauLRConfig, ("ReduceOnPlateau", "momentum"): ReduceOnPlateauMomentumConfig,
    ("ReduceOnPlateau", "*"): ReduceOnPlateauParamConfig,
}  # fmt: skip


def scheduler_class(kind: str, param: str) -> tuple[type[BaseModel], dict[str, object]] | None:
    """The typedengine config for MMEngine's scheduler ``kind`` driving ``param``, and extra arguments."""
    cls = _SCHEDULERS.get((kind, param))
    if cls is not None:
        return cls, {}
    generic = _SCHEDULERS.get((kind, "*"))
    return (generic, {"param_name": param}) if generic is not None else None


def _parse_scheduler_type(name: str) -> tuple[str, str | None] | None:
    """``LinearLR`` -> (Linear, lr); ``CosineAnnealingMomentum`` -> (CosineAnnealing, momentum);
    ``PolyParamScheduler`` -> (Poly, None: read ``param_name``)."""
    for suffix, param in (("ParamScheduler", None), ("Momentum", "momentum"), ("LR", "lr")):
        if name.endswith(suffix) and name[: -len(suffix)] in _SCHEDULER_ARGS:
            return name[: -len(suffix)], param
    return None


def map_optim_wrapper(m: Mapping, value: Value, where: Location) -> ConfigNode | None:
    sec = m.section(value, "optim_wrapper", where)
    if sec is None:
        return None
    constructor = sec.take("constructor")
    if constructor is not MISSING and constructor != "DefaultOptimWrapperConstructor":
        m.not_migrated(sec.where("constructor"), "optim_wrapper.constructor",
                       f"= {constructor!r}: a custom constructor builds param groups typedengine's paramwise "
                       "rules do not express; the groups differ")  # fmt: skip
    if not sec.has("optimizer") and sec.data and all(
        isinstance(v, CfgDict) and "optimizer" in v for k, v in sec.data.items() if k not in ("constructor", "type")
    ):
        return _wrapper_dict(m, sec)
    built = _single_wrapper(m, sec)
    return None if built is None else ConfigNode(built)


def _wrapper_dict(m: Mapping, sec: Section) -> ConfigNode | None:
    sec.take_type()
    wrappers: dict[str, BaseModel] = {}
    for name in [k for k in sec.data if k not in ("constructor", "type")]:
        sub = sec.take_section(str(name))
        single = _single_wrapper(m, sub) if sub is not None else None
        if single is not None:
            wrappers[str(name)] = single
    sec.finish()
    if not wrappers:
        return None
    built = m.build(OptimWrapperDictConfig, {"wrappers": wrappers}, sec)
    return None if built is None else ConfigNode(built)


def _single_wrapper(m: Mapping, sec: Section) -> BaseModel | None:
    kind = sec.take_type() or "OptimWrapper"
    if kind not in ("OptimWrapper", "AmpOptimWrapper"):
        m.problem(sec.where("type"), sec.key("type"),
                  f"{kind!r}: typedengine has OptimWrapper and AmpOptimWrapper (AmpOptimWrapperConfig)")  # fmt: skip
        return None
    optimizer = _optimizer(m, sec)
    kwargs = given(accumulative_counts=sec.take_int("accumulative_counts"))
    if optimizer is not None:
        kwargs["optimizer"] = optimizer
    clip = _clip_grad(m, sec)
    if clip is not MISSING:
        kwargs["clip_grad"] = clip
    paramwise = sec.take_section("paramwise_cfg")
    if paramwise is not None:
        rules = _paramwise(m, paramwise)
        if rules is not None:
            kwargs["paramwise"] = rules
    keys = {"paramwise": "paramwise_cfg"}
    cls: type[BaseModel] = OptimWrapperConfig
    if kind == "AmpOptimWrapper":
        cls = AmpOptimWrapperConfig
        dtype = sec.take_str("dtype", allow_none=True)
        if dtype in ("float32", "float64"):
            m.not_migrated(sec.where("dtype"), sec.key("dtype"),
                           f"= {dtype!r}: typedengine's AMP runs float16 or bfloat16")  # fmt: skip
        elif dtype is not MISSING:
            kwargs["dtype"] = dtype
        _loss_scale(m, sec, kwargs)
    if optimizer is None:
        sec.finish()
        return None
    built = m.build(cls, kwargs, sec, keys=keys, keep=frozenset({"optimizer"}))
    sec.finish()
    return built


def _optimizer(m: Mapping, wrapper: Section) -> BaseModel | None:
    sec = wrapper.take_section("optimizer")
    if sec is None:
        m.problem(wrapper.where(), wrapper.key("optimizer"), "an optim_wrapper needs an optimizer")
        return None
    kind = sec.take_type()
    args = {str(k): v for k, v in sec.data.items() if k != "type"}
    sec.skip(*args)
    plain = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    if kind in _OPTIMIZERS:
        cls = _OPTIMIZERS[kind]
        unknown = sorted(set(plain) - set(cls.model_fields))
        for key in unknown:
            m.problem(sec.where(key), sec.key(key), f"{kind} takes no argument {key!r} (torch would refuse it too)")
        if unknown:
            return None
        for key, v in plain.items():
            if isinstance(v, int) and not isinstance(v, bool):
                plain[key] = float(v) if cls.model_fields[key].annotation is float else v
        return m.build(cls, plain, sec, keep=frozenset({"lr"}))
    target = f"torch.optim.{kind}" if kind in _TORCH_ONLY else _THIRD_PARTY.get(kind or "")
    if target is None:
        m.problem(sec.where("type"), sec.key("type"),
                  f"optimizer {kind!r} has no typedengine config; ImportedOptimizerConfig(target='pkg.Class') "
                  "takes any torch.optim.Optimizer subclass")  # fmt: skip
        return None
    kwargs: dict[str, OptimizerKwarg] = {}
    for key, v in plain.items():
        if v is None or isinstance(v, (bool, int, float, str)):
            kwargs[key] = v
        elif isinstance(v, tuple) and (numbers := _numbers(v)) is not None:
            kwargs[key] = numbers
        else:
            m.expect(v, sec.key(key), sec.where(key), "a number, string, bool or list of numbers")
    m.translated(sec.where("type"), sec.key("type"),
                 f"{kind!r} -> ImportedOptimizerConfig(target={target!r}); its arguments are checked when the "
                 "experiment runs")  # fmt: skip
    # validated (imports the class) when the experiment is loaded; migrating never imports torch
    return ImportedOptimizerConfig.model_construct(target=target, kwargs=kwargs)


def _numbers(values: tuple[Value, ...]) -> tuple[float, ...] | None:
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return tuple(numbers) if len(numbers) == len(values) else None


def _clip_grad(m: Mapping, wrapper: Section) -> object:
    value = wrapper.take("clip_grad")
    if value is MISSING or value is None:
        return value
    sec = m.section(value, wrapper.key("clip_grad"), wrapper.where("clip_grad"))
    if sec is None:
        return MISSING
    kind = sec.take_str("type")
    if kind in (MISSING, "norm"):
        kwargs = given(max_norm=sec.take_float("max_norm"), norm_type=sec.take_float("norm_type"),
                       error_if_nonfinite=sec.take_bool("error_if_nonfinite"))  # fmt: skip
        built: object = m.build(ClipGradNormConfig, kwargs, sec, keep=frozenset({"max_norm"}))
    elif kind == "value":
        built = m.build(ClipGradValueConfig, given(clip_value=sec.take_float("clip_value")), sec,
                        keep=frozenset({"clip_value"}))  # fmt: skip
    else:
        m.problem(sec.where("type"), sec.key("type"), f"{kind!r}: clip_grad type is 'norm' or 'value'")
        return MISSING
    sec.finish()
    return MISSING if built is None else built


def _paramwise(m: Mapping, sec: Section) -> ParamwiseConfig | None:
    custom: dict[str, CustomKeyRule] = {}
    keys = sec.take_section("custom_keys")
    if keys is not None:
        for name in list(keys.data):
            rule = keys.take_section(str(name))
            if rule is None:
                continue
            made = m.build(CustomKeyRule, given(lr_mult=rule.take_float("lr_mult"),
                                                 decay_mult=rule.take_float("decay_mult")), rule)  # fmt: skip
            rule.finish("typedengine's custom_keys rules set lr_mult and decay_mult only")
            if made is not None:
                custom[str(name)] = made
        keys.finish()
    kwargs = given(
        bias_lr_mult=sec.take_float("bias_lr_mult"), bias_decay_mult=sec.take_float("bias_decay_mult"),
        norm_decay_mult=sec.take_float("norm_decay_mult"), dwconv_decay_mult=sec.take_float("dwconv_decay_mult"),
        flat_decay_mult=sec.take_float("flat_decay_mult"), bypass_duplicate=sec.take_bool("bypass_duplicate"),
    )  # fmt: skip
    if custom:
        kwargs["custom_keys"] = custom
    sec.finish()
    return m.build(ParamwiseConfig, kwargs, sec)


def _loss_scale(m: Mapping, sec: Section, kwargs: dict[str, object]) -> None:
    value = sec.take("loss_scale")
    if value is MISSING or value == "dynamic":
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        kwargs["loss_scale"] = float(value)
        return
    scaler = m.section(value, sec.key("loss_scale"), sec.where("loss_scale"))
    if scaler is None:
        return
    built = m.build(GradScalerConfig, given(
        init_scale=scaler.take_float("init_scale"), growth_factor=scaler.take_float("growth_factor"),
        backoff_factor=scaler.take_float("backoff_factor"), growth_interval=scaler.take_int("growth_interval"),
    ), scaler)  # fmt: skip
    enabled = scaler.take("enabled")
    if enabled is False:
        m.not_migrated(scaler.where("enabled"), scaler.key("enabled"),
                       "= False: use OptimWrapperConfig with ValLoop autocast instead of a disabled scaler")  # fmt: skip
    scaler.finish()
    if built is not None:
        kwargs["scaler"] = built
        m.translated(sec.where("loss_scale"), sec.key("loss_scale"), "a dict of GradScaler arguments -> scaler=")


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
        m.not_migrated(sec.where("type"), sec.path, f"{name} with param_name={param!r}: typedengine has OneCycle for lr only")
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
    return m.build(cls, kwargs, sec)


def _scheduler_arg(m: Mapping, sec: Section, arg: str) -> object:
    if arg in _BOOL_ARGS:
        return sec.take_bool(arg)
    if arg in _STR_ARGS:
        return sec.take_str(arg)
    if arg in _INT_TUPLES:
        return sec.take_ints(arg)
    if arg == "restart_weights":
        value = sec.take(arg)
        numbers = _numbers(tuple(value)) if isinstance(value, (list, tuple)) else None
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


def map_auto_scale_lr(m: Mapping, value: Value, where: Location) -> ConfigNode | None:
    sec = m.section(value, "auto_scale_lr", where)
    if sec is None:
        return None
    base = sec.take_int("base_batch_size")
    enable = sec.take_bool("enable")
    sec.finish()
    if base is MISSING:
        if enable is True:
            m.problem(sec.where(), "auto_scale_lr.base_batch_size", "needed when enable=True")
        else:
            m.default(sec.where(), "auto_scale_lr", value)
        return None
    built = m.build(AutoScaleLRConfig, given(base_batch_size=base, enable=enable), sec, keep=frozenset({"base_batch_size"}))
    return None if built is None else ConfigNode(built)
