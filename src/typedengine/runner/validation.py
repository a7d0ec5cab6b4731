"""The one validation pass over a run's parts, for a root config and for the Runner's arguments alike.

:func:`part_issues` is a flat list of checks, each owned by the module that knows the rule. It takes a
:class:`RunParts`: what the Runner was given, each part a config or a built object (the seed's style), or
``RunParts.of(cfg)`` for a root config, so the same rules apply however a run is made. A check that needs
a config skips a built object. The root config runs it from its validator
(:func:`~typedengine.runner.config.cross_field_issues`), the Runner before it creates anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..config.errors import ConfigIssue
from ..config.paths import directory_problem
from ..hooks.choices import DefaultHooksConfig
from ..logs.visualizer import VisualizerConfig
from ..model.fsdp import FSDPConfig
from ..model.wrapping import DDPConfig, NoWrapperConfig
from .compile import CompileConfig
from .env import EnvConfig, resolve_device_type

if TYPE_CHECKING:
    from .config import RunnerConfig

__all__ = [
    "SINGLETON_HOOK_SLOTS",
    "RunParts",
    "part_issues",
    "path_issues",
    "path_problem",
    "phase_issues",
    "singleton_hook_issues",
]


@dataclass(frozen=True)
class RunParts:
    """What a run was given, as the Runner receives it: each part a config, a built object or None.

    The checks in :func:`part_issues` accept both (a check that needs a config skips a built object);
    ``RunParts.of(cfg)`` views a root config this way.
    """

    work_dir: object = None
    train_dataloader: object = None
    val_dataloader: object = None
    test_dataloader: object = None
    train: object = None
    optim_wrapper: object = None
    param_scheduler: Sequence[object] = ()
    val_evaluator: object = None
    test_evaluator: object = None
    default_hooks: object = None
    custom_hooks: Sequence[object] = ()
    model_wrapper: object = None
    env: object = None
    visualizer: object = None
    compile: object = None
    load_from: object = None
    resume: object = False

    @classmethod
    def of(cls, cfg: RunnerConfig) -> RunParts:
        """The parts of a root config."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls)})


def part_issues(parts: RunParts, *, filesystem: bool) -> list[ConfigIssue]:
    """Every cross-part problem of a run: the one validation pass, for a root config and for the Runner's
    arguments alike. A flat list of calls; each rule lives in the module that owns the concept."""
    issues: list[ConfigIssue] = []
    issues.extend(phase_issues(parts))
    issues.extend(singleton_hook_issues(parts.default_hooks, parts.custom_hooks))
    if filesystem:
        issues.extend(path_issues(parts.work_dir, parts.load_from, parts.resume))
    issues.extend(_device_issues(parts))
    issues.extend(_ema_sharding_issues(parts))
    issues.extend(_visualizer_issues(parts))
    issues.extend(_compile_issues(parts))
    return issues


def phase_issues(parts: RunParts) -> list[ConfigIssue]:
    """Each phase gets all of its parts or none: training, validation, testing; schedulers need an optimizer."""
    issues: list[ConfigIssue] = []
    _all_or_none(
        issues,
        {"train_dataloader": parts.train_dataloader, "train": parts.train, "optim_wrapper": parts.optim_wrapper},
        "training",
    )
    _all_or_none(issues, {"val_dataloader": parts.val_dataloader, "val_evaluator": parts.val_evaluator}, "validation")
    _all_or_none(issues, {"test_dataloader": parts.test_dataloader, "test_evaluator": parts.test_evaluator}, "testing")
    if parts.param_scheduler and parts.optim_wrapper is None:
        issues.append(ConfigIssue("param_scheduler", "schedulers need an optim_wrapper"))
    return issues


def _all_or_none(issues: list[ConfigIssue], parts: dict[str, object], what: str) -> None:
    given = [name for name, v in parts.items() if v is not None]
    if given and len(given) != len(parts):
        missing = [name for name in parts if name not in given]
        issues.append(
            ConfigIssue(missing[0], f"{what} needs {', '.join(parts)} together; {', '.join(missing)} missing")
        )


SINGLETON_HOOK_SLOTS: Final = ("runtime_info", "timer", "sampler_seed", "logger", "param_scheduler", "ema")
"""Default-hook slots whose hook must run at most once: a second one would step the schedulers twice,
average the weights twice, or log every line twice. Two checkpoint or early-stopping hooks can be meant
(other directories, other metrics) and stay allowed."""


def _hook_modules(slot: str) -> set[str]:
    """The modules defining the hook of ``slot`` (a hook config and its hook live in one module)."""
    from ..config.annotations import model_options

    field = DefaultHooksConfig.model_fields[slot]
    return {m.__module__ for m in model_options(field.annotation)}


def _slot_of(hook: object, modules: Mapping[str, set[str]]) -> str | None:
    """The singleton slot a hook or hook config fills (by the module of its class or a base), or None."""
    for klass in type(hook).__mro__:
        for slot, owners in modules.items():
            if klass.__module__ in owners:
                return slot
    return None


