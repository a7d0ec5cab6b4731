"""What a checkpoint holds, and how a runner is rebuilt from one.

A checkpoint is a dict of plain data (so ``torch.load(weights_only=True)`` reads it), with MMEngine's
top-level names where MMEngine has them::

    meta              format/version, epoch, iter, seed, experiment_name, time, world_size, dataset_meta,
                      versions {typedengine, torch, python}
    state_dict        weights of the unwrapped model
    optimizer         the optim wrapper's state dict (GradScaler included)      [save_optimizer]
    param_schedulers  one progress dict per scheduler                          [save_param_scheduler]
    run_state         RunState: epoch, iter, inner_iter (position inside the epoch), best scores,
                      kept checkpoints, last checkpoint
    message_hub       log histories (smoothing windows continue) and runtime info
    rng               one entry per rank: python / numpy / torch / cuda generator states
    grads             only when saved inside a gradient-accumulation window: per rank, the gradients
                      accumulated so far, so the window continues exactly
    sampler           where the train sampler stands: ``sample_index``, the global index (all ranks together)
                      of the next sample in the current epoch's order (iteration-based runs: in the stream
                      since the start), with the ``batch_size`` and ``world_size`` that reached it, so a
                      resume with other sizes maps the position (the loader is never replayed)
    config            the resolved config as JSON (None for runners built from objects)

:func:`gather_checkpoint` is collective in a distributed run (every rank contributes its RNG state and
accumulated gradients); call it on every rank. :func:`apply_checkpoint` restores a runner; with
``resume=True`` it first compares the stored config with the run's (:mod:`.compat`).

Counters follow RunState's rule: completed counts. Inside ``after_train_iter`` / ``after_train_epoch``
the runner's counters still name the iteration/epoch that just ran; wrap a save there in
:func:`committed_progress` so the checkpoint says "done" (the :class:`~typedengine.hooks.checkpoint.
CheckpointHook` does). ``before_save_checkpoint`` hooks still see the running counters, as in MMEngine
(:func:`running_progress`).
"""

from __future__ import annotations

import datetime
import functools
import os
import platform
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from .compat import CompatReport, check_resume_compat
from .errors import IncompatibleResumeError
from .io import check_serialisable, load_checkpoint_file
from .load import DEFAULT_REVISE_KEYS, LoadReport, extract_state_dict, load_weights, read_weights
from .resume_edits import landing_point, restore_optimization
from .rng import capture_rng_state, restore_rng_state

if TYPE_CHECKING:
    import torch

    from ..runner.runner import Runner
    from ..runner.schedule import ResumePoint
    from ..runner.state import RunState

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "apply_checkpoint",
    "committed_progress",
    "gather_checkpoint",
    "load_from_file",
    "package_versions",
    "resume_compat",
    "resume_from_file",
    "running_progress",
]

FORMAT_NAME = "typedengine"
FORMAT_VERSION = 1


@contextmanager
def committed_progress(
    state: RunState, *, iteration_done: bool = False, epoch_done: bool = False
) -> Iterator[None]:
    """Temporarily count the running iteration (or epoch) as completed, for a save inside its hooks.

    ``iteration_done``: ``iter`` and ``inner_iter`` + 1 (call from ``after_train_iter``).
    ``epoch_done``: ``epoch`` + 1 and ``inner_iter`` = 0 (call from ``after_train_epoch``).
    """
    saved = (state.epoch, state.iter, state.inner_iter)
    token = _RUNNING.set((state, saved))
    if iteration_done:
        state.iter += 1
        state.inner_iter += 1
    if epoch_done:
        state.epoch += 1
        state.inner_iter = 0
    try:
        yield
    finally:
        state.epoch, state.iter, state.inner_iter = saved
        _RUNNING.reset(token)


_RUNNING: ContextVar[tuple[RunState, tuple[int, int, int]] | None] = ContextVar("running", default=None)
"""The counters :func:`committed_progress` replaced (epoch, iter, inner_iter), while it is active."""


