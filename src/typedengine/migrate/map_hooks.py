"""Map ``default_hooks``, ``custom_hooks``, ``log_processor`` and ``visualizer``.

MMEngine's default-hook slots (``timer``, ``logger``, ``param_scheduler``, ``checkpoint``,
``sampler_seed``, ``runtime_info``) become :class:`~typedengine.hooks.choices.DefaultHooksConfig` slots;
``None`` switches a slot off in both. Built-in hooks in ``custom_hooks`` become the matching typedengine
hook configs; a hook type typedengine does not have (a downstream visualization hook, your own hook) is
listed, with its dict, as not migrated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ..hooks.check_invalid_loss import CheckInvalidLossHookConfig
from ..hooks.checkpoint import CheckpointHookConfig
from ..hooks.choices import DefaultHooksConfig
from ..hooks.early_stopping import EarlyStoppingHookConfig
from ..hooks.ema import EMAHookConfig
from ..hooks.empty_cache import EmptyCacheHookConfig
from ..hooks.logger import LoggerHookConfig
from ..hooks.param_scheduler import ParamSchedulerHookConfig
from ..hooks.profiler import ProfilerHookConfig, ProfilerScheduleConfig
from ..hooks.runtime_info import RuntimeInfoHookConfig
from ..hooks.sampler_seed import DistSamplerSeedHookConfig
from ..hooks.sync_buffers import SyncBuffersHookConfig
from ..hooks.timer import IterTimerHookConfig
from ..logs.backends.local import LocalBackendConfig
from ..logs.backends.mlflow import MlflowBackendConfig
from ..logs.backends.tensorboard import TensorboardBackendConfig
from ..logs.backends.wandb import WandbBackendConfig
from ..logs.processor import LogProcessorConfig, SmoothingConfig
from ..logs.visualizer import VisualizerConfig
from .experiment import ConfigNode
from .map_common import MISSING, Mapping, Section, given, show, type_name
from .values import Location, Value

__all__ = ["map_custom_hooks", "map_default_hooks", "map_log_processor", "map_visualizer"]

_SLOTS = {
    "runtime_info": "RuntimeInfoHook", "timer": "IterTimerHook", "sampler_seed": "DistSamplerSeedHook",
    "logger": "LoggerHook", "param_scheduler": "ParamSchedulerHook", "checkpoint": "CheckpointHook",
}  # fmt: skip
_PRIORITIES = {"HIGHEST": 0, "VERY_HIGH": 10, "HIGH": 30, "ABOVE_NORMAL": 40, "NORMAL": 50, "BELOW_NORMAL": 60,
               "LOW": 70, "VERY_LOW": 90, "LOWEST": 100}  # fmt: skip
_HOOK_PRIORITY = {  # MMEngine's (and typedengine's) priority of each hook
    "RuntimeInfoHook": 10, "IterTimerHook": 50, "DistSamplerSeedHook": 50, "LoggerHook": 60,
    "ParamSchedulerHook": 70, "CheckpointHook": 90, "EMAHook": 50, "EarlyStoppingHook": 100,
    "EmptyCacheHook": 50, "SyncBuffersHook": 50, "CheckInvalidLossHook": 50, "ProfilerHook": 90,
}  # fmt: skip


def map_default_hooks(
    m: Mapping, value: Value, where: Location, *, iter_based: bool
) -> tuple[ConfigNode | None, list[BaseModel]]:
    """The default-hook slots, and hooks given as extra default_hooks entries (they join custom_hooks).

    ``value`` may be an empty dict (the config keeps MMEngine's defaults); ``iter_based``: the train loop is
    an IterBasedTrainLoop, where an epoch-counted checkpoint hook means one save at the end.
    """
    sec = m.section(value, "default_hooks", where)
    if sec is None:
        return None, []
    slots: dict[str, object] = {}
    extra: list[BaseModel] = []
    for name in [str(k) for k in sec.data]:
        raw = sec.take(name)
        key = sec.key(name)
        if raw is None:
            if name in _SLOTS:
                slots[name] = None
            else:
                m.default(sec.where(name), key, None)
            continue
        hook = _hook(m, raw, key, sec.where(name))
        if hook is None:
            continue
        mm_type = _mm_type(raw)
        in_slot = name in _SLOTS and mm_type == _SLOTS[name]
        if in_slot or (name, mm_type) in (("ema", "EMAHook"), ("early_stopping", "EarlyStoppingHook")):
            slots[name] = hook
        else:
            extra.append(hook)
            m.translated(sec.where(name), key, f"{mm_type} as a default hook -> custom_hooks (same priority)")
    if iter_based:
        _checkpoint_in_iteration_run(m, sec, slots)
    built = m.build(DefaultHooksConfig, slots, sec)
    if built is None or not built.model_fields_set:
        return None, extra
    return ConfigNode(built), extra


def _checkpoint_in_iteration_run(m: Mapping, sec: Section, slots: dict[str, object]) -> None:
    """An IterBasedTrainLoop runs one "epoch", so MMEngine's epoch-counted CheckpointHook (its default)
    saves once, at the end (if the interval divides 1 or save_last). typedengine refuses an epoch cadence
    in an iteration run, so the same saves are written as an iteration cadence: no periodic saves, the
    last iteration saved when MMEngine would save."""
    ckpt = slots.get("checkpoint", CheckpointHookConfig())
    if not isinstance(ckpt, CheckpointHookConfig) or not ckpt.by_epoch:
        return
    saves = ckpt.save_last or (
        ckpt.interval > 0 and ckpt.save_begin <= 1 and (1 - ckpt.save_begin) % ckpt.interval == 0
    )
    explicit = {name: getattr(ckpt, name) for name in ckpt.model_fields_set if name != "type"}
    slots["checkpoint"] = CheckpointHookConfig(
        **{**explicit, "by_epoch": False, "interval": -1, "save_last": saves}
    )
    where = sec.where("checkpoint") if sec.has("checkpoint") else sec.where()
    m.translated(where, "default_hooks.checkpoint",
                 "counted in epochs under IterBasedTrainLoop: MMEngine saves once, at the end (epoch_1.pth); "
                 f"written as by_epoch=False, interval=-1, save_last={saves} (iter_<max_iters>.pth)")  # fmt: skip


def map_custom_hooks(m: Mapping, value: Value, where: Location) -> list[BaseModel]:
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[BaseModel] = []
    for i, item in enumerate(items):
        hook = _hook(m, item, f"custom_hooks[{i}]", where)
        if hook is not None:
            out.append(hook)
    return out


def _mm_type(value: Value) -> str:
    return type_name(value) or "?"


def _hook(m: Mapping, value: Value, key: str, where: Location) -> BaseModel | None:
    sec = m.section(value, key, where)
    if sec is None:
        return None
    kind = sec.take_type() or "?"
    mapper = _HOOKS.get(kind)
    if mapper is None:
        sec.skip(*[str(k) for k in sec.data])
        m.not_migrated(sec.where("type"), key,
                       f"{show(value, 100)}: typedengine has no {kind}; write a te.Hook subclass and pass it to "
                       "Runner(custom_hooks=[...])")  # fmt: skip
        return None
    _priority(m, sec, kind)
    built = mapper(m, sec)
    sec.finish()
    return built


def _priority(m: Mapping, sec: Section, kind: str) -> None:
    value = sec.take("priority")
    if value is MISSING:
        return
    level = _PRIORITIES.get(value.upper()) if isinstance(value, str) else value
    if level == _HOOK_PRIORITY.get(kind):
        m.default(sec.where("priority"), sec.key("priority"), value)
    else:
        m.not_migrated(sec.where("priority"), sec.key("priority"),
                       f"= {show(value)}: typedengine hook configs run at the hook's own priority "
                       f"({_HOOK_PRIORITY.get(kind)}); a different one needs Runner.register_hook(hook, priority=...)")  # fmt: skip


HookMapper = Callable[[Mapping, Section], "BaseModel | None"]


def _no_args(cls: type[BaseModel]) -> HookMapper:
    def mapper(m: Mapping, sec: Section) -> BaseModel | None:
        return m.build(cls, {}, sec)

    return mapper


def _logger(m: Mapping, sec: Section) -> BaseModel | None:
    kwargs = given(interval_iters=sec.take_int("interval"), ignore_last=sec.take_bool("ignore_last"),
                   interval_exp_name_iters=sec.take_int("interval_exp_name"))  # fmt: skip
    if sec.has("log_metric_by_epoch"):
        by_epoch = sec.take("log_metric_by_epoch")
        m.not_migrated(sec.where("log_metric_by_epoch"), sec.key("log_metric_by_epoch"),
                       f"= {by_epoch}: typedengine logs validation scalars at the global training iteration "
                       "(one x-axis for train and val)")  # fmt: skip
    return m.build(LoggerHookConfig, kwargs, sec,
                   keys={"interval_iters": "interval", "interval_exp_name_iters": "interval_exp_name"})  # fmt: skip


def _checkpoint(m: Mapping, sec: Section) -> BaseModel | None:
    out_dir = sec.take_str("out_dir", allow_none=True)
    kwargs = given(
        interval=sec.take_int("interval"), by_epoch=sec.take_bool("by_epoch"), save_begin=sec.take_int("save_begin"),
        max_keep_ckpts=sec.take_int("max_keep_ckpts"), save_last=sec.take_bool("save_last"),
        save_best=sec.take_strs("save_best"), rule=sec.take_strs("rule"), greater_keys=sec.take_strs("greater_keys"),
        less_keys=sec.take_strs("less_keys"), save_optimizer=sec.take_bool("save_optimizer"),
        save_param_scheduler=sec.take_bool("save_param_scheduler"),
        filename_tmpl=sec.take_str("filename_tmpl", allow_none=True), published_keys=sec.take_strs("published_keys"),
    )  # fmt: skip
    if out_dir is not MISSING:
        kwargs["out_dir"] = None if out_dir is None else Path(out_dir)
    for name in ("backend_args", "file_client_args"):
        if sec.has(name) and sec.data[name] is None:
            sec.take(name)
            m.default(sec.where(name), sec.key(name), None)
    return m.build(CheckpointHookConfig, kwargs, sec)


def _ema(m: Mapping, sec: Section) -> BaseModel | None:
    ema_type = sec.take("ema_type")
    if ema_type not in (MISSING, "ExponentialMovingAverage"):
        sec.skip(*[str(k) for k in sec.data])
        m.not_migrated(sec.where("ema_type"), sec.key("ema_type"),
                       f"= {show(ema_type)}: typedengine's EMA hook is the ExponentialMovingAverage; another "
                       "average is not the same run, so no EMA hook is written")  # fmt: skip
        return None
    strict = sec.take("strict_load")
    if strict not in (MISSING, False):
        m.not_migrated(
            sec.where("strict_load"),
            sec.key("strict_load"),
            f"= {strict}: typedengine loads EMA weights by key",
        )
    kwargs = given(momentum=sec.take_float("momentum"), interval=sec.take_int("interval"),
                   update_buffers=sec.take_bool("update_buffers"), begin_iter=sec.take_int("begin_iter"),
                   begin_epoch=sec.take_int("begin_epoch"))  # fmt: skip
    return m.build(EMAHookConfig, kwargs, sec)


def _early_stopping(m: Mapping, sec: Section) -> BaseModel | None:
    kwargs = given(
        monitor=sec.take_str("monitor"), rule=sec.take_str("rule", allow_none=True), min_delta=sec.take_float("min_delta"),
        strict=sec.take_bool("strict"), check_finite=sec.take_bool("check_finite"), patience=sec.take_int("patience"),
        stopping_threshold=sec.take_float("stopping_threshold", allow_none=True),
    )  # fmt: skip
    return m.build(EarlyStoppingHookConfig, kwargs, sec, keep=frozenset({"monitor"}))


def _empty_cache(m: Mapping, sec: Section) -> BaseModel | None:
    kwargs = given(before_epoch=sec.take_bool("before_epoch"), after_epoch=sec.take_bool("after_epoch"),
                   after_iter=sec.take_bool("after_iter"))  # fmt: skip
    return m.build(EmptyCacheHookConfig, kwargs, sec)


def _check_invalid_loss(m: Mapping, sec: Section) -> BaseModel | None:
    return m.build(CheckInvalidLossHookConfig, given(interval_iters=sec.take_int("interval")), sec,
                   keys={"interval_iters": "interval"})  # fmt: skip


def _profiler(m: Mapping, sec: Section) -> BaseModel | None:
    kwargs = given(
        by_epoch=sec.take_bool("by_epoch"), profile_times=sec.take_int("profile_times"),
        activity_with_cpu=sec.take_bool("activity_with_cpu"), activity_with_cuda=sec.take_bool("activity_with_cuda"),
        record_shapes=sec.take_bool("record_shapes"), profile_memory=sec.take_bool("profile_memory"),
        with_stack=sec.take_bool("with_stack"), with_flops=sec.take_bool("with_flops"),
    )  # fmt: skip
    schedule = sec.take_section("schedule")
    if schedule is not None:
        made = m.build(ProfilerScheduleConfig, given(wait=schedule.take_int("wait"), warmup=schedule.take_int("warmup"),
                                                      active=schedule.take_int("active"),
                                                      repeat=schedule.take_int("repeat")), schedule)  # fmt: skip
        schedule.finish("typedengine's profiler schedule has wait, warmup, active and repeat")
        if made is not None:
            kwargs["schedule"] = made
    trace = sec.take_section("on_trace_ready")
    if trace is not None:
        kind = trace.take_type()
        if kind in ("tb_trace", "log_trace"):
            kwargs["trace"] = "tensorboard" if kind == "tb_trace" else "table"
        trace.finish("typedengine writes the trace under <log_dir>/profiler")
    return m.build(ProfilerHookConfig, kwargs, sec)


_HOOKS: dict[str, HookMapper] = {
    "RuntimeInfoHook": _no_args(RuntimeInfoHookConfig), "IterTimerHook": _no_args(IterTimerHookConfig),
    "DistSamplerSeedHook": _no_args(DistSamplerSeedHookConfig), "ParamSchedulerHook": _no_args(ParamSchedulerHookConfig),
    "SyncBuffersHook": _no_args(SyncBuffersHookConfig), "LoggerHook": _logger, "CheckpointHook": _checkpoint,
    "EMAHook": _ema, "EarlyStoppingHook": _early_stopping, "EmptyCacheHook": _empty_cache,
    "CheckInvalidLossHook": _check_invalid_loss, "ProfilerHook": _profiler,
}  # fmt: skip


def map_log_processor(m: Mapping, value: Value, where: Location) -> ConfigNode | None:
    sec = m.section(value, "log_processor", where)
    if sec is None:
        return None
    kind = sec.take_type()
    if kind not in (None, "LogProcessor"):
        m.not_migrated(
            sec.where("type"), "log_processor.type", f"= {kind!r}: typedengine has its LogProcessor only"
        )
    kwargs = given(window_size=sec.take_int("window_size"), by_epoch=sec.take_bool("by_epoch"),
                   num_digits=sec.take_int("num_digits"), mean_pattern=sec.take_str("mean_pattern"))  # fmt: skip
    custom = sec.take("custom_cfg")
    if isinstance(custom, (list, tuple)):
        made: list[SmoothingConfig] = []
        for i, item in enumerate(custom):
            cs = m.section(item, f"log_processor.custom_cfg[{i}]", sec.where("custom_cfg"))
            if cs is None:
                continue
            window = cs.take("window_size")
            entry = m.build(SmoothingConfig, given(key=cs.take_str("data_src"), method=cs.take_str("method_name"),
                                                    window=window, log_name=cs.take_str("log_name", allow_none=True)),
                            cs, keys={"key": "data_src", "method": "method_name", "window": "window_size"},
                            keep=frozenset({"key"}))  # fmt: skip
            cs.finish()
            if entry is not None:
                made.append(entry)
        kwargs["custom"] = tuple(made)
    elif custom not in (MISSING, None):
        m.expect(custom, "log_processor.custom_cfg", sec.where("custom_cfg"), "a list of dicts")
    if sec.has("log_with_hierarchy") and sec.data["log_with_hierarchy"] is False:
        m.default(sec.where("log_with_hierarchy"), "log_processor.log_with_hierarchy", False)
        sec.take("log_with_hierarchy")
    sec.finish()
    built = m.build(LogProcessorConfig, kwargs, sec, keys={"custom": "custom_cfg"})
    return None if built is None or not built.model_fields_set else ConfigNode(built)


def map_visualizer(m: Mapping, value: Value, where: Location) -> ConfigNode | None:
    sec = m.section(value, "visualizer", where)
    if sec is None:
        return None
    kind = sec.take_type()
    if kind not in (None, "Visualizer"):
        m.translated(sec.where("type"), "visualizer.type",
                     f"{kind!r}: its backends are kept; its drawing (add_datasample) belongs to that package")  # fmt: skip
    if sec.has("name"):
        m.default(sec.where("name"), "visualizer.name", sec.take("name"))
    raw = sec.take("vis_backends")
    backends: list[BaseModel] = []
    if raw is MISSING or raw is None:
        raw = []
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    for i, item in enumerate(items):
        backend = _backend(m, item, f"visualizer.vis_backends[{i}]", sec.where("vis_backends"))
        if backend is not None:
            backends.append(backend)
    if sec.has("save_dir"):
        m.not_migrated(sec.where("save_dir"), "visualizer.save_dir", f"= {show(sec.take('save_dir'))}: "
                       "typedengine writes under work_dir/<timestamp>/")  # fmt: skip
    sec.finish("typedengine's visualizer has backends only (drawing settings stay with the task package)")
    built = m.build(VisualizerConfig, {"backends": tuple(backends)}, sec, keys={"backends": "vis_backends"})
    return None if built is None or not built.model_fields_set else ConfigNode(built)


def _backend(m: Mapping, value: Value, key: str, where: Location) -> BaseModel | None:
    sec = m.section(value, key, where)
    if sec is None:
        return None
    kind = sec.take_type()
    built: BaseModel | None
    if kind == "LocalVisBackend":
        built = LocalBackendConfig()
        sec.finish("typedengine's local backend writes work_dir/<timestamp>/scalars.jsonl")
    elif kind == "TensorboardVisBackend":
        built = TensorboardBackendConfig()
        sec.finish("typedengine writes TensorBoard files under work_dir/<timestamp>/tensorboard")
    elif kind == "MLflowVisBackend":
        built = m.build(MlflowBackendConfig, given(tracking_uri=sec.take_str("tracking_uri", allow_none=True),
                                                    experiment_name=sec.take_str("exp_name", allow_none=True),
                                                    run_name=sec.take_str("run_name", allow_none=True)),
                        sec, keys={"experiment_name": "exp_name"})  # fmt: skip
        sec.finish()
    elif kind == "WandbVisBackend":
        built = _wandb(m, sec)
    else:
        sec.skip(*[str(k) for k in sec.data])
        m.not_migrated(
            sec.where("type"),
            key,
            f"{show(value)}: typedengine has local, tensorboard, mlflow and wandb backends",
        )
        return None
    return built


def _wandb(m: Mapping, sec: Section) -> BaseModel | None:
    init = sec.take_section("init_kwargs")
    kwargs: dict[str, object] = {"mode": "online"}
    if init is not None:
        kwargs.update(
            given(
                project=init.take_str("project", allow_none=True), name=init.take_str("name", allow_none=True)
            )
        )
        mode = init.take_str("mode")
        if mode is not MISSING:
            kwargs["mode"] = mode
        init.finish("typedengine's W&B backend sets project, name and mode")
    m.translated(
        sec.where("type"),
        sec.path,
        "WandbVisBackend -> mode='online' (wandb.init's default; typedengine's is offline)",
    )
    sec.finish()
    return m.build(WandbBackendConfig, kwargs, sec, keep=frozenset({"mode"}))