def singleton_hook_issues(default_hooks: object, custom_hooks: Sequence[object]) -> list[ConfigIssue]:
    """A hook of a :data:`SINGLETON_HOOK_SLOTS` kind configured twice (a default slot and a custom hook, or
    two custom hooks) is refused, naming every place it is configured. Built hooks count by their class."""
    modules = {slot: _hook_modules(slot) for slot in SINGLETON_HOOK_SLOTS}
    places: dict[str, list[str]] = {slot: [] for slot in SINGLETON_HOOK_SLOTS}
    slots: Mapping[object, object] = {}
    if default_hooks is None:
        default_hooks = DefaultHooksConfig()
    if isinstance(default_hooks, DefaultHooksConfig):
        slots = {name: getattr(default_hooks, name) for name in type(default_hooks).model_fields}
    elif isinstance(default_hooks, Mapping):  # MMEngine style: merged over the defaults
        defaults = DefaultHooksConfig()
        slots = {name: default_hooks.get(name, getattr(defaults, name)) for name in type(defaults).model_fields}
    for name, value in slots.items():
        if value is not None and name in places:
            places[str(name)].append(f"default_hooks.{name}")
    for i, hook in enumerate(custom_hooks):
        slot = _slot_of(hook, modules)
        if slot is not None:
            places[slot].append(f"custom_hooks[{i}]")
    return [
        ConfigIssue(where[-1], f"a second {slot} hook (also at {', '.join(where[:-1])}) would run twice; keep one")
        for slot, where in places.items()
        if len(where) > 1
    ]


def path_problem(field: str, value: object) -> str | None:
    """What is wrong on disk with path field ``field`` (``work_dir``, ``load_from``, ``resume``), or None.

    ``work_dir`` must be (or be creatable as) a directory; ``load_from`` / ``resume`` must look like a file
    their loader reads (a header check owned by :func:`typedengine.checkpoint.io.checkpoint_problem`).
    """
    from ..checkpoint.io import checkpoint_problem

    if not isinstance(value, (str, Path)):
        return None  # resume=True/False, load_from=None
    if field == "work_dir":
        return directory_problem(value)
    if field in ("load_from", "resume"):
        problem = checkpoint_problem(value, field)
        return None if problem is None else f"{value}: {problem}"
    return None


def path_issues(work_dir: object, load_from: object, resume: object) -> list[ConfigIssue]:
    """Filesystem problems of the run's paths (see :func:`path_problem`)."""
    found = [(name, path_problem(name, value)) for name, value in
             (("work_dir", work_dir), ("load_from", load_from), ("resume", resume))]  # fmt: skip
    return [ConfigIssue(name, problem) for name, problem in found if problem is not None]


def _device_issues(parts: RunParts) -> list[ConfigIssue]:
    """Optim and model wrappers that need a device the run does not have (float16 AMP, SyncBatchNorm)."""
    from ..model.wrapping import check_model_wrapper
    from ..optim.amp import AmpOptimWrapperConfig
    from ..optim.checks import check_optim_wrapper
    from ..optim.wrapper import OptimWrapperConfig
    from ..optim.wrapper_dict import OptimWrapperDictConfig

    optim = parts.optim_wrapper
    optim_cfg = optim if isinstance(optim, (OptimWrapperConfig, AmpOptimWrapperConfig, OptimWrapperDictConfig)) else None
    wrapper = parts.model_wrapper if parts.model_wrapper is not None else DDPConfig()
    wrapper_cfg = wrapper if isinstance(wrapper, (NoWrapperConfig, DDPConfig, FSDPConfig)) else None
    device = parts.env.device if isinstance(parts.env, EnvConfig) else "auto"
    # resolving "auto" imports torch (CUDA probe): only do it when a device-dependent feature is configured
    wrappers: list[object] = [optim_cfg]
    if isinstance(optim_cfg, OptimWrapperDictConfig):
        wrappers = list(optim_cfg.wrappers.values())
    matters = (
        device != "auto"
        or any(isinstance(w, AmpOptimWrapperConfig) for w in wrappers)
        or (isinstance(wrapper_cfg, DDPConfig) and wrapper_cfg.sync_bn)
    )
    device_type = resolve_device_type(device) if matters else "cpu"
    issues: list[ConfigIssue] = []
    if optim_cfg is not None:
        issues.extend(check_optim_wrapper(optim_cfg, device_type=device_type))
    if wrapper_cfg is not None:
        issues.extend(check_model_wrapper(wrapper_cfg, device_type=device_type))
    return issues


def _ema_sharding_issues(parts: RunParts) -> list[ConfigIssue]:
    """EMA keeps unsharded copies of the weights: not with model_wrapper fsdp (yet)."""
    from ..hooks.ema import EMAHookConfig

    if not isinstance(parts.model_wrapper, FSDPConfig):
        return []
    ema_paths = [f"custom_hooks[{i}]" for i, h in enumerate(parts.custom_hooks) if isinstance(h, EMAHookConfig)]
    if isinstance(parts.default_hooks, DefaultHooksConfig) and parts.default_hooks.ema is not None:
        ema_paths.insert(0, "default_hooks.ema")
    return [ConfigIssue(path, "the EMA hook does not support model_wrapper fsdp yet") for path in ema_paths]


def _visualizer_issues(parts: RunParts) -> list[ConfigIssue]:
    from ..logs.visualizer import check_visualizer

    return check_visualizer(parts.visualizer) if isinstance(parts.visualizer, VisualizerConfig) else []


def _compile_issues(parts: RunParts) -> list[ConfigIssue]:
    if not isinstance(parts.compile, CompileConfig):
        return []
    from .compile import check_compile

    return check_compile(parts.compile, path="compile")
