"""Runner: builds a run's parts (lazily) and drives the train / val / test loops through the hooks.

Two ways to make one:

- ``Runner.from_config(cfg)`` from a :class:`~typedengine.runner.config.RunnerConfig` (validated up front);
- ``Runner(model=..., work_dir=..., train_dataloader=..., ...)`` where every argument is either a built
  object (a ``DataLoader``, an ``OptimWrapper``, a ``Hook``, a ``BaseMetric``) or its config — the seed's
  style. A config is built only when the phase that needs it runs: ``train()`` builds the train (and val)
  parts; ``val()`` and ``test()`` work alone.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, Literal, ParamSpec, Protocol, TypeVar

import torch
from torch import nn
from torch.utils.data import DataLoader
from typing_extensions import Self

from ..checkpoint.preemption import Preempted, PreemptionHandler
from ..config.errors import ConfigError, ConfigIssue
from ..data.dataloader import DataLoaderConfig
from ..data.dataset import DatasetConfig
from ..distributed import ops as dist_ops
from ..errors import reported
from ..evaluation.evaluator import Evaluator, EvaluatorConfig
from ..evaluation.metric import BaseMetric, MetricConfig
from ..hooks.hook import HOOK_POINTS, Hook
from ..hooks.priority import Priority, get_priority
from ..logs.console import log_detail
from ..loops.base import BaseTrainLoop, BaseTrainLoopConfig
from ..loops.evaluation import TestLoop, TestLoopConfig, ValLoop, ValLoopConfig
from ..model.base import BaseModel
from ..model.config import ModelConfig
from .env import EnvConfig
from .randomness import RandomnessConfig, set_random_seed
from .state import RunState

if TYPE_CHECKING:
    from ..checkpoint.discovery import CheckpointPlaces
    from ..logs.history import MessageHub
    from ..logs.processor import LogProcessor, LogProcessorConfig
    from ..logs.visualizer import Visualizer, VisualizerConfig
    from ..optim.auto_scale_lr import AutoScaleLRConfig
    from ..optim.schedulers.base import ParamScheduler
    from ..optim.schedulers.choices import ParamSchedulerConfig
    from ..optim.wrapper import OptimWrapper
    from ..optim.wrapper_dict import OptimWrapperDict
    from .compile import CompileConfig
    from .config import RunnerConfig
    from .validation import RunParts

__all__ = ["Runner"]


class _Buildable(Protocol):
    def build(self) -> object: ...


class _BuildsOptimWrapper(Protocol):
    def build(self, model: nn.Module) -> object: ...


EvaluatorLike = Evaluator | BaseMetric | Sequence[BaseMetric] | EvaluatorConfig[MetricConfig] | MetricConfig
DataLoaderLike = DataLoader[object] | DataLoaderConfig[DatasetConfig]


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _uninstall_signals_on_failure(
    init: Callable[Concatenate[Runner, _P], None],
) -> Callable[Concatenate[Runner, _P], None]:
    """``Runner.__init__`` installs the run's signal handler first; a failure later in ``__init__``
    removes it."""

    @functools.wraps(init)
    def wrapper(self: Runner, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            init(self, *args, **kwargs)
        except BaseException:
            handler = self.__dict__.get("preemption")
            if isinstance(handler, PreemptionHandler):
                handler.uninstall()
            raise

    return wrapper


def _signal_phase(method: Callable[Concatenate[Runner, _P], _R]) -> Callable[Concatenate[Runner, _P], _R]:
    """``train``/``val``/``test``: the run's signal handler is in place for the phase (and, inside a
    ``with`` block, until ``close``); see :mod:`typedengine.checkpoint.preemption`."""

    @functools.wraps(method)
    def wrapper(self: Runner, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        self._begin_signal_phase()
        try:
            return method(self, *args, **kwargs)
        finally:
            self._end_signal_phase()

    return wrapper


class Runner:
    """Drives training, validation and testing (see the module docstring for the two ways to build one).

    Attributes hooks rely on: ``state`` (:class:`RunState`), ``model`` (maybe DDP-wrapped),
    ``unwrapped_model``, ``optim_wrapper``, ``param_schedulers``, ``train_loop``/``val_loop``/``test_loop``,
    ``work_dir``, ``log_dir``, ``timestamp``, ``experiment_name``, ``seed``, ``device``, ``rank``,
    ``world_size``, ``message_hub``, ``visualizer``, ``logger``, ``config``.
    """

    @reported
    @_uninstall_signals_on_failure
    def __init__(
        self,
        model: BaseModel | ModelConfig,
        work_dir: str | Path,
        *,
        train_dataloader: DataLoaderLike | None = None,
        val_dataloader: DataLoaderLike | None = None,
        test_dataloader: DataLoaderLike | None = None,
        train: BaseTrainLoopConfig | None = None,
        val: ValLoopConfig | None = None,
        test: TestLoopConfig | None = None,
        optim_wrapper: OptimWrapper | OptimWrapperDict | _BuildsOptimWrapper | None = None,
        param_scheduler: Sequence[ParamScheduler | ParamSchedulerConfig] = (),
        auto_scale_lr: AutoScaleLRConfig | None = None,
        val_evaluator: EvaluatorLike | None = None,
        test_evaluator: EvaluatorLike | None = None,
        default_hooks: object | None = None,
        custom_hooks: Sequence[Hook | _Buildable] = (),
        data_preprocessor: _Buildable | nn.Module | None = None,
        model_wrapper: object | None = None,
        load_from: str | Path | None = None,
        resume: bool | str | Path = False,
        resume_force: bool = False,
        launcher: Literal["none", "pytorch", "slurm", "auto"] = "auto",
        env: EnvConfig | None = None,
        log_processor: LogProcessorConfig | None = None,
        log_level: str = "INFO",
        visualizer: VisualizerConfig | Visualizer | None = None,
        randomness: RandomnessConfig | None = None,
        experiment_name: str | None = None,
        compile: CompileConfig | None = None,
        config: RunnerConfig | None = None,
    ) -> None:
        from ..checkpoint.writer import CheckpointWriter
        from ..distributed.process_group import init_distributed
        from .validation import RunParts

        # -- validation first: nothing (thread, process group, directory) is created before it passes ---------
        if config is None:  # from_config re-validated the whole config, filesystem included
            self._check_parts(
                RunParts(
                    work_dir=work_dir, train_dataloader=train_dataloader, val_dataloader=val_dataloader,
                    test_dataloader=test_dataloader, train=train, optim_wrapper=optim_wrapper,
                    param_scheduler=tuple(param_scheduler), val_evaluator=val_evaluator,
                    test_evaluator=test_evaluator, default_hooks=default_hooks, custom_hooks=tuple(custom_hooks),
                    model_wrapper=model_wrapper, env=env, visualizer=visualizer, compile=compile,
                    load_from=load_from, resume=resume,
                ),
                model=model,
                data_preprocessor=data_preprocessor,
            )  # fmt: skip

        # then: a signal from here on stops the run with exit code 75 (checkpoint/preemption.py)
        self.preemption = PreemptionHandler(phase="startup")
        self.preemption.install()
        self._entered = False
        self.config = config
        self._compile = compile
        self.checkpoint_writer = CheckpointWriter(background=True)
        env = env or EnvConfig()
        randomness = randomness or RandomnessConfig()
        self.state = RunState()

        # -- environment, processes, seed ------------------------------------------------------------------
        if env.num_threads is not None:
            torch.set_num_threads(env.num_threads)
        if env.cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        if env.mp_start_method is not None:
            import multiprocessing

            if multiprocessing.get_start_method(allow_none=True) != env.mp_start_method:
                multiprocessing.set_start_method(env.mp_start_method, force=True)
        # joining blocks in C++ until every peer arrives; nothing is written before the log dir below
        with self.preemption.exit_on_signal("waiting for the other processes to join"):
            dist_info = init_distributed(launcher, env.dist, device=env.device)
            self._owns_process_group = dist_info.world_size > 1
            self.rank: int = dist_info.rank
            self.world_size: int = dist_info.world_size
            self.device: torch.device = dist_info.device
            self.seed: int = set_random_seed(
                randomness.seed,
                deterministic=randomness.deterministic,
                diff_rank_seed=randomness.diff_rank_seed,
            )
            self.timestamp: str = dist_ops.broadcast_object(time.strftime("%Y%m%d_%H%M%S", time.localtime()))

        # -- work_dir, logging -----------------------------------------------------------------------------
        self.work_dir = Path(work_dir).absolute()
        self.experiment_name = f"{experiment_name}_{self.timestamp}" if experiment_name else self.timestamp
        self.log_dir = self.work_dir / self.timestamp
        if self.rank == 0:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        self._init_logging(log_processor, log_level, visualizer)
        if dist_info.note is not None:
            self.logger.warning(dist_info.note)

        # -- model -------------------------------------------------------------------------------------------
        built = model.build() if isinstance(model, ModelConfig) else model
        if not isinstance(built, nn.Module):
            raise TypeError(f"model must build an nn.Module, got {type(built).__name__}")
        if data_preprocessor is not None:
            pre = data_preprocessor if isinstance(data_preprocessor, nn.Module) else data_preprocessor.build()
            if not isinstance(pre, nn.Module):
                raise TypeError("data_preprocessor must build an nn.Module")
            built.data_preprocessor = pre
        built.to(self.device)
        self.unwrapped_model: nn.Module = built
        self.model: nn.Module = self._wrap_model(built, model_wrapper)

        # -- parts built lazily --------------------------------------------------------------------------------
        self._train_dataloader_spec = train_dataloader
        self._val_dataloader_spec = val_dataloader
        self._test_dataloader_spec = test_dataloader
        self._train_spec = train
        self._val_spec = val or ValLoopConfig()
        self._test_spec = test or TestLoopConfig()
        self._optim_wrapper_spec = optim_wrapper
        self._param_scheduler_spec = tuple(param_scheduler)
        self._auto_scale_lr = auto_scale_lr
        self._val_evaluator_spec = val_evaluator
        self._test_evaluator_spec = test_evaluator
        self._train_loop: BaseTrainLoop | None = None
        self._val_loop: ValLoop | None = None
        self._test_loop: TestLoop | None = None
        self.optim_wrapper: OptimWrapper | OptimWrapperDict | None = None
        self.param_schedulers: list[ParamScheduler] = []
        self.load_from = Path(load_from) if load_from is not None else None
        self.resume_from: bool | Path = resume if isinstance(resume, bool) else Path(resume)
        self.resume_force = resume_force
        self._has_loaded = False

        # -- hooks ---------------------------------------------------------------------------------------------
        self._hooks: list[tuple[int, int, Hook]] = []
        self._dispatch: dict[str, list[Callable[..., None]]] = {}
        self._register_default_hooks(default_hooks)
        for h in custom_hooks:
            self.register_hook(h if isinstance(h, Hook) else _build_hook(h), priority=_config_priority(h))
        log_detail(self.logger, "Hooks will be executed in the following order:\n" + self.hook_table())
        self._record_config()
        self._stop_if_signalled(close=True)  # the caller gets no runner to close
        self.preemption.uninstall()  # between __init__ and a phase, the caller's own handlers apply

    # ------------------------------------------------------------------------------------------------------
    @classmethod
    @reported
    def from_config(cls, cfg: RunnerConfig) -> Runner:
        """Build a runner from a root config (nothing heavy is built until a phase runs).

        The config is validated again first, in full and with the filesystem checks (``work_dir``,
        ``load_from``, ``resume``): one made with ``model_copy(update=...)`` skipped pydantic's checks.
        The config ``te.cli()`` returned has passed that pass already and is not checked twice.
        """
        from ..config.deferred import revalidate
        from ..config.paths import CHECK_FILESYSTEM, checked_for_run

        if not checked_for_run(cfg):
            cfg = revalidate(cfg, context={CHECK_FILESYSTEM: True}, source="the config")
        return cls(
            model=cfg.model,
            work_dir=cfg.work_dir,
            train_dataloader=cfg.train_dataloader,
            val_dataloader=cfg.val_dataloader,
            test_dataloader=cfg.test_dataloader,
            train=cfg.train,
            val=cfg.val,
            test=cfg.test,
            optim_wrapper=cfg.optim_wrapper,
            param_scheduler=cfg.param_scheduler,
            auto_scale_lr=cfg.auto_scale_lr,
            val_evaluator=cfg.val_evaluator,
            test_evaluator=cfg.test_evaluator,
            default_hooks=cfg.default_hooks,
            custom_hooks=cfg.custom_hooks,
            data_preprocessor=cfg.data_preprocessor,
            model_wrapper=cfg.model_wrapper,
            load_from=cfg.load_from,
            resume=cfg.resume,
            resume_force=cfg.resume_force,
            launcher=cfg.launcher,
            env=cfg.env,
            log_processor=cfg.log_processor,
            log_level=cfg.log_level,
            visualizer=cfg.visualizer,
            randomness=cfg.randomness,
            experiment_name=cfg.experiment_name,
            compile=cfg.compile,
            config=cfg,
        )

    # -- lifetime ---------------------------------------------------------------------------------------------
    def close(self, *, synchronize: bool | None = None) -> None:
        """Flush the checkpoint writer, leave the process group this runner joined, close the backends.

        ``synchronize`` (default: no exception is being handled) leaves the group in order, rank 0 last,
        so no rank tears its connections down while another is still finishing its last collective
        (see :func:`~typedengine.distributed.process_group.leave_distributed`); after a failure the group is
        destroyed at once: a peer may be gone, and waiting would only delay the error. A preemption
        (:class:`~typedengine.checkpoint.preemption.Preempted`, agreed by every rank) counts as a clean end.
        """
        import sys

        from ..distributed.failure import PeerFailureError, skip_final_collection
        from ..distributed.process_group import destroy_distributed, leave_distributed

        if synchronize is None:
            active = sys.exc_info()[1]
            synchronize = active is None or isinstance(active, Preempted)
        try:
            self.checkpoint_writer.close()
        finally:
            try:
                if self._owns_process_group:
                    self._owns_process_group = False
                    if synchronize:
                        leave_distributed()
                    else:
                        failure = sys.exc_info()[1]
                        destroy_distributed(failure)
                        if isinstance(failure, PeerFailureError):
                            skip_final_collection()  # the peers wait for this process's end: exit at once
                self.visualizer.close()
            finally:
                # the run's signal handler goes last: a signal while closing still ends with exit code 0
                self._end_signal_phase(closing=True)

    def __enter__(self) -> Self:
        # in a with block the run's signal handler stays until close(): a signal after the end is exit 0
        self._entered = True
        self.preemption.install()
        return self

    def _stop_if_signalled(self, *, close: bool = False) -> None:
        """A start-up safe point: every rank stops with exit code 75 if any rank was signalled."""
        try:
            self.preemption.raise_if_requested(world_size=self.world_size)
        except Preempted as stop:
            self.logger.warning(f"{stop.signal_name} during start-up: nothing to save; exiting with code 75")
            if close:
                self.close(synchronize=True)
            raise

    def _begin_signal_phase(self) -> None:
        self.preemption.install()
        self.preemption.phase = "startup"
        self.preemption.total_steps = None

    def _end_signal_phase(self, *, closing: bool = False) -> None:
        handler = self.preemption
        if handler.phase == "finished" and handler.requested:
            self.logger.warning(
                f"{handler.signal_name} arrived after the run had finished; it is complete (exit code 0, "
                "nothing to resume)"
            )
            handler.clear()
        if closing or not self._entered:
            handler.uninstall()

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(synchronize=exc_type is None or issubclass(exc_type, Preempted))

    # -- set-up helpers ----------------------------------------------------------------------------------------
    def _init_logging(
        self, log_processor: LogProcessorConfig | None, log_level: str, visualizer: VisualizerConfig | Visualizer | None
    ) -> None:
        from ..logs.console import create_logger, env_summary
        from ..logs.history import MessageHub
        from ..logs.processor import LogProcessorConfig
        from ..logs.visualizer import Visualizer, VisualizerConfig

        log_file = self.log_dir / f"{self.timestamp}.log" if self.rank == 0 else None
        self.logger = create_logger("typedengine", log_file=log_file, rank=self.rank, level=log_level)
        self.message_hub: MessageHub = MessageHub()
        self.log_processor: LogProcessor = (log_processor or LogProcessorConfig()).build()
        if isinstance(visualizer, Visualizer):
            self.visualizer: Visualizer = visualizer
        else:
            self.visualizer = (visualizer or VisualizerConfig()).build(save_dir=self.log_dir, rank=self.rank)
        self.logger.info(
            env_summary(seed=self.seed, world_size=self.world_size, device=str(self.device))
        )

    def _record_config(self) -> None:
        from .command import reproduce_command

        command = reproduce_command()
        data: dict[str, object] = self.config.model_dump(mode="json") if self.config is not None else {}
        self.visualizer.add_config(data, command)
        if self.config is not None:
            log_detail(self.logger, "Config:\n" + self.config.model_dump_json(indent=2))

    def _wrap_model(self, model: nn.Module, wrapper: object | None) -> nn.Module:
        from ..model.wrapping import DDPConfig

        if self.world_size == 1:
            return model
        if wrapper is None:
            wrapper = DDPConfig()
        build = getattr(wrapper, "build", None)
        if build is None:
            raise TypeError(f"model_wrapper must be a wrapper config, got {type(wrapper).__name__}")
        wrapped = build(model, self.device)
        assert isinstance(wrapped, nn.Module)
        return wrapped

    def _check_parts(self, parts: RunParts, *, model: object, data_preprocessor: object) -> None:
        """The Runner's validation pass over what it was given (configs or built objects), before it creates
        anything: the root config's cross-part checks (:func:`~typedengine.runner.validation.part_issues`,
        paths included) plus the kinds of the built objects. Raises one :class:`ConfigError` listing them all."""
        from ..hooks.choices import DefaultHooksConfig
        from ..optim.wrapper import OptimWrapper
        from ..optim.wrapper_dict import OptimWrapperDict
        from .validation import part_issues

        issues = part_issues(parts, filesystem=True)
        kinds: list[tuple[str, object, tuple[type, ...], str]] = [
            ("model", model, (nn.Module, ModelConfig), "a typedengine BaseModel or a ModelConfig"),
            ("train_dataloader", parts.train_dataloader, (DataLoader, DataLoaderConfig), "a DataLoader or its config"),
            ("val_dataloader", parts.val_dataloader, (DataLoader, DataLoaderConfig), "a DataLoader or its config"),
            ("test_dataloader", parts.test_dataloader, (DataLoader, DataLoaderConfig), "a DataLoader or its config"),
            ("train", parts.train, (BaseTrainLoopConfig,), "a train loop config (EpochBasedTrainLoopConfig, ...)"),
            ("work_dir", parts.work_dir, (str, Path), "a path"),
        ]
        for name, value, types, what in kinds:
            if value is not None and not isinstance(value, types):
                issues.append(ConfigIssue(name, f"expected {what}, got {type(value).__name__}"))
        buildable = [("optim_wrapper", parts.optim_wrapper), ("data_preprocessor", data_preprocessor)]
        buildable += [(f"custom_hooks[{i}]", h) for i, h in enumerate(parts.custom_hooks) if not isinstance(h, Hook)]
        built = (nn.Module, OptimWrapper, OptimWrapperDict)
        for name, value in buildable:
            if value is not None and not isinstance(value, built) and not callable(getattr(value, "build", None)):
                issues.append(ConfigIssue(name, f"expected a built object or its config, got {type(value).__name__}"))
        hooks = parts.default_hooks
        if isinstance(hooks, Mapping):
            names = list(DefaultHooksConfig.model_fields)
            issues.extend(
                ConfigIssue(f"default_hooks.{key}", f"unknown slot; slots are {', '.join(names)}")
                for key in hooks
                if key not in names
            )
        elif hooks is not None and not isinstance(hooks, DefaultHooksConfig):
            issues.append(ConfigIssue("default_hooks", "expected a DefaultHooksConfig or a mapping of slot to hook"))
        if issues:
            raise ConfigError(issues, "the Runner's arguments")

    # -- hooks ----------------------------------------------------------------------------------------------------
    def _register_default_hooks(self, default_hooks: object | None) -> None:
        from ..hooks.choices import DefaultHooksConfig

        if default_hooks is None:
            default_hooks = DefaultHooksConfig()
        if isinstance(default_hooks, DefaultHooksConfig):
            for cfg in default_hooks.slots():
                if cfg is not None:
                    self.register_hook(_build_hook(cfg), priority=_config_priority(cfg))
            return
        if isinstance(default_hooks, Mapping):
            # MMEngine style: a mapping merged over the defaults; None removes a default
            defaults = DefaultHooksConfig()
            names = list(type(defaults).model_fields)
            unknown = [k for k in default_hooks if k not in names]
            if unknown:
                raise ValueError(f"default_hooks: unknown slot(s) {unknown}; slots are {names}")
            for name in names:
                value = default_hooks.get(name, getattr(defaults, name))
                if value is None:
                    continue
                self.register_hook(value if isinstance(value, Hook) else _build_hook(value), priority=_config_priority(value))
            return
        raise TypeError("default_hooks must be a DefaultHooksConfig or a mapping of slot name to hook/config/None")

    def register_hook(self, hook: Hook, priority: int | str | Priority | None = None) -> None:
        """Add a hook; ``priority`` overrides the hook's own. Ties run in registration order."""
        if not isinstance(hook, Hook):
            raise TypeError(f"hooks must subclass typedengine.Hook, got {type(hook).__name__}")
        level = get_priority(priority if priority is not None else hook.priority)
        self._hooks.append((level, len(self._hooks), hook))
        self._hooks.sort(key=lambda t: (t[0], t[1]))
        self._dispatch = {}
        for point in HOOK_POINTS:
            self._dispatch[point] = [
                getattr(h, point) for _, _, h in self._hooks if point in type(h).triggered_points()
            ]

    @property
    def hooks(self) -> list[Hook]:
        """Registered hooks in call order."""
        return [h for _, _, h in self._hooks]

    def call_hook(self, fn_name: str, **kwargs: object) -> None:
        """Call ``fn_name`` on every hook that implements it, in priority order (custom points work too)."""
        fns = self._dispatch.get(fn_name)
        if fns is None:
            fns = [getattr(h, fn_name) for h in self.hooks if callable(getattr(h, fn_name, None))]
            self._dispatch[fn_name] = fns
        for fn in fns:
            fn(self, **kwargs)

    def hook_table(self) -> str:
        """The per-point hook order, as logged at start-up."""
        lines = []
        for point in HOOK_POINTS:
            entries = [
                f"({Priority(p).name if p in Priority._value2member_map_ else p:<12}) {type(h).__name__}"
                for p, _, h in self._hooks
                if point in type(h).triggered_points()
            ]
            if entries:
                lines.append(f"{point}:\n" + "\n".join(entries))
        return "\n--------------------\n".join(lines)

    # -- lazily built parts --------------------------------------------------------------------------------------
    def _build_dataloader(self, spec: DataLoaderLike | None, *, infinite: bool, what: str) -> DataLoader[object]:
        if spec is None:
            raise RuntimeError(f"no {what} configured")
        if isinstance(spec, DataLoaderConfig):
            # the sampler's seed must be the same on every rank (shards are strided from one permutation);
            # diff_rank_seed changes the global RNG streams, and the worker seeder mixes in the rank
            return spec.build(seed=self.seed, rank=self.rank, world_size=self.world_size, infinite=infinite)
        from ..data.sharding import adapt_user_loader

        # a loader the user built knows nothing of the process group: shard it or refuse (data/sharding.py)
        adapted = adapt_user_loader(
            spec,
            name=what,
            rank=self.rank,
            world_size=self.world_size,
            seed=self.seed,
            training=what == "train_dataloader",
        )
        if adapted.note is not None:
            self.logger.info(adapted.note)
        return adapted.loader

    @property
    def train_dataloader(self) -> DataLoader[object]:
        """The training dataloader (built with the train loop)."""
        return self.train_loop.dataloader

    @property
    def train_loop(self) -> BaseTrainLoop:
        """The train loop, built on first access (builds the train dataloader)."""
        if self._train_loop is None:
            if self._train_spec is None:
                raise RuntimeError("train() needs train_dataloader, train and optim_wrapper")
            dl = self._build_dataloader(
                self._train_dataloader_spec, infinite=not self._train_spec.by_epoch, what="train_dataloader"
            )
            self._train_loop = self._train_spec.build(self, dl)
        return self._train_loop

    @property
    def val_loop_configured(self) -> bool:
        """Whether validation parts were given (the train loop validates only then)."""
        return self._val_dataloader_spec is not None

    @property
    def val_loop(self) -> ValLoop:
        """The validation loop, built on first access."""
        if self._val_loop is None:
            dl = self._build_dataloader(self._val_dataloader_spec, infinite=False, what="val_dataloader")
            evaluator = _build_evaluator(self._val_evaluator_spec)
            self._val_loop = self._val_spec.build(self, dl, evaluator)
        return self._val_loop

    @property
    def test_loop(self) -> TestLoop:
        """The test loop, built on first access."""
        if self._test_loop is None:
            dl = self._build_dataloader(self._test_dataloader_spec, infinite=False, what="test_dataloader")
            evaluator = _build_evaluator(self._test_evaluator_spec)
            self._test_loop = self._test_spec.build(self, dl, evaluator)
        return self._test_loop

    def _build_optim_wrapper(self) -> OptimWrapper | OptimWrapperDict:
        from ..optim.wrapper import OptimWrapper
        from ..optim.wrapper_dict import OptimWrapperDict

        spec = self._optim_wrapper_spec
        if isinstance(spec, (OptimWrapper, OptimWrapperDict)):
            return spec
        build = getattr(spec, "build", None)
        if build is None:
            raise TypeError(f"optim_wrapper must be an OptimWrapper or its config, got {type(spec).__name__}")
        built = build(self.unwrapped_model)
        assert isinstance(built, (OptimWrapper, OptimWrapperDict))
        return built

    def _attach_sharded_model(self, wrapper: OptimWrapper | OptimWrapperDict) -> None:
        """Tell the optim wrapper(s) that the model is FSDP2-sharded (full, named optimizer state dicts)."""
        from ..model.fsdp import is_fully_sharded
        from ..optim.wrapper import OptimWrapper

        if not is_fully_sharded(self.unwrapped_model):
            return
        wrappers = [wrapper] if isinstance(wrapper, OptimWrapper) else list(wrapper.optim_wrappers.values())
        for w in wrappers:
            w.sharded_model = self.unwrapped_model

    def _build_param_schedulers(self, loop: BaseTrainLoop) -> list[ParamScheduler]:
        """Build the scheduler configs on the optim wrapper; the loop's schedule gives the run length and
        the epoch length that ``convert_to_iter_based`` multiplies by."""
        from ..optim.schedulers.base import ParamScheduler
        from ..optim.schedulers.choices import build_param_schedulers

        assert self.optim_wrapper is not None
        objects = [s for s in self._param_scheduler_spec if isinstance(s, ParamScheduler)]
        configs = [s for s in self._param_scheduler_spec if not isinstance(s, ParamScheduler)]
        if configs:
            schedule = loop.schedule
            objects += build_param_schedulers(
                configs,
                self.optim_wrapper,
                epoch_length=schedule.epoch_length or 0,
                max_epochs=schedule.max_epochs,
                max_iters=loop.max_iters,
            )
        return objects

    # -- phases --------------------------------------------------------------------------------------------------
    @reported
    @_signal_phase
    def train(self) -> nn.Module:
        """Train (validating on the loop's cadence); returns the trained (unwrapped) model."""
        if not callable(getattr(self.model, "train_step", None)):
            raise TypeError("the model has no train_step(); subclass typedengine.BaseModel")
        loop = self.train_loop
        self.optim_wrapper = self._build_optim_wrapper()
        self._attach_sharded_model(self.optim_wrapper)
        if self._auto_scale_lr is not None and self._auto_scale_lr.enable:
            self._scale_lr(loop)
        self.param_schedulers = self._build_param_schedulers(loop)
        if self.val_loop_configured:
            _ = self.val_loop
        self.call_hook("before_run")
        init_weights = getattr(self.unwrapped_model, "init_weights", None)
        if callable(init_weights):
            init_weights()
        self.load_or_resume()
        init_counts = getattr(self.optim_wrapper, "initialize_count_status", None)
        if callable(init_counts):
            init_counts(self.model, self.state.iter, loop.max_iters)
        if self._compile is not None and not self._compile.disable:
            from .compile import compile_kwargs, compile_train_step

            compile_train_step(self.model, self._compile)
            self.logger.info(f"torch.compile on the model's forward: {compile_kwargs(self._compile)}")
        self._stop_if_signalled()  # the last safe point before the first iteration
        self.preemption.phase, self.preemption.total_steps = "training", loop.max_iters
        self.preemption.steps_done = lambda: self.state.iter
        try:
            loop.run()
        finally:
            self.flush_checkpoints()
        self.preemption.phase = "finished"  # a signal from now on ends with exit code 0
        self.call_hook("after_run")
        return self.unwrapped_model

    @reported
    @_signal_phase
    def val(self) -> dict[str, float]:
        """Run validation alone (loading ``load_from``/resume weights first); returns the metrics."""
        loop = self.val_loop
        self.call_hook("before_run")
        self.load_or_resume()
        self._stop_if_signalled()
        self.preemption.phase = "evaluating"  # signals act as without a handler (nothing to save)
        metrics = loop.run()
        self.preemption.phase = "finished"
        self.call_hook("after_run")
        return metrics

    @reported
    @_signal_phase
    def test(self) -> dict[str, float]:
        """Run the test set alone (loading ``load_from``/resume weights first); returns the metrics."""
        loop = self.test_loop
        self.call_hook("before_run")
        self.load_or_resume()
        self._stop_if_signalled()
        self.preemption.phase = "evaluating"  # signals act as without a handler (nothing to save)
        metrics = loop.run()
        self.preemption.phase = "finished"
        self.call_hook("after_run")
        return metrics

    def _scale_lr(self, loop: BaseTrainLoop) -> None:
        """auto_scale_lr: multiply every lr by the schedule's factor (before the schedulers are built)."""
        from ..optim.auto_scale_lr import apply_lr_scale

        assert self._auto_scale_lr is not None and self.optim_wrapper is not None
        schedule, base = loop.schedule, self._auto_scale_lr.base_batch_size
        factor = schedule.lr_scale(base)
        apply_lr_scale(self.optim_wrapper, factor)
        self.logger.info(
            f"LR scaled by {factor:.4g} = batch {schedule.batch_size} x world size {schedule.world_size} / "
            f"base_batch_size {base}"
        )

    # -- checkpoints --------------------------------------------------------------------------------------------
    def load_or_resume(self) -> None:
        """Resume (``resume``) or load weights (``load_from``) once, before the first phase runs.

        ``resume=True`` picks the checkpoint as :mod:`typedengine.checkpoint.discovery` describes: the pointer
        when it is sound, else the newest checkpoint that verifies (with a WARNING saying why, and the pointer
        repaired); only a work dir without any checkpoint starts from scratch, and then ``load_from``
        initialises the weights when it is given. A file named explicitly (``resume=PATH``, ``load_from``)
        that cannot be used raises :class:`~typedengine.checkpoint.errors.CheckpointError` naming the
        checkpoints that can. In ``train()``, a checkpoint that already reached the configured end (or whose
        early stopping ended the run) is reported and no iteration runs; ``val()``/``test()`` afterwards
        evaluate the checkpoint's weights.
        """
        if self._has_loaded:
            return
        self._has_loaded = True
        resumed: Path | None = None
        if self.resume_from is True:
            resumed = self._auto_resume()
            if resumed is None and self.load_from is not None:
                self.load_checkpoint(self.load_from)
        elif isinstance(self.resume_from, Path):
            self.resume(self.resume_from)
            resumed = self.resume_from
        elif self.load_from is not None:
            self.load_checkpoint(self.load_from)
        if resumed is not None:
            self._report_finished(resumed)

    def _checkpoint_places(self) -> CheckpointPlaces:
        """Where this run's checkpoints are and how they are named: asked of its checkpoint hook(s)."""
        from ..checkpoint.discovery import CheckpointPlaces
        from ..hooks.checkpoint import CheckpointHook

        hooks = [h for h in self.hooks if isinstance(h, CheckpointHook)] or [CheckpointHook()]
        directories = dict.fromkeys([self.work_dir, *(h.checkpoint_dir(self) for h in hooks)])
        return CheckpointPlaces(
            tuple(directories),
            tuple(p for h in hooks for p in h.regular_name_patterns()),
            tuple(p for h in hooks for p in h.weights_only_name_patterns()),
        )

    def _auto_resume(self) -> Path | None:
        """``resume=True``: rank 0 chooses (and verifies) the checkpoint, every rank resumes from it."""
        import logging

        from ..checkpoint.discovery import agree_on_auto_resume
        from ..checkpoint.io import write_pointer

        choice = agree_on_auto_resume(self.work_dir, self._checkpoint_places(), rank=self.rank)
        if choice.message:
            self.logger.log(logging.WARNING if choice.fallback else logging.INFO, choice.message)
        if choice.path is None:
            return None
        self._resume_verified(choice.path, choice.checkpoint)
        if choice.fallback and self.rank == 0:
            write_pointer(self.work_dir, choice.path)
        self.logger.info(f"Auto resumed from the latest checkpoint {choice.path}.")
        return choice.path

    def _report_finished(self, path: Path) -> None:
        """In ``train()``: when the resumed checkpoint already reached the end of the configured run (or early
        stopping ended it), say so; the loop then runs no iteration (``stop_training``), only a validation
        the checkpoint was written before."""
        from ..checkpoint.discovery import finished_run
        from ..hooks.early_stopping import EarlyStoppingHook

        loop = self._train_loop
        if loop is None:
            return  # val()/test(): the checkpoint's weights are evaluated, nothing is trained
        stopped = [h.stop_reason or "" for h in self.hooks if isinstance(h, EarlyStoppingHook) and h.stopped]
        finished = finished_run(
            self.state,
            by_epoch=loop.by_epoch,
            max_epochs=loop.max_epochs,
            max_iters=loop.max_iters,
            checkpoint=path,
            early_stop=stopped[0] if stopped else None,
            validates_after=loop.schedule.validates_after if self.val_loop_configured else None,
        )
        if finished is None:
            return
        self.logger.info(finished.message)
        if not finished.validation_due:  # (a due validation runs first either way; the loop then ends)
            loop.stop_training = True

    def save_checkpoint(
        self,
        filename: str,
        *,
        out_dir: Path | None = None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        update_pointer: bool = True,
        background: bool = True,
    ) -> Path:
        """Write a checkpoint atomically (``before_save_checkpoint`` hooks may add entries); returns its path.

        With ``background=True`` the state is snapshotted here and the file write, fsync, rename and
        pointer update run on the checkpoint writer's thread (``checkpoint_writer``), in order; at most one
        checkpoint is in flight (a save first waits for the previous one), so a crash loses at most the
        newest save and never corrupts the previous one. Call :meth:`flush_checkpoints` before reading the
        file back. ``background=False`` writes before returning.
        """
        from ..checkpoint.contents import gather_checkpoint, running_progress
        from ..checkpoint.io import save_checkpoint_file, write_pointer
        from ..checkpoint.writer import freeze_checkpoint

        # at most one checkpoint in flight; hooks below see the previous save complete on disk
        self.checkpoint_writer.flush()
        ckpt = gather_checkpoint(self, save_optimizer=save_optimizer, save_param_scheduler=save_param_scheduler)
        with running_progress(self.state):  # hooks see MMEngine's counters; ckpt holds the committed ones
            self.call_hook("before_save_checkpoint", checkpoint=ckpt)
        path = (out_dir or self.work_dir) / filename
        failure: Exception | None = None
        if self.rank == 0:
            work_dir = self.work_dir
            try:
                save = freeze_checkpoint(ckpt, path) if background else lambda: save_checkpoint_file(ckpt, path)

                def write() -> None:
                    save()
                    if update_pointer:
                        write_pointer(work_dir, path)

                if background:
                    self.checkpoint_writer.submit(write)
                else:
                    write()
            except Exception as exc:  # noqa: BLE001  # shared with the other ranks below, then re-raised
                failure = exc
        # every rank learns whether rank 0 failed (this also keeps them in step, like a barrier)
        if dist_ops.agree_any(failure is not None):
            if failure is not None:
                raise failure
            raise RuntimeError(f"saving {path.name} failed on rank 0 (its output has the error); every rank stops")
        return path

    def flush_checkpoints(self) -> None:
        """Wait for queued checkpoint writes; raise the first write error (e.g. a full disk)."""
        self.checkpoint_writer.flush()

    def resume(self, path: str | Path) -> None:
        """Restore weights, optimizer, schedulers, RNG, progress and sampler position from a checkpoint.

        A file that is missing, truncated, corrupt or not a checkpoint raises
        :class:`~typedengine.checkpoint.errors.CheckpointError` naming it, what is wrong, the checkpoints
        that pass a quick check and the ``--resume`` flag that uses the newest of them.
        """
        from ..checkpoint.discovery import explicit_checkpoint_error
        from ..checkpoint.errors import CheckpointError
        from ..checkpoint.io import load_checkpoint_file

        target = Path(path)
        try:
            ckpt = load_checkpoint_file(target, "cpu", require_checksum=True)
        except CheckpointError as exc:
            raise explicit_checkpoint_error(
                exc, self._checkpoint_places(), flag="--resume", resumable_only=True
            ) from exc
        self._resume_verified(target, ckpt)

    def _resume_verified(self, path: Path, checkpoint: dict[str, object] | None) -> None:
        from ..checkpoint.contents import resume_from_file

        resume_from_file(self, path, checkpoint=checkpoint)

    def load_checkpoint(
        self, path: str | Path, *, strict: bool = False, revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),)
    ) -> None:
        """Load model weights only (``load_from``) from any weights file; reports missing/unexpected keys.

        A file that cannot be read raises :class:`~typedengine.checkpoint.errors.CheckpointError` naming it,
        what is wrong and the checkpoints that pass a quick check (with the ``--load-from`` flag).
        """
        from ..checkpoint.contents import load_from_file
        from ..checkpoint.discovery import explicit_checkpoint_error
        from ..checkpoint.errors import CheckpointError

        try:
            load_from_file(self, path, strict=strict, revise_keys=revise_keys)
        except CheckpointError as exc:
            if Path(exc.path) != Path(path):
                raise
            raise explicit_checkpoint_error(
                exc, self._checkpoint_places(), flag="--load-from", resumable_only=False
            ) from exc




