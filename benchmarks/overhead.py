"""Framework overhead: typedengine vs a hand-written loop on the peers' workload, in one process.

Workload (as ../shared/bench/peers): MLP 64→128→10, 8192 synthetic train / 2048 val samples, batch 64
(128 iterations per epoch), val batch 256, SGD lr 0.01 momentum 0.9, 5 epochs, 1 thread. typedengine
runs with its default hooks: logger every 10 iterations, checkpoint every epoch, validation every epoch.

Two baselines, interleaved with typedengine round by round (medians reported):
- raw:  zero_grad / forward / loss / backward / step, plus a val pass per epoch;
- raw+: raw plus the useful work the runner does by default, as the peers' harness defines it
  (``raw.py --ckpt --log-interval 10``): ``loss.item()`` written as a JSON line to a log file (flushed)
  every 10 iterations, a ``torch.save`` of epoch + model + optimizer and a val-accuracy line every epoch.

A fourth row, ``te-no-hooks``, runs typedengine with every default hook off (no logging, timing,
checkpoints): the cost of the runner's core (loops, model contract, optimizer wrapper, evaluator) alone,
so the table shows how the overhead splits between the core and the default hooks' work.

Usage:  python benchmarks/overhead.py [--rounds 5] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import typedengine as te
from typedengine.data.samplers import DefaultSampler
from typedengine.hooks.choices import DefaultHooksConfig

SEED = 2024
NO_DEFAULT_HOOKS = DefaultHooksConfig(
    runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None, checkpoint=None
)
N_TRAIN, N_VAL, BATCH, VAL_BATCH = 8192, 2048, 64, 256


def make_data() -> tuple[TensorDataset, TensorDataset]:
    g = torch.Generator().manual_seed(1234)
    teacher = torch.randn(64, 10, generator=g)
    x = torch.randn(N_TRAIN + N_VAL, 64, generator=g)
    y = (x @ teacher + 0.5 * torch.randn(N_TRAIN + N_VAL, 10, generator=g)).argmax(1)
    return TensorDataset(x[:N_TRAIN], y[:N_TRAIN]), TensorDataset(x[N_TRAIN:], y[N_TRAIN:])


class MLP(te.BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
        self.stamps: list[float] = []  # perf_counter() at the start of every training forward
        self.layers.register_forward_pre_hook(self._stamp)

    def _stamp(self, module: nn.Module, args: object) -> None:
        if self.training:
            self.stamps.append(time.perf_counter())

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:  # type: ignore[override]
        logits = self.layers(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, y)}
        if mode == "predict":
            return logits, y
        return logits


def fresh_model() -> MLP:
    torch.manual_seed(SEED)
    return MLP()


def step_ms(stamps: list[float], epochs: int) -> float:
    """Median time between consecutive training forwards inside an epoch (no val, no checkpoint)."""
    per = len(stamps) // epochs
    gaps = [b - a for e in range(epochs) for a, b in zip(stamps[e * per : (e + 1) * per], stamps[e * per + 1 : (e + 1) * per])]
    return 1e3 * statistics.median(gaps)


def run_raw(train: TensorDataset, val: TensorDataset, epochs: int, plus: bool) -> tuple[float, float, float]:
    model = fresh_model()
    sampler = DefaultSampler(len(train), seed=SEED)
    loader = DataLoader(train, batch_size=BATCH, sampler=sampler)
    val_loader = DataLoader(val, batch_size=VAL_BATCH)
    t0 = time.perf_counter()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss = torch.zeros(())
    with tempfile.TemporaryDirectory() as d, open(Path(d) / "train.log", "w") as log:
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            model.train()
            for i, (x, y) in enumerate(loader):
                opt.zero_grad()
                loss = F.cross_entropy(model.layers(x), y)
                loss.backward()
                opt.step()
                if plus and (i + 1) % 10 == 0:
                    log.write(json.dumps({"epoch": epoch, "iter": i + 1, "loss": loss.item()}) + "\n")
                    log.flush()
            if plus:
                state = {"epoch": epoch, "model": model.state_dict(), "optim": opt.state_dict()}
                torch.save(state, Path(d) / f"epoch_{epoch}.pth")
            model.eval()
            correct = 0
            with torch.no_grad():
                for x, y in val_loader:
                    correct += int((model.layers(x).argmax(1) == y).sum())
            if plus:
                log.write(json.dumps({"epoch": epoch, "val_acc": correct / len(val)}) + "\n")
                log.flush()
    return time.perf_counter() - t0, float(loss.detach()), step_ms(model.stamps, epochs)


def run_typedengine(
    train: TensorDataset, val: TensorDataset, epochs: int, *, hooks: bool = True
) -> tuple[float, float, float]:
    model = fresh_model()
    losses: list[float] = []

    class Last(te.Hook):
        def after_train(self, runner: te.Runner) -> None:
            hub = runner.message_hub  # without the runtime-info hook nothing is recorded
            losses.append(hub.get_scalar("train/loss").current() if hub.has_scalar("train/loss") else float("nan"))

    with tempfile.TemporaryDirectory() as d:
        runner = te.Runner(
            model=model,
            work_dir=d,
            train_dataloader=DataLoader(train, batch_size=BATCH, sampler=DefaultSampler(len(train), seed=SEED)),
            val_dataloader=DataLoader(val, batch_size=VAL_BATCH),
            train=te.EpochBasedTrainLoopConfig(max_epochs=epochs, val_interval=1),
            optim_wrapper=te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.01, momentum=0.9)),
            val_evaluator=te.Accuracy(),
            custom_hooks=[Last()],
            randomness=te.RandomnessConfig(seed=SEED),
            default_hooks=None if hooks else NO_DEFAULT_HOOKS,
        )
        t0 = time.perf_counter()
        runner.train()
        elapsed = time.perf_counter() - t0
        runner.visualizer.close()
    return elapsed, losses[-1], step_ms(model.stamps, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("typedengine").setLevel(logging.WARNING)
    train, val = make_data()
    names = ("raw", "raw+", "typedengine", "te-no-hooks")
    times: dict[str, list[float]] = {n: [] for n in names}
    steps: dict[str, list[float]] = {n: [] for n in names}
    final: dict[str, float] = {}
    run_typedengine(train, val, 1)  # warm-up (first optimizer build imports torch._dynamo)
    for _ in range(args.rounds):
        for name in ("raw", "typedengine", "raw+", "te-no-hooks"):
            if name in ("typedengine", "te-no-hooks"):
                t, loss, step = run_typedengine(train, val, args.epochs, hooks=name == "typedengine")
            else:
                t, loss, step = run_raw(train, val, args.epochs, plus=name == "raw+")
            times[name].append(t)
            steps[name].append(step)
            final[name] = loss
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    step = {k: statistics.median(v) for k, v in steps.items()}
    iters = args.epochs * (N_TRAIN // BATCH)
    print(
        f"{'runner':<12} {'median s':>9} {'min s':>7} {'ms/iter':>8} {'step ms':>8} {'vs raw':>7} {'vs raw+':>8}"
        f" {'min vs raw+':>12}  final loss"
    )
    for name in names:
        print(
            f"{name:<12} {med[name]:9.3f} {best[name]:7.3f} {1e3 * med[name] / iters:8.3f} {step[name]:8.3f}"
            f" {med[name] / med['raw']:7.3f} {med[name] / med['raw+']:8.3f} {best[name] / best['raw+']:12.3f}"
            f"  {final[name]:.6f}"
        )
    print(
        json.dumps(
            {
                "ratio_vs_raw": med["typedengine"] / med["raw"],
                "ratio_vs_raw_plus": med["typedengine"] / med["raw+"],
                "min_ratio_vs_raw_plus": best["typedengine"] / best["raw+"],
                "step_ratio_vs_raw": step["typedengine"] / step["raw"],
            }
        )
    )


if __name__ == "__main__":
    main()
