"""The W&B backend in offline mode, its run files read back with wandb's own reader.

wandb 0.31 ships no Python reader for a run's ``.wandb`` transaction log; its reader is the CLI
``wandb leet inspect --json RUN_FILE`` (wandb-core), which prints every record as one JSON object.
Everything wandb writes goes under pytest's temporary directories: run files under the run's save dir,
its service logs/settings/cache under a sandbox, and the working directory is an empty folder that must
stay empty (no stray ``wandb/``). No network: offline mode, no API key, an unreachable base URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from torch.utils.data import DataLoader

import typedengine as te
from tests.conftest import TinyMLP, make_data
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig
from typedengine.logs.backends.local import LocalBackendConfig
from typedengine.logs.backends.wandb import WandbBackend, WandbBackendConfig
from typedengine.logs.visualizer import VisualizerConfig

wandb = pytest.importorskip("wandb", minversion="0.31.0")  # `wandb leet inspect --json` reads the run files

REPO = Path(__file__).resolve().parents[2]
Record = dict[str, Any]  # one JSON object from the reader


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """wandb's process-wide files in a temp dir, no way to reach a server; yields the (empty) working dir."""
    root = tmp_path_factory.mktemp("wandb_sandbox")
    cwd = root / "cwd"
    cwd.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("WANDB_")]:
            mp.delenv(var)
        mp.setenv("WANDB_SILENT", "true")
        mp.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # the discard port: nothing could be uploaded
        for var, sub in [
            ("WANDB_CACHE_DIR", "cache"),
            ("WANDB_CONFIG_DIR", "config"),
            ("WANDB_DATA_DIR", "data"),
        ]:
            mp.setenv(var, str(root / sub))
        mp.setenv("WANDB_ARTIFACT_DIR", str(root / "artifacts"))
        mp.chdir(cwd)
        wandb.teardown()  # a wandb service started earlier in this process would keep its old environment
        try:
            yield cwd
        finally:
            wandb.teardown()  # stop the wandb-core service this module started


def assert_no_stray_files(cwd: Path) -> None:
    assert list(cwd.iterdir()) == []
    assert not (REPO / "wandb").exists()


def read_runs(save_dir: Path) -> list[tuple[Path, list[Record]]]:
    """Each offline run under ``save_dir/wandb``: its ``.wandb`` file and records, oldest run first."""
    runs = [(f, inspect(f)) for f in (save_dir / "wandb").glob("offline-run-*/run-*.wandb")]

    def started(run: tuple[Path, list[Record]]) -> tuple[bool, str]:  # records not on disk yet: last
        info = of_type(run[1], "run")
        return (not info, str(info[0]["start_time"]) if info else "")

    return sorted(runs, key=started)


def inspect(run_file: Path) -> list[Record]:
    """Every record of a run file, through ``wandb leet inspect --json`` (wandb's own reader)."""
    out = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def of_type(records: list[Record], kind: str) -> list[Record]:
    return [r[kind] for r in records if r["type"] == kind]


def history(records: list[Record]) -> dict[int, dict[str, object]]:
    """step → the logged values of that step (wandb's own ``_step``/``_runtime``/... removed)."""
    rows: dict[int, dict[str, object]] = {}
    for h in of_type(records, "history"):
        item: Record = h["item"]
        step = int(h["step"]["num"])
        assert item["_step"] == step and step not in rows
        rows[step] = {k: v for k, v in item.items() if not k.startswith("_")}
    return rows


def run_config(records: list[Record]) -> dict[str, object]:
    """The run's config after every update (without wandb's own ``_wandb`` entry)."""
    config: dict[str, object] = {}
    config.update(of_type(records, "run")[0]["config"]["update"])
    for c in of_type(records, "config"):
        config.update(c.get("update", {}))
    config.pop("_wandb", None)
    return config


def assert_finished_offline(records: list[Record], *, project: str, name: str) -> None:
    assert [e["exit_code"] for e in of_type(records, "exit")] == [0], "close() did not finish the run"
    (run,) = of_type(records, "run")
    assert (run["project"], run["display_name"]) == (project, name)
    assert run["telemetry"]["feature"]["offline"] is True