def _build_hook(cfg: object) -> Hook:
    build = getattr(cfg, "build", None)
    if build is None:
        raise TypeError(f"expected a Hook or a hook config, got {type(cfg).__name__}")
    hook = build()
    if not isinstance(hook, Hook):
        raise TypeError(f"{type(cfg).__name__}.build() must return a Hook, got {type(hook).__name__}")
    return hook


def _config_priority(cfg: object) -> int | str | None:
    value = getattr(cfg, "priority", None)
    if isinstance(cfg, Hook) or value is None:
        return None
    assert isinstance(value, (int, str))
    return value


def _build_evaluator(spec: EvaluatorLike | None) -> Evaluator:
    if spec is None:
        raise RuntimeError("no evaluator configured")
    if isinstance(spec, Evaluator):
        return spec
    if isinstance(spec, BaseMetric):
        return Evaluator(spec)
    if isinstance(spec, (EvaluatorConfig, MetricConfig)):
        built = spec.build()
        return built if isinstance(built, Evaluator) else Evaluator(built)
    if isinstance(spec, Sequence) and all(isinstance(m, BaseMetric) for m in spec):
        return Evaluator(list(spec))
    raise TypeError(f"evaluator must be an Evaluator, metric(s) or their config, got {type(spec).__name__}")
