"""What gather_checkpoint stores and what apply_checkpoint restores, on a real runner (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import typedengine as te
from tests.checkpoint.harness import experiment
from typedengine.checkpoint.contents import apply_checkpoint, committed_progress, gather_checkpoint
from typedengine.checkpoint.errors import IncompatibleResumeError
from typedengine.checkpoint.io import load_checkpoint_file, save_checkpoint_file
from typedengine.runner.state import RunState


def _runner(tmp_path: Path, **spec: object) -> te.Runner:
    return te.Runner.from_config(experiment({"work_dir": str(tmp_path), "interval": 1000, **spec}))


class _Stop(Exception):
    pass


class _StopAt(te.Hook):
    priority = "lowest"

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if runner.state.iter + 1 == self.at:
            raise _Stop


def _train_until(runner: te.Runner, iters: int) -> None:
    runner.register_hook(_StopAt(iters))
    with pytest.raises(_Stop):
        runner.train()
    runner.state.iter += 1  # what the loop would have done after the hooks
    runner.state.inner_iter += 1


def test_checkpoint_contents_are_plain_data_with_mmengine_top_level_names(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    _train_until(runner, 6)  # accumulation 3: a window just closed, no gradients pending
    ckpt = gather_checkpoint(runner, save_optimizer=True, save_param_scheduler=True)
    assert set(ckpt) == {
        "meta", "state_dict", "optimizer", "param_schedulers", "run_state", "message_hub", "rng", "sampler", "config",
    }  # fmt: skip
    meta = ckpt["meta"]
    assert isinstance(meta, dict)
    assert (meta["format"], meta["format_version"], meta["epoch"], meta["iter"]) == ("typedengine", 1, 0, 6)
    assert meta["world_size"] == 1 and meta["seed"] == 11
    assert ckpt["config"] == runner.config.model_dump(mode="json")  # type: ignore[union-attr]
    assert isinstance(ckpt["rng"], list) and len(ckpt["rng"]) == 1
    assert ckpt["sampler"] == {"epoch": 0, "sample_index": 24, "batch_size": 4, "world_size": 1}
    path = save_checkpoint_file(ckpt, tmp_path / "c.pth")
    torch.load(path, weights_only=True)
    without = gather_checkpoint(runner, save_optimizer=False, save_param_scheduler=False)
    assert "optimizer" not in without and "param_schedulers" not in without


def test_gradients_are_stored_only_inside_an_accumulation_window(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    _train_until(runner, 5)  # 5 % 3 = 2 micro-batches accumulated
    ckpt = gather_checkpoint(runner, save_optimizer=True, save_param_scheduler=True)
    grads = ckpt["grads"]
    assert isinstance(grads, list) and len(grads) == 1
    own = {n: p.grad for n, p in runner.unwrapped_model.named_parameters()}
    assert grads[0].keys() == own.keys()
    assert all(torch.equal(grads[0][n], g) for n, g in own.items())  # type: ignore[arg-type]


def test_apply_restores_weights_optimizer_schedulers_state_rng_and_grads(tmp_path: Path) -> None:
    runner = _runner(tmp_path / "a")
    _train_until(runner, 8)
    ckpt = gather_checkpoint(runner, save_optimizer=True, save_param_scheduler=True)
    save_checkpoint_file(ckpt, tmp_path / "c.pth")
    expected_draw = torch.rand(4)

    fresh = _runner(tmp_path / "b")
    loop = fresh.train_loop  # build what train() builds before resuming
    fresh.optim_wrapper = fresh._build_optim_wrapper()
    fresh.param_schedulers = fresh._build_param_schedulers(loop)
    apply_checkpoint(fresh, load_checkpoint_file(tmp_path / "c.pth"), resume=True)

    assert torch.equal(torch.rand(4), expected_draw)
    for (n, a), b in zip(runner.unwrapped_model.named_parameters(), fresh.unwrapped_model.parameters()):
        assert torch.equal(a, b), n
        assert a.grad is not None and b.grad is not None and torch.equal(a.grad, b.grad), n
    assert fresh.optim_wrapper.get_lr() == runner.optim_wrapper.get_lr()  # type: ignore[union-attr]
    assert fresh.param_schedulers[0].state_dict() == runner.param_schedulers[0].state_dict()
    assert (fresh.state.epoch, fresh.state.iter, fresh.state.inner_iter) == (0, 8, 8)
    assert fresh.train_loop.max_iters == 39  # the run length is the schedule's, not the checkpoint's


def test_scheduler_count_mismatch_is_refused(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    _train_until(runner, 3)
    ckpt = gather_checkpoint(runner, save_optimizer=True, save_param_scheduler=True)
    ckpt["param_schedulers"] = [*ckpt["param_schedulers"], {}]  # type: ignore[misc]
    with pytest.raises(IncompatibleResumeError, match="2 parameter scheduler state"):
        apply_checkpoint(runner, ckpt, resume=True)


def test_a_randomly_seeded_run_resumes_with_the_checkpoint_seed(tmp_path: Path) -> None:
    cfg = experiment({"work_dir": str(tmp_path), "interval": 1000})
    cfg = te.replace(cfg, randomness=te.RandomnessConfig(seed=None))
    first = te.Runner.from_config(cfg)
    _train_until(first, 4)
    ckpt = gather_checkpoint(first, save_optimizer=True, save_param_scheduler=True)
    second = te.Runner.from_config(cfg)
    _ = second.train_loop
    assert second.seed != first.seed or pytest.skip("both runs drew the same seed")
    second.optim_wrapper = second._build_optim_wrapper()
    second.param_schedulers = second._build_param_schedulers(second.train_loop)
    apply_checkpoint(second, ckpt, resume=True)
    assert second.seed == first.seed
    sampler = second.train_loop.dataloader.sampler
    assert sampler.rank_indices() == first.train_loop.dataloader.sampler.rank_indices()  # type: ignore[attr-defined]


def test_committed_progress_counts_the_running_iteration_or_epoch() -> None:
    state = RunState(epoch=1, iter=20, inner_iter=7)
    with committed_progress(state, iteration_done=True):
        assert (state.epoch, state.iter, state.inner_iter) == (1, 21, 8)
    with committed_progress(state, epoch_done=True):
        assert (state.epoch, state.iter, state.inner_iter) == (2, 20, 0)
    assert (state.epoch, state.iter, state.inner_iter) == (1, 20, 7)


def test_config_built_loaders_leave_global_rng_alone(tmp_path: Path) -> None:
    loader = _runner(tmp_path).train_loop.dataloader
    before = torch.get_rng_state()
    iter(loader)
    assert torch.equal(torch.get_rng_state(), before)


def test_message_hub_histories_are_packed_as_bytes_and_restored_exactly() -> None:
    from typedengine.checkpoint.contents import pack_message_hub, unpack_message_hub
    from typedengine.logs.history import MessageHub

    hub = MessageHub()
    values = [0.1 * i + 1e-17 for i in range(50)]
    for v in values:
        hub.update_scalar("train/loss", torch.tensor(v, dtype=torch.float64))
        hub.update_scalar("train/lr", v)
    hub.update_scalar("val/accuracy", 97.5, count=3)
    packed = pack_message_hub(hub.state_dict())
    scalars = packed["scalars"]
    assert isinstance(scalars, dict)
    assert all(isinstance(h["values"], bytes) and isinstance(h["counts"], bytes) for h in scalars.values())

    restored = MessageHub()
    restored.load_state_dict(unpack_message_hub(packed))
    assert restored.get_scalar("train/lr").values() == values  # bit-exact through float64
    assert restored.get_scalar("train/loss").values() == values
    assert restored.get_scalar("val/accuracy").global_mean() == 97.5
    with pytest.raises(ValueError, match=r"train/lr.*not a multiple of 8"):
        unpack_message_hub({"scalars": {"train/lr": {"values": b"123", "counts": b""}}})
    # a checkpoint written before packing (plain lists) still loads
    legacy = MessageHub()
    legacy.load_state_dict(unpack_message_hub(hub.state_dict()))
    assert legacy.get_scalar("train/lr").values() == values


def test_gradients_saved_under_another_sharding_are_refused_by_name(tmp_path: Path) -> None:
    """A mid-window gradient whose shape is not this rank's parameter (e.g. an FSDP shard resumed without
    FSDP) is one clear IncompatibleResumeError naming the parameter, not a tensor-size error."""
    runner = te.Runner.from_config(experiment({"work_dir": str(tmp_path), "max_epochs": 2, "interval": 100}))
    runner.train()
    ckpt = gather_checkpoint(runner, save_optimizer=True, save_param_scheduler=True)
    ckpt["grads"] = [{"net.0.weight": torch.zeros(8, 8)}]  # a (16, 8) parameter: half of it, an FSDP shard
    with pytest.raises(IncompatibleResumeError, match=r"'net.0.weight': a gradient of shape \(8, 8\) does not fit"):
        apply_checkpoint(runner, ckpt, resume=True)
