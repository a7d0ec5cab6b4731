"""Every example runs (in seconds, on CPU) and the digits CLI behaves: help, overrides, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(args: list[str], tmp_path: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(EXAMPLES)}
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_digits_trains_one_epoch_with_mmengine_style_lines(tmp_path: Path) -> None:
    res = run([str(EXAMPLES / "01_digits.py"), "--train.max-epochs", "1", "--work-dir", str(tmp_path / "w")], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert "Epoch(train) [1][10/23]  lr: " in out
    assert "Epoch(val) [1][2/2]    accuracy: " in out
    assert (tmp_path / "w" / "epoch_1.pth").exists()


def test_digits_help_lists_fields_with_descriptions(tmp_path: Path) -> None:
    res = run([str(EXAMPLES / "01_digits.py"), "--help"], tmp_path)
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    for flag, words in [
        ("--train.max-epochs", "Number of training epochs"),
        ("--model.width", "Channels of the first convolution"),
        ("--train-dataloader.batch-size", "Samples per batch"),
        ("--optim-wrapper.optimizer.lr", ""),
        ("--randomness.seed", "Global seed"),
    ]:
        assert flag in text, flag
        assert words in text, words


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--train.max-epochs", "0"], "train.max_epochs: must be >= 1"),
        (["--train.max-epochz", "3"], "--train.max-epochs"),
        (["--train-dataloader.batch-size", "abc"], "batch"),
    ],
)
def test_digits_bad_input_exits_2_without_traceback(tmp_path: Path, args: list[str], fragment: str) -> None:
    res = run([str(EXAMPLES / "01_digits.py"), *args, "--work-dir", str(tmp_path / "w")], tmp_path)
    assert res.returncode == 2
    out = res.stdout + res.stderr
    assert fragment in out
    assert "Traceback" not in out
    assert not (tmp_path / "w").exists()


def test_switching_optimizer_leaves_no_sgd_field(tmp_path: Path) -> None:
    res = run(
        [str(EXAMPLES / "01_digits.py"), "optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.lr", "1e-3", "--print-config"],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    import json

    cfg = json.loads(res.stdout)
    assert cfg["optim_wrapper"]["optimizer"]["type"] == "adamw"
    assert cfg["optim_wrapper"]["optimizer"]["lr"] == 1e-3
    assert "momentum" not in cfg["optim_wrapper"]["optimizer"] and "nesterov" not in cfg["optim_wrapper"]["optimizer"]


def test_seed_resnet_example_runs_one_iteration_on_fake_data(tmp_path: Path) -> None:
    res = run(
        [
            str(EXAMPLES / "02_seed_resnet_cifar10.py"),
            "--data.fake",
            "--data.fake-size",
            "8",
            "--batch-size",
            "8",
            "--max-epochs",
            "1",
            "--work-dir",
            str(tmp_path / "w"),
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Epoch(val) [1][1/1]    accuracy: " in res.stdout + res.stderr


def test_tensorboard_mlflow_example_writes_both_stores(tmp_path: Path) -> None:
    work = tmp_path / "w"
    res = run([str(EXAMPLES / "06_tensorboard_mlflow.py"), "--train.max-epochs", "1", "--work-dir", str(work)], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert list(work.rglob("events.out.tfevents.*"))
    assert (work / "mlruns").exists()


def test_gan_example_runs(tmp_path: Path) -> None:
    res = run([str(EXAMPLES / "04_gan_two_optimizers.py"), "--train.max-epochs", "1", "--work-dir", str(tmp_path / "w")], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "generated mean" in res.stdout


def test_digits_trains_with_bf16_amp_on_cpu(tmp_path: Path) -> None:
    res = run(
        [
            str(EXAMPLES / "01_digits.py"),
            "optim-wrapper:amp",
            "--optim-wrapper.dtype",
            "bfloat16",
            "--optim-wrapper.optimizer.lr",
            "0.05",
            "--optim-wrapper.optimizer.momentum",
            "0.9",
            "--train.max-epochs",
            "4",
            "--work-dir",
            str(tmp_path / "w"),
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    import re

    accs = [float(a) for a in re.findall(r"Epoch\(val\) \[\d\]\[2/2\]    accuracy: ([\d.]+)", res.stdout + res.stderr)]
    assert len(accs) == 4 and accs[-1] > 85.0, accs