@contextmanager
def running_progress(state: RunState) -> Iterator[None]:
    """Inside :func:`committed_progress`, show the running counters again (e.g. to ``before_save_checkpoint``
    hooks: MMEngine's runner still says epoch ``e``, iteration ``i`` there); elsewhere a no-op.

    The checkpoint dict is gathered before, with the committed counts, so it still records "done".
    """
    active = _RUNNING.get()
    if active is None or active[0] is not state:
        yield
        return
    committed = (state.epoch, state.iter, state.inner_iter)
    state.epoch, state.iter, state.inner_iter = active[1]
    try:
        yield
    finally:
        state.epoch, state.iter, state.inner_iter = committed


def package_versions() -> dict[str, str]:
    """Versions of typedengine, torch and Python (stored in every checkpoint's meta)."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    """Looked up once per process (package metadata scans take milliseconds)."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    try:
        te_version = version("typedengine")
    except PackageNotFoundError:  # running from a source tree that was not installed
        te_version = "unknown"
    return (("typedengine", te_version), ("torch", str(torch.__version__)), ("python", platform.python_version()))


def _dataset_meta(runner: Runner) -> object:
    """The train dataset's meta: from its config (``metainfo()``), else the built dataset's ``metainfo``."""
    meta: object = None
    loader_cfg = getattr(runner.config, "train_dataloader", None) if runner.config is not None else None
    dataset_cfg = getattr(loader_cfg, "dataset", None)
    if dataset_cfg is not None and callable(getattr(dataset_cfg, "metainfo", None)):
        meta = dataset_cfg.metainfo()
    else:
        loop = getattr(runner, "_train_loop", None)  # never build a train loop just to describe it
        dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
        meta = getattr(dataset, "metainfo", None)
        if callable(meta):
            meta = meta()
    if meta is None or meta == {}:
        return None
    try:
        check_serialisable(meta, "dataset_meta")
    except TypeError:
        return repr(meta)
    return meta


def _accumulated_grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """This rank's accumulated gradients (local shards for an FSDP2 model), copied."""
    from ..model.fsdp import local_grad

    grads = {name: local_grad(p) for name, p in model.named_parameters()}
    return {name: g for name, g in grads.items() if g is not None}