def test_training_run_scalars_and_command_equal_the_local_backend(tmp_path: Path, sandbox: Path) -> None:
    runner = te.Runner(
        model=TinyMLP(),
        work_dir=tmp_path / "digits",
        default_hooks=DefaultHooksConfig(
            checkpoint=None, logger=LoggerHookConfig(interval_iters=3, progress=False)
        ),
        train_dataloader=DataLoader(make_data(n=32), batch_size=4),  # 8 iterations per epoch
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        optim_wrapper=te.OptimWrapperConfig(),
        val_dataloader=DataLoader(make_data(n=8, seed=2), batch_size=4),
        val_evaluator=te.Accuracy(),
        visualizer=VisualizerConfig(backends=(LocalBackendConfig(), WandbBackendConfig())),
    )
    runner.train()
    runner.close()

    local = [json.loads(line) for line in (runner.log_dir / "scalars.jsonl").read_text().splitlines()]
    expected: dict[int, dict[str, object]] = {}
    for row in local:
        values = {
            f"{row['mode']}/{k}": v for k, v in row.items() if k not in ("mode", "step", "epoch", "iter")
        }
        expected.setdefault(row["step"], {}).update(values)
    assert [(r["mode"], r["step"]) for r in local if r["mode"] == "val"] == [("val", 8), ("val", 16)]
    assert {"train/loss", "train/lr", "val/accuracy"} <= {k for v in expected.values() for k in v}

    ((_, records),) = read_runs(runner.log_dir)
    assert history(records) == expected  # same names, steps and (bit-exact) values
    command = (runner.log_dir / "command.txt").read_text().rstrip("\n")
    assert run_config(records) == {
        **json.loads((runner.log_dir / "config.json").read_text()),
        "command": command,
    }
    assert_finished_offline(records, project="digits", name=runner.timestamp)
    assert_no_stray_files(sandbox)


def test_train_then_test_finishes_both_runs(tmp_path: Path, sandbox: Path) -> None:
    runner = te.Runner(
        model=TinyMLP(),
        work_dir=tmp_path / "digits",
        default_hooks=DefaultHooksConfig(
            checkpoint=None, logger=LoggerHookConfig(interval_iters=4, progress=False)
        ),
        train_dataloader=DataLoader(make_data(n=16), batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=1),
        optim_wrapper=te.OptimWrapperConfig(),
        test_dataloader=DataLoader(make_data(n=8, seed=3), batch_size=4),
        test_evaluator=te.Accuracy(),
        visualizer=VisualizerConfig(backends=(WandbBackendConfig(),)),
    )
    runner.train()
    metrics = runner.test()
    runner.close()
    try:
        (_, train_run), (_, test_run) = read_runs(runner.log_dir)
        assert_finished_offline(train_run, project="digits", name=runner.timestamp)
        assert_finished_offline(test_run, project="digits", name=runner.timestamp)
        assert history(test_run) == {4: {"test/accuracy": metrics["accuracy"]}}
    finally:
        for backend in runner.visualizer.backends:
            backend.close()  # no run of this test stays active for the next ones


