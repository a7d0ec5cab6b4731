"""RuntimeInfoHook: feeds the message hub — learning rates, step outputs, optimizer scalars, metrics.

Pushed values (keys as the log processor reads them):

* before each train iteration: ``train/lr`` (first param group; ``train/<name>.lr`` for a wrapper dict;
  ``train/base_lr`` when there are several groups), and info ``iter``;
* after each train iteration: every one-element item of the step outputs (``train/loss``,
  ``train/loss_cls`` …; in distributed runs the mean over ranks, one small all-reduce per iteration) and ``optim_wrapper.log_scalars()`` (``train/grad_norm``) — as device tensors,
  never synchronised here;
* after a val/test epoch: each numeric metric as ``val/<key>`` / ``test/<key>``.

Runtime info mirrors the run's position (``epoch``, ``iter``, ``max_epochs``, ``max_iters``, ``by_epoch``)
so models can read it from ``runner.message_hub``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from ..config.base import Config, Tag
from ..optim.wrapper import OptimWrapper
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch
    from ..logs.history import MessageHub
    from ..runner.runner import Runner

__all__ = ["RuntimeInfoHook", "RuntimeInfoHookConfig"]


def _push(hub: MessageHub, key: str, value: object) -> None:
    """Push numbers and one-element tensors (checked via ``numel``, which does not sync); skip the rest."""
    kind = type(value)
    if kind is float or kind is int:
        hub.update_scalar(key, value)  # type: ignore[arg-type]  # checked: a number
        return
    import torch  # already loaded by the time a step runs: a dict lookup

    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            hub.update_scalar(key, value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        hub.update_scalar(key, value)


def _mean_over_ranks(outputs: Mapping[str, object]) -> dict[str, object]:
    """Average the one-element tensor outputs over all ranks with one all-reduce (logged losses are global).

    Every rank runs this every iteration, so the collective always matches. On CUDA (NCCL) the all-reduce
    is queued on the stream and does not block the host; on CPU (gloo) it costs one small collective.
    """
    import torch

    from ..distributed.ops import all_reduce

    scalars = {k: v for k, v in outputs.items() if isinstance(v, torch.Tensor) and v.numel() == 1}
    if not scalars:
        return dict(outputs)
    keys = list(scalars)
    values = all_reduce(torch.stack([scalars[k].detach().float().reshape(()) for k in keys]), op="mean")
    merged = dict(outputs)
    merged.update(zip(keys, values.unbind(0)))
    return merged


_TRAIN_KEYS: dict[str, str] = {}


def _train_key(name: str) -> str:
    """``train/<name>``, formatted once per name (the per-iteration path does not build strings)."""
    key = _TRAIN_KEYS[name] = f"train/{name}"
    return key


class RuntimeInfoHook(Hook):
    """Pushes lr, step outputs, optimizer scalars and metrics into ``runner.message_hub`` (VERY_HIGH)."""

    priority = Priority.VERY_HIGH

    def before_run(self, runner: Runner) -> None:
        hub = runner.message_hub
        hub.update_info("experiment_name", runner.experiment_name)
        hub.update_info("seed", runner.seed)

    def before_train(self, runner: Runner) -> None:
        hub, state, loop = runner.message_hub, runner.state, runner.train_loop
        hub.update_info("by_epoch", bool(loop.by_epoch))
        hub.update_info("max_epochs", int(loop.max_epochs))
        hub.update_info("max_iters", int(loop.max_iters))
        hub.update_info("epoch", state.epoch)
        hub.update_info("iter", state.iter)

    def before_train_epoch(self, runner: Runner) -> None:
        runner.message_hub.update_info("epoch", runner.state.epoch)

    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        hub = runner.message_hub
        hub.update_info("iter", runner.state.iter)
        wrapper = runner.optim_wrapper
        if wrapper is None:
            return
        if type(wrapper).get_lr is OptimWrapper.get_lr and wrapper.base_param_settings is None:  # type: ignore[union-attr]
            # one optimizer with one or several groups and no base settings: its first group's lr
            lr = wrapper.optimizer.param_groups[0]["lr"]  # type: ignore[union-attr]
            hub.update_scalar("train/lr", lr if type(lr) is float else float(lr))
            return
        for key, values in wrapper.get_lr().items():
            if values:
                hub.update_scalar(_TRAIN_KEYS.get(key) or _train_key(key), float(values[0]))

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        hub = runner.message_hub
        wrapper = runner.optim_wrapper
        if wrapper is not None:  # first, as in MMEngine (grad_norm is pushed inside train_step there)
            for name, tensor in wrapper.log_scalars().items():
                _push(hub, _TRAIN_KEYS.get(name) or _train_key(name), tensor)
        if outputs:
            if runner.world_size > 1:
                outputs = _mean_over_ranks(outputs)
            for name, value in outputs.items():
                _push(hub, _TRAIN_KEYS.get(name) or _train_key(name), value)

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        for key, value in (metrics or {}).items():
            _push(runner.message_hub, f"val/{key}", value)

    def after_test_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        for key, value in (metrics or {}).items():
            _push(runner.message_hub, f"test/{key}", value)


class RuntimeInfoHookConfig(Config):
    """Feeds the message hub (``default_hooks.runtime_info``); no settings."""

    type: Tag[Literal["runtime-info"]] = "runtime-info"

    def build(self) -> RuntimeInfoHook:
        """The hook."""
        return RuntimeInfoHook()