def _model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights to store: the state dict, or for an FSDP2 model the full one on rank 0 (collective)."""
    from ..model.fsdp import full_model_state, is_fully_sharded

    return full_model_state(model) if is_fully_sharded(model) else model.state_dict()


def _sampler_position(runner: Runner) -> dict[str, int]:
    """The ``sampler`` entry: the schedule's global sample index of the current position (empty when no
    training was set up: the train loop is never built just to describe it)."""
    if runner.optim_wrapper is None:
        return {}
    schedule, state = runner.train_loop.schedule, runner.state
    done = state.inner_iter if schedule.by_epoch else state.iter
    return {
        "epoch": state.epoch,
        "sample_index": schedule.sample_index(done),
        "batch_size": schedule.batch_size,
        "world_size": schedule.world_size,
    }


def gather_checkpoint(
    runner: Runner, *, save_optimizer: bool, save_param_scheduler: bool
) -> dict[str, object]:
    """Collect a runner's state into a checkpoint dict (see the module docstring). Collective.

    Gradients are included only when some are accumulated (a save inside an accumulation window); after
    an optimizer step they are None and nothing is stored.
    """
    from ..distributed import ops as dist_ops

    state = runner.state
    rng = dist_ops.gather_objects(capture_rng_state())
    grads_local = _accumulated_grads(runner.unwrapped_model)
    any_grads = bool(grads_local)
    if runner.world_size > 1:
        import torch

        flag = dist_ops.all_reduce(torch.tensor([int(any_grads)], dtype=torch.int32), op="max")
        any_grads = bool(flag.item())
    grads = dist_ops.gather_objects(grads_local) if any_grads else None

    ckpt: dict[str, object] = {
        "meta": {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "epoch": state.epoch,
            "iter": state.iter,
            "seed": runner.seed,
            "experiment_name": runner.experiment_name,
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"),
            "world_size": runner.world_size,
            "dataset_meta": _dataset_meta(runner),
            "versions": package_versions(),
        },
        "state_dict": _model_state(runner.unwrapped_model),
        "run_state": state.state_dict(),
        "message_hub": pack_message_hub(runner.message_hub.state_dict()),
        "rng": list(rng) if rng is not None else [],
        "sampler": _sampler_position(runner),
        "config": runner.config.model_dump(mode="json") if runner.config is not None else None,
    }
    if grads is not None:
        ckpt["grads"] = list(grads)
    if save_optimizer and runner.optim_wrapper is not None:
        ckpt["optimizer"] = runner.optim_wrapper.state_dict()
    if save_param_scheduler and runner.param_schedulers:
        ckpt["param_schedulers"] = [s.state_dict() for s in runner.param_schedulers]
    return ckpt


def pack_message_hub(state: Mapping[str, object]) -> dict[str, object]:
    """The hub's state with each history's ``values``/``counts`` lists packed as little-endian float64/int64
    bytes (what :func:`unpack_message_hub` reads back).

    Pickling costs a Python call per object: a thousand-entry history as a list is two thousand objects per
    key in every save; as bytes it is two, with no tensor records in the archive. Values are exact (float64
    holds every Python float) and bytes load under ``weights_only=True``.
    """

    def pack(key: str, field: str, code: str, items: object) -> object:
        return struct.pack(f"<{len(items)}{code}", *items) if isinstance(items, list) else items

    return _map_history_fields(state, pack)


def unpack_message_hub(state: Mapping[str, object]) -> dict[str, object]:
    """Inverse of :func:`pack_message_hub`; plain lists (checkpoints written before packing) pass through."""

    def unpack(key: str, field: str, code: str, blob: object) -> object:
        if not isinstance(blob, bytes):
            return blob
        if len(blob) % 8:
            raise ValueError(f"message_hub.scalars[{key!r}].{field}: {len(blob)} bytes is not a multiple of 8")
        return list(struct.unpack(f"<{len(blob) // 8}{code}", blob))

    return _map_history_fields(state, unpack)


def _map_history_fields(
    state: Mapping[str, object], convert: Callable[[str, str, str, object], object]
) -> dict[str, object]:
    """A copy of the hub state with ``convert(key, field, struct_code, value)`` applied to each history's
    packed fields (the fields a history lacks are left out)."""
    scalars = state.get("scalars")
    if not isinstance(scalars, Mapping):
        return dict(state)
    converted: dict[str, object] = {}
    for key, history in scalars.items():
        if isinstance(history, Mapping):
            history = dict(history)
            for field, code in _PACKED_FIELDS.items():
                if field in history:
                    history[field] = convert(key, field, code, history[field])
        converted[key] = history
    return {**state, "scalars": converted}


_PACKED_FIELDS = {"values": "d", "counts": "q"}  # history field -> struct code (8 bytes each)


def apply_checkpoint(runner: Runner, ckpt: Mapping[str, object], *, resume: bool) -> LoadReport:
    """Restore ``runner`` from ``ckpt``.

    ``resume=False``: weights only (``strict=False``; the report lists mismatches).
    ``resume=True``: check config compatibility (refusal raises
    :class:`~typedengine.checkpoint.errors.IncompatibleResumeError`, whose message carries the table of
    differences, unless ``runner.resume_force``; otherwise the table is logged once), then restore weights
    (strict), optimizer and schedulers with the config's edits applied (:mod:`.resume_edits`), RunState at
    the position the checkpoint lands on in this run's schedule, message hub, this rank's RNG state and
    accumulated gradients. The train loop resumes the sampler position from ``run_state``
    (``set_start``), so no batch is loaded twice.
    """
    import torch

    weights = ckpt.get("state_dict")
    if not isinstance(weights, Mapping):
        raise KeyError("the checkpoint has no 'state_dict' (model weights)")
    if not resume:
        return load_weights(runner.unwrapped_model, weights, strict=False)

    report = resume_compat(runner, ckpt)
    report.raise_if_refused()  # the error carries the table: nothing is printed before it
    if report.differences or report.notes:
        runner.logger.info("\n" + report.render())

    loaded = load_weights(runner.unwrapped_model, weights, strict=True, revise_keys=())

    training = runner.optim_wrapper is not None  # train() set the run up (not a val/test-only resume)
    point = landing_point(runner.train_loop.schedule, ckpt) if training else None
    if point is not None:
        restore_optimization(runner, ckpt, report, point)

    run_state = ckpt.get("run_state")
    if isinstance(run_state, Mapping):
        runner.state.load_state_dict(dict(run_state))
    if point is not None:
        state = runner.state
        if point.moved:
            runner.logger.warning(
                f"the checkpoint's position (epoch {state.epoch}, iteration {state.iter}) continues at "
                f"iteration {point.iter} ({point.inner_iter} of the epoch, sample {point.sample_index}) "
                "with this run's batch size and world size (--resume-force)"
            )
        state.epoch, state.iter, state.inner_iter = point.epoch, point.iter, point.inner_iter

    hub = ckpt.get("message_hub")
    if isinstance(hub, Mapping):
        runner.message_hub.load_state_dict(unpack_message_hub(hub))

    rng = ckpt.get("rng")
    if isinstance(rng, (list, tuple)) and rng:
        mine = rng[runner.rank] if runner.rank < len(rng) else rng[0]
        if isinstance(mine, Mapping):
            for note in restore_rng_state(mine):
                runner.logger.warning(note)

    grads = ckpt.get("grads")
    if isinstance(grads, (list, tuple)) and grads and point is not None and _window_changed(report, point):
        runner.logger.warning(
            "dropped the gradients accumulated before the checkpoint: the accumulation window they belong to "
            "does not exist with this run's accumulative_counts / batch size / world size (--resume-force)"
        )
        grads = None
    if isinstance(grads, (list, tuple)) and runner.rank < len(grads):
        mine_grads = grads[runner.rank]
        if isinstance(mine_grads, Mapping):
            from ..model.fsdp import set_local_grad

            params = dict(runner.unwrapped_model.named_parameters())
            for name, grad in mine_grads.items():
                if name in params and isinstance(grad, torch.Tensor):
                    try:
                        set_local_grad(params[name], grad)
                    except ValueError as exc:
                        raise IncompatibleResumeError(
                            f"gradients accumulated before this checkpoint do not fit {name!r}: {exc}. They were "
                            "saved with another model_wrapper or number of ranks; resume with the same ones, "
                            "or from a checkpoint taken at an optimizer step (no 'grads' entry)"
                        ) from exc

    _adopt_seed(runner, ckpt)
    _warn_dataset_meta(runner, ckpt)
    _warn_global_rng_loaders(runner)
    return loaded


def _window_changed(report: CompatReport, point: ResumePoint) -> bool:
    """Whether a stored partial accumulation window no longer lines up (only a forced resume gets here)."""
    return point.moved or any(d.path.endswith("accumulative_counts") for d in report.differences)


def resume_compat(runner: Runner, ckpt: Mapping[str, object]) -> CompatReport:
    """The compatibility report of resuming ``runner`` from ``ckpt`` (nothing is changed)."""
    meta = ckpt.get("meta")
    old_world = meta.get("world_size", runner.world_size) if isinstance(meta, Mapping) else runner.world_size
    stored = ckpt.get("config")
    return check_resume_compat(
        stored if isinstance(stored, Mapping) else None,
        runner.config.model_dump(mode="json") if runner.config is not None else None,
        world_size_old=int(old_world) if isinstance(old_world, int) else runner.world_size,
        world_size_new=runner.world_size,
        force=runner.resume_force,
    )


def _adopt_seed(runner: Runner, ckpt: Mapping[str, object]) -> None:
    """A run seeded randomly (``seed=None``) continues with the checkpoint's seed, samplers included.

    An explicitly configured, different seed is a refused change (see :mod:`.compat`) unless forced; then
    the new seed is kept.
    """
    meta = ckpt.get("meta")
    stored = meta.get("seed") if isinstance(meta, Mapping) else None
    if not isinstance(stored, int) or stored == runner.seed:
        return
    randomness = getattr(runner.config, "randomness", None) if runner.config is not None else None
    configured = getattr(randomness, "seed", None)
    if runner.config is not None and configured is not None:
        runner.logger.warning(
            f"resuming with seed {runner.seed} although the checkpoint used {stored} (forced)"
        )
        return
    runner.logger.warning(
        f"resuming with the checkpoint's seed {stored} instead of the freshly drawn {runner.seed}"
    )
    shift = stored - runner.seed
    runner.seed = stored
    for loop in (getattr(runner, "_train_loop", None), getattr(runner, "_val_loop", None)):
        loader = getattr(loop, "dataloader", None)
        for owner in (
            getattr(getattr(loader, "batch_sampler", None), "sampler", None),
            getattr(loader, "worker_init_fn", None),
        ):
            seed = getattr(owner, "seed", None)
            if isinstance(seed, int):
                owner.seed = seed + shift  # type: ignore[union-attr]  # samplers and WorkerSeeder expose .seed


def _warn_dataset_meta(runner: Runner, ckpt: Mapping[str, object]) -> None:
    meta = ckpt.get("meta")
    stored = meta.get("dataset_meta") if isinstance(meta, Mapping) else None
    current = _dataset_meta(runner)
    if stored is not None and current is not None and stored != current:
        runner.logger.warning("the training dataset's meta differs from the checkpoint's")


def _warn_global_rng_loaders(runner: Runner) -> None:
    """A DataLoader without a ``generator`` draws from the global torch RNG whenever an iterator starts."""
    loops = [getattr(runner, "_train_loop", None), getattr(runner, "_val_loop", None)]
    for loop in loops:
        loader = getattr(loop, "dataloader", None)
        if loader is not None and getattr(loader, "generator", 1) is None:
            runner.logger.warning(
                "a DataLoader without generator= draws from the global torch RNG each time it starts an "
                "epoch, so random ops after this resume (dropout) will not match an uninterrupted run "
                "exactly; pass DataLoader(..., generator=torch.Generator())"
            )
            return


def resume_from_file(
    runner: Runner,
    path: str | os.PathLike[str],
    *,
    map_location: str | torch.device | None = "cpu",
    checkpoint: dict[str, object] | None = None,
) -> None:
    """``Runner.resume``: verify and read ``path`` (checksum required), run ``after_load_checkpoint``
    hooks (they may edit the dict), then :func:`apply_checkpoint` with ``resume=True``.

    ``checkpoint``: the dict already read (and verified) from ``path``, so the file is not read twice.
    """
    ckpt = checkpoint
    if ckpt is None:
        ckpt = load_checkpoint_file(path, map_location, require_checksum=True)
    runner.call_hook("after_load_checkpoint", checkpoint=ckpt)
    apply_checkpoint(runner, ckpt, resume=True)
    from .mmengine import carry_over_warning

    if (warning := carry_over_warning(ckpt)) is not None:  # a converted MMEngine checkpoint
        runner.logger.warning(warning)
    state = runner.state
    runner.logger.info(
        f"Resumed from {path}: epoch {state.epoch}, iter {state.iter} (inner {state.inner_iter})"
    )


def load_from_file(
    runner: Runner,
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    map_location: str | torch.device | None = "cpu",
) -> LoadReport:
    """``Runner.load_checkpoint`` (``load_from``): weights only, from any weights file.

    Reads typedengine/MMEngine checkpoints, plain ``torch.save`` state dicts (no checksum needed; verified
    when present) and ``.safetensors`` files, never unpickling objects; runs ``after_load_checkpoint``
    hooks; renames keys with ``revise_keys``; loads strictly or not and logs the report.
    """
    from pathlib import Path

    if Path(path).suffix == ".safetensors":
        ckpt: dict[str, object] = {"state_dict": read_weights(path, map_location)}
    else:
        ckpt = load_checkpoint_file(path, map_location, require_checksum=False)
    runner.call_hook("after_load_checkpoint", checkpoint=ckpt)
    report = load_weights(
        runner.unwrapped_model, extract_state_dict(ckpt), strict=strict, revise_keys=revise_keys
    )
    runner.logger.info(f"Loaded weights from {path}: {report}")
    return report