def test_scalars_config_and_images_read_back(tmp_path: Path, sandbox: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")

    save_dir = tmp_path / "work" / "20260101_000000"
    vis = VisualizerConfig(backends=(WandbBackendConfig(),)).build(save_dir=save_dir, rank=0)
    config = {"model": {"width": 32, "act": "relu"}, "optim": {"lr": 0.1, "betas": [0.9, 0.99]}, "amp": False}
    vis.add_config({**config, "load_from": None}, "python exp.py --optim.lr 0.1")
    for step in (10, 20, 30):
        vis.add_scalars({"loss": 1.0 / step, "lr": 0.1 * 0.5 ** (step // 10)}, step=step, mode="train")
    vis.add_scalars({"accuracy": 91.5, "top5": 99.25}, step=30, mode="val")
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3
    grey = np.linspace(0.0, 1.0, 15).reshape(3, 5)  # float HW in [0, 1]: the visualizer converts it
    vis.add_image("samples/pred", rgb, step=30)
    vis.add_image("gradcam", grey, step=40)
    vis.close()

    assert list(tmp_path.iterdir()) == [tmp_path / "work"] and list(save_dir.parent.iterdir()) == [save_dir]
    assert list(save_dir.iterdir()) == [save_dir / "wandb"]  # everything under <save_dir>/wandb
    ((run_file, records),) = read_runs(save_dir)
    rows = history(records)
    assert sorted(rows) == [10, 20, 30, 40]
    assert rows[20] == {"train/loss": 1.0 / 20, "train/lr": 0.1 * 0.5**2}
    scalars_30 = {k: v for k, v in rows[30].items() if not k.startswith("samples/pred.")}
    assert scalars_30 == {
        "train/loss": 1.0 / 30,
        "train/lr": 0.1 * 0.5**3,
        "val/accuracy": 91.5,
        "val/top5": 99.25,
    }
    assert run_config(records) == {**config, "load_from": None, "command": "python exp.py --optim.lr 0.1"}
    assert_finished_offline(records, project="work", name="20260101_000000")

    for name, step, want, pil_mode in [
        ("samples/pred", 30, rgb, "RGB"),
        ("gradcam", 40, np.round(grey * 255).astype(np.uint8), "L"),
    ]:
        row = rows[step]
        assert row[f"{name}._type"] == "image-file"
        assert (row[f"{name}.height"], row[f"{name}.width"]) == want.shape[:2]
        with image_module.open(run_file.parent / "files" / str(row[f"{name}.path"])) as png:
            assert png.mode == pil_mode
            np.testing.assert_array_equal(np.asarray(png), want)
    assert_no_stray_files(sandbox)


def test_logging_after_close_starts_a_new_finished_run(tmp_path: Path, sandbox: Path) -> None:
    save_dir = tmp_path / "work" / "20260101_000000"
    backend = WandbBackendConfig(project="proj", name="trial-3").build(save_dir=save_dir)
    backend.add_scalars({"loss": 0.5}, step=16, mode="train")
    backend.close()
    backend.close()  # idempotent
    backend.add_scalars({"accuracy": 12.5}, step=16, mode="test")  # train() then test(): a later phase
    backend.close()

    (_, first), (_, second) = read_runs(save_dir)
    assert history(first) == {16: {"train/loss": 0.5}}
    assert history(second) == {16: {"test/accuracy": 12.5}}
    for records in (first, second):
        assert_finished_offline(records, project="proj", name="trial-3")
    assert_no_stray_files(sandbox)


def test_two_open_backends_each_log_to_their_own_run(tmp_path: Path, sandbox: Path) -> None:
    a = WandbBackend(tmp_path / "a", project="p", name="a")
    b = WandbBackend(tmp_path / "b", project="p", name="b")
    a.add_scalars({"loss": 1.0}, step=1)
    b.add_scalars({"loss": 2.0}, step=1)
    b.add_config({"lr": 0.2}, "b")
    a.add_scalars({"loss": 0.5}, step=2)
    b.close()
    a.add_scalars({"loss": 0.25}, step=3)  # still open after the other run finished
    a.close()

    ((_, records_a),) = read_runs(tmp_path / "a")
    ((_, records_b),) = read_runs(tmp_path / "b")
    assert history(records_a) == {1: {"train/loss": 1.0}, 2: {"train/loss": 0.5}, 3: {"train/loss": 0.25}}
    assert history(records_b) == {1: {"train/loss": 2.0}}
    assert run_config(records_a) == {} and run_config(records_b) == {"lr": 0.2, "command": "b"}
    assert_finished_offline(records_a, project="p", name="a")
    assert_finished_offline(records_b, project="p", name="b")
    assert_no_stray_files(sandbox)


def test_disabled_mode_writes_no_run(tmp_path: Path, sandbox: Path) -> None:
    backend = WandbBackendConfig(mode="disabled").build(save_dir=tmp_path / "run")
    backend.add_config({"a": 1}, "cmd")
    backend.add_scalars({"loss": 1.0}, step=1)
    backend.add_image("x", np.zeros((2, 2, 3), dtype=np.uint8), step=1)
    backend.close()
    assert list((tmp_path / "run").rglob("*")) == []
    assert_no_stray_files(sandbox)
