"""08 — stop a run at any moment, resume it, and get exactly the weights of an uninterrupted run.

A checkpoint holds the weights, optimizer, schedulers, RunState (epoch, iteration, position inside the
epoch and inside the gradient-accumulation window), log history, every RNG state and the resolved config;
it is written atomically and checked on load. Resuming restores the sampler position arithmetically (no
batch is loaded twice) and the RNG streams, so dropout continues as if nothing happened.

SIGTERM, SIGUSR1 or a first Ctrl-C make the run finish the current iteration, save ``iter_<n>.pth`` and
exit with code 75 (EX_TEMPFAIL: "try again"); a second Ctrl-C stops at once. A job script can requeue on
75 and start the same command with ``--resume True``.

``--resume True`` follows ``work_dir/last_checkpoint``; when that pointer is broken (deleted file, empty,
garbage) or names a corrupt file, it resumes from the newest checkpoint that verifies and says so; a run
that already reached its end says "training already finished" and trains nothing.

Usage:
    python examples/08_resume.py --work-dir work_dirs/resume          # Ctrl-C once: saves, exits 75
    python examples/08_resume.py --work-dir work_dirs/resume --resume True
    python examples/08_resume.py --demo                               # all of it, then compares weights
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

import typedengine as te

if TYPE_CHECKING:
    from digits_parts import DigitsNet
    from torch.utils.data import TensorDataset


class DigitsData(te.DatasetConfig):
    """scikit-learn's digits (training part of a fixed split)."""

    split: Literal["train", "val"] = Field("train", description="Which part of the fixed split to load.")

    def build(self) -> TensorDataset:
        from digits_parts import digits_dataset

        return digits_dataset(self.split, 0.2, 0)

    def declared_length(self) -> int:
        from digits_parts import split_sizes

        return split_sizes(0.2)[0 if self.split == "train" else 1]


class DropoutNetConfig(te.ModelConfig):
    """The digits CNN with dropout: random numbers drawn every iteration must continue exactly."""

    width: int = Field(8, gt=0, description="Channels of the first convolution.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout before the classifier.")

    def build(self) -> DigitsNet:
        from digits_parts import DigitsNet

        return DigitsNet(self.width, self.dropout)


class ResumeExperiment(te.RunnerConfig):
    """Digits with dropout, shuffling, accumulation over 2 micro-batches and a checkpoint every 5 iterations."""

    model: DropoutNetConfig = DropoutNetConfig()
    work_dir: Path = Path("work_dirs/resume")
    train_dataloader: te.DataLoaderConfig[DigitsData] | None = te.DataLoaderConfig[DigitsData](
        dataset=DigitsData(), batch_size=64
    )
    train: te.TrainLoopConfig | None = te.EpochBasedTrainLoopConfig(max_epochs=3)
    optim_wrapper: te.OptimWrapperUnion | None = te.OptimWrapperConfig(
        optimizer=te.SGDConfig(lr=0.05, momentum=0.9), accumulative_counts=2
    )
    param_scheduler: tuple[te.ParamSchedulerConfig, ...] = (
        te.LinearSchedulerConfig(start_factor=0.1, by_epoch=False, begin=0, end=20),
    )
    default_hooks: te.DefaultHooksConfig = te.DefaultHooksConfig(
        checkpoint=te.CheckpointHookConfig(interval=5, by_epoch=False, max_keep_ckpts=3)
    )
    randomness: te.RandomnessConfig = te.RandomnessConfig(seed=0)


def _run(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, __file__, *args], env=env, text=True, stdout=subprocess.DEVNULL)


def _final_weights(work_dir: Path) -> dict[str, object]:
    latest = te.find_latest(work_dir)
    assert latest is not None, f"no checkpoint in {work_dir}"
    weights = te.load_checkpoint_file(latest)["state_dict"]
    assert isinstance(weights, dict)
    return weights


def demo(extra: list[str]) -> int:
    """Train once straight through; once stopped by SIGTERM and resumed; compare the final weights."""
    root = Path(tempfile.mkdtemp(prefix="te-resume-"))
    try:
        return _demo(root, extra)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # the demo's runs are not kept


def _demo(root: Path, extra: list[str]) -> int:
    import torch

    straight, stopped = root / "straight", root / "stopped"
    print(f"1/3 training without interruption in {straight}")
    if _run(["--work-dir", str(straight), *extra]).wait() != 0:
        return 1
    print(f"2/3 training in {stopped}; SIGTERM once the first checkpoint exists")
    proc = _run(["--work-dir", str(stopped), *extra])
    while not (stopped / "last_checkpoint").exists() and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait()
    print(f"    exit code {code} (75 = stopped after saving; resume it)")
    print((stopped / "last_checkpoint").read_text().strip(), "is the checkpoint to resume from")
    print("3/3 resuming")
    if _run(["--work-dir", str(stopped), "--resume", "True", *extra]).wait() != 0:
        return 1
    a, b = _final_weights(straight), _final_weights(stopped)
    same = a.keys() == b.keys() and all(
        isinstance(a[k], torch.Tensor) and torch.equal(a[k], b[k])  # type: ignore[arg-type]
        for k in a
    )
    print(f"final weights bit-identical to the uninterrupted run: {same}")
    return 0 if same else 1


def main() -> None:
    argv = sys.argv[1:]
    if "--demo" in argv:
        raise SystemExit(demo([a for a in argv if a != "--demo"]))
    cfg = te.cli(ResumeExperiment, args=argv, description=__doc__)
    te.Runner.from_config(cfg).train()


if __name__ == "__main__":
    main()
