"""Map ``optim_wrapper`` (optimizer, paramwise rules, clipping, accumulation, AMP) and ``auto_scale_lr``.

torch optimizers typedengine has no config for (``ASGD``, ``LBFGS``, ...) and the third-party ones MMEngine
registers (``Lion``, ``DAdapt*``) become an ``ImportedOptimizerConfig`` by import path, checked when the
experiment is loaded (migrating imports nothing).
"""

from __future__ import annotations

from pydantic import BaseModel

from ..optim.amp import AmpOptimWrapperConfig, GradScalerConfig
from ..optim.auto_scale_lr import AutoScaleLRConfig
from ..optim.grad_clip import ClipGradNormConfig, ClipGradValueConfig
from ..optim.optimizers import (
    AdadeltaConfig,
    AdagradConfig,
    AdamaxConfig,
    AdamConfig,
    AdamWConfig,
    ImportedOptimizerConfig,
    NAdamConfig,
    OptimizerKwarg,
    RAdamConfig,
    RMSpropConfig,
    SGDConfig,
)
from ..optim.param_groups import CustomKeyRule, ParamwiseConfig
from ..optim.wrapper import OptimWrapperConfig
from ..optim.wrapper_dict import OptimWrapperDictConfig
from .experiment import ConfigNode
from .map_common import MISSING, Mapping, Section, float_tuple, given, show
from .values import CfgDict, Location, Value

__all__ = ["map_auto_scale_lr", "map_optim_wrapper"]

_OPTIMIZERS: dict[str, type[BaseModel]] = {
    "SGD": SGDConfig, "Adam": AdamConfig, "AdamW": AdamWConfig, "RMSprop": RMSpropConfig,
    "Adagrad": AdagradConfig, "Adadelta": AdadeltaConfig, "Adamax": AdamaxConfig, "NAdam": NAdamConfig,
    "RAdam": RAdamConfig,
}  # fmt: skip
_TORCH_ONLY = ("ASGD", "LBFGS", "Rprop", "SparseAdam", "Adafactor")
"""torch.optim classes without a typedengine config: written as an ImportedOptimizerConfig."""
_THIRD_PARTY = {"Lion": "lion_pytorch.Lion", "DAdaptAdaGrad": "dadaptation.DAdaptAdaGrad",
                "DAdaptAdam": "dadaptation.DAdaptAdam", "DAdaptSGD": "dadaptation.DAdaptSGD"}  # fmt: skip


def map_optim_wrapper(m: Mapping, value: Value, where: Location) -> ConfigNode | None:
    sec = m.section(value, "optim_wrapper", where)
    if sec is None:
        return None
    constructor = sec.take("constructor")
    custom = constructor not in (MISSING, "DefaultOptimWrapperConstructor")
    if custom:
        m.not_migrated(sec.where("constructor"), "optim_wrapper.constructor",
                       f"= {constructor!r}: a custom constructor builds param groups typedengine's paramwise "
                       "rules do not express; the groups differ")  # fmt: skip
    if (
        not sec.has("optimizer")
        and sec.data
        and all(
            isinstance(v, CfgDict) and "optimizer" in v
            for k, v in sec.data.items()
            if k not in ("constructor", "type")
        )
    ):
        return _wrapper_dict(m, sec)
    built = _single_wrapper(m, sec, custom_constructor=custom)
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


def _single_wrapper(m: Mapping, sec: Section, *, custom_constructor: bool = False) -> BaseModel | None:
    kind = sec.take_type() or "OptimWrapper"
    if kind not in ("OptimWrapper", "AmpOptimWrapper"):
        m.problem(sec.where("type"), sec.key("type"),
                  f"{kind!r}: typedengine has OptimWrapper and AmpOptimWrapper (AmpOptimWrapperConfig)")  # fmt: skip
        return None
    optimizer = _optimizer(m, sec, custom_constructor=custom_constructor)
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


def _optimizer(m: Mapping, wrapper: Section, *, custom_constructor: bool) -> BaseModel | None:
    """The optimizer config; an argument the torch class does not take is an error, unless a custom
    constructor (listed as not migrated) may consume it (mmyolo's ``batch_size_per_gpu``)."""
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
            if custom_constructor:
                m.not_migrated(
                    sec.where(key), sec.key(key), f"= {show(plain[key])}: read by the custom constructor"
                )
                del plain[key]
            else:
                m.problem(
                    sec.where(key),
                    sec.key(key),
                    f"{kind} takes no argument {key!r} (torch would refuse it too)",
                )
        if unknown and not custom_constructor:
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
        elif isinstance(v, tuple) and (numbers := float_tuple(v)) is not None:
            kwargs[key] = numbers
        else:
            m.expect(v, sec.key(key), sec.where(key), "a number, string, bool or list of numbers")
    m.translated(sec.where("type"), sec.key("type"),
                 f"{kind!r} -> ImportedOptimizerConfig(target={target!r}); its arguments are checked when the "
                 "experiment runs")  # fmt: skip
    # validated (imports the class) when the experiment is loaded; migrating never imports torch
    return ImportedOptimizerConfig.model_construct(target=target, kwargs=kwargs)


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
        m.translated(
            sec.where("loss_scale"), sec.key("loss_scale"), "a dict of GradScaler arguments -> scaler="
        )


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
    built = m.build(
        AutoScaleLRConfig,
        given(base_batch_size=base, enable=enable),
        sec,
        keep=frozenset({"base_batch_size"}),
    )
    return None if built is None else ConfigNode(built)
