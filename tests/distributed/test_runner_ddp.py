"""The Runner under DDP (2 gloo ranks on CPU) matches a single process with the global batch."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import TensorDataset

import typedengine as te
from tests.conftest import TinyMLP, make_data
from tests.distributed.dist_harness import run_ranks
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig


class Blobs(te.DatasetConfig):
    n: int = 128

    def build(self) -> TensorDataset:
        return make_data(n=self.n, seed=3)


class LossLog(te.Hook):
    priority = "lowest"

    def __init__(self) -> None:
        self.logged: list[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def,override]
        hub = runner.message_hub
        if hub.has_scalar("train/loss"):
            self.logged.append(hub.get_scalar("train/loss").current())


def _train(work_dir: str, batch: int, launcher: str) -> dict[str, object]:
    torch.manual_seed(5)
    model = TinyMLP()
    losses = LossLog()
    with te.Runner(
        model=model,
        work_dir=work_dir,
        launcher=launcher,  # type: ignore[arg-type]
        train_dataloader=te.DataLoaderConfig[Blobs](dataset=Blobs(n=128), batch_size=batch),
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1, momentum=0.9)),
        val_dataloader=te.DataLoaderConfig[Blobs](dataset=Blobs(n=25), batch_size=4, shuffle=False),
        val_evaluator=te.AccuracyConfig(),
        randomness=te.RandomnessConfig(seed=11),
        default_hooks=DefaultHooksConfig(checkpoint=None, logger=LoggerHookConfig(interval_iters=1, progress=False)),
        custom_hooks=[losses],
    ) as runner:
        runner.train()
        metrics = runner.val()
        state = {k: v.detach().cpu().clone() for k, v in runner.unwrapped_model.state_dict().items()}
        return {"state": state, "accuracy": metrics["accuracy"], "world": runner.world_size, "losses": losses.logged}


def _rank_main(work_dir: str) -> dict[str, object]:
    return _train(work_dir, batch=32, launcher="pytorch")


def test_two_ranks_match_one_process_with_the_global_batch(tmp_path: Path) -> None:
    single = _train(str(tmp_path / "single"), batch=64, launcher="none")
    ranks = run_ranks(_rank_main, 2, str(tmp_path / "ddp"), wall_timeout_s=180.0)
    assert [r["world"] for r in ranks] == [2, 2]
    for r in ranks:
        for k, v in single["state"].items():  # type: ignore[union-attr]
            assert torch.allclose(r["state"][k], v, atol=1e-6), k  # type: ignore[index]
        # 25 validation samples over 2 ranks: padding is dropped, every sample counted once
        assert r["accuracy"] == single["accuracy"]
    # the logged loss is the mean over ranks = the single-process loss of the global batch
    assert len(ranks[0]["losses"]) == len(single["losses"]) == 4  # type: ignore[arg-type]
    for got, want in zip(ranks[0]["losses"], single["losses"]):  # type: ignore[call-overload]
        assert abs(got - want) < 1e-5
    assert ranks[0]["losses"] == ranks[1]["losses"]
