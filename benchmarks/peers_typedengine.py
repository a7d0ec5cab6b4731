"""typedengine as one more runner of the shared peer benchmark (``shared/bench/peers``).

The harness compares raw PyTorch, MMEngine, Lightning and Ignite on one workload (see its README.md).
This script trains that same workload through ``typedengine.Runner`` and prints the harness's JSON line,
so ``run_all.sh`` and ``summarize.py`` treat it like the other runners. Everything that defines the work
comes from the harness's ``common.py``:

- data: ``common.make_datasets``; model: ``common.build_mlp`` (reseeds, then builds), wrapped in a
  ``BaseModel`` with ``forward(x, y, mode)``. Its ``common.MLP.forward`` stamps every training forward,
  which gives the startup and per-step timings, exactly as in the other runners.
- data order: typedengine's ``DefaultSampler(len(train), seed=SEED)`` draws the same permutations as
  MMEngine's ``DefaultSampler`` and the harness's ``EpochSeededSampler``, so ``init_checksum``,
  ``final_loss`` and ``val_acc`` match the other runners bit for bit.
- runner: typedengine's default hooks (log every 10 iterations, checkpoint every epoch), validation every
  epoch with ``Accuracy()``, SGD lr 0.01 momentum 0.9, a temporary ``work_dir``.

Run on its own (``--harness-dir`` defaults to ``../shared/bench/peers`` next to this repository)::

    python benchmarks/peers_typedengine.py --epochs 5 --size small [--harness-dir DIR] [--out FILE]

or from the harness, as the ``typedengine`` case of ``run_all.sh``'s ``cmd_for``.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import typedengine
from typedengine import (
    Accuracy,
    BaseModel,
    EpochBasedTrainLoopConfig,
    OptimWrapperConfig,
    RandomnessConfig,
    Runner,
    SGDConfig,
)
from typedengine.data.samplers import DefaultSampler

DEFAULT_HARNESS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "peers"


def _add_harness_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--harness-dir", type=Path, default=DEFAULT_HARNESS, help="the folder holding common.py"
    )


# common.py lives in the harness folder: find it before anything is timed against its T0
_pre = argparse.ArgumentParser(add_help=False)
_add_harness_dir(_pre)
sys.path.insert(0, str(_pre.parse_known_args()[0].harness_dir.resolve()))
common = importlib.import_module("common")

t_imports_done = time.time()


class Net(BaseModel):
    """The harness's MLP behind typedengine's model contract."""

    def __init__(self, size: str) -> None:
        super().__init__()
        self.net = common.build_mlp(size)  # common.MLP
        self.last_loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:
        logits = self.net(x)
        if mode == "loss":
            loss = F.cross_entropy(logits, y)
            self.last_loss = loss.detach()
            return {"loss": loss}
        if mode == "predict":
            return logits, y
        return logits


def main() -> None:
    args = common.parse_args(_add_harness_dir)
    common.setup_threads()
    train_ds, val_ds = common.make_datasets(args.size)
    model = Net(args.size)
    init_sum = common.init_checksum(model)
    train_loader = DataLoader(
        train_ds,
        batch_size=common.batch_size(args.size),
        sampler=DefaultSampler(len(train_ds), seed=common.SEED),
    )
    val_loader = DataLoader(val_ds, batch_size=common.VAL_BATCH)
    work_dir = tempfile.mkdtemp(prefix="peerbench_typedengine_")
    runner = Runner(
        model=model,
        work_dir=work_dir,
        train_dataloader=train_loader,
        val_dataloader=val_loader,
        train=EpochBasedTrainLoopConfig(max_epochs=args.epochs, val_interval=1),
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=common.LR, momentum=common.MOMENTUM)),
        val_evaluator=Accuracy(),
        randomness=RandomnessConfig(seed=common.SEED),
    )
    common.setup_threads()  # process-global: keep 1 thread whatever the set-up did
    runner.train()
    t_end = time.perf_counter()
    runner.close()
    shutil.rmtree(work_dir, ignore_errors=True)

    # Accuracy() reports percent; recover the exact fraction correct / total that the other runners report
    percent = runner.message_hub.get_scalar("val/accuracy").current()
    val_acc = round(percent * len(val_ds) / 100) / len(val_ds)
    assert model.last_loss is not None
    common.report(
        "typedengine",
        args,
        t_imports_done=t_imports_done,
        t_loop_end_perf=t_end,
        stamps=model.net.stamps,
        n_iters=runner.state.iter,
        final_loss=float(model.last_loss),
        val_acc=val_acc,
        init_sum=init_sum,
        iters_per_epoch=len(train_loader),
        versions={"torch": torch.__version__, "typedengine": typedengine.__version__},
    )


if __name__ == "__main__":
    main()
