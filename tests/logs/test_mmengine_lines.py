"""Log lines and ``vis_data/scalars.json`` in MMEngine 0.10.7's exact shape, checked against lines recorded
from MMEngine (written here as text; MMEngine is not installed) and read back by MMEngine-style parsers.

Three sources of truth:

* ``MMENGINE_OWN_TESTS``: the strings MMEngine 0.10.7's own ``tests/test_runner/test_log_processor.py``
  expects from ``LogProcessor.get_log_after_iter`` / ``get_log_after_epoch`` on CPU (runner at epoch 1 of
  10, iteration 10 of 50; loaders of 20/10/5 batches; ``batch_idx=1``), trailing spaces included;
* ``RECORDED``: lines captured from MMEngine 0.10.7's Runner on a toy run (reference/mmengine.md §9.2: 5
  train batches per epoch, 2 val and 2 test batches, logger interval 2, clip_grad, outputs ``loss_cls`` and
  ``acc``, metric prefix ``toy``); the capture trimmed the trailing whitespace of val/test iteration lines;
* ``RECORDED_CUDA``: the start of a line from a CUDA run (open-mmlab/mmrotate PR #889's log).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.logs.runner_harness import toy_run
from typedengine.logs.history import MessageHub
from typedengine.logs.processor import LogPosition, LogProcessor

MMENGINE_OWN_TESTS = {
    (
        "epoch",
        "train",
    ): "Epoch(train)  [2][ 2/20]  lr: 1.0000e-01  eta: 0:00:40  time: 1.0000  data_time: 1.0000  "
    "loss_cls: 1.0000",
    ("epoch", "val"): "Epoch(val)  [1][ 2/10]    eta: 0:00:40  time: 1.0000  data_time: 1.0000  ",
    ("epoch", "test"): "Epoch(test) [2/5]    eta: 0:00:40  time: 1.0000  data_time: 1.0000  ",
    ("iter", "train"): "Iter(train) [11/50]  lr: 1.0000e-01  eta: 0:00:40  time: 1.0000  data_time: 1.0000  "
    "loss_cls: 1.0000",
    ("iter", "val"): "Iter(val) [ 2/10]    eta: 0:00:40  time: 1.0000  data_time: 1.0000  ",
    ("iter", "test"): "Iter(test) [2/5]    eta: 0:00:40  time: 1.0000  data_time: 1.0000  ",
}
MMENGINE_OWN_EPOCH_LINES = {  # get_log_after_epoch with accuracy 0.9 and data_time 1.0 (non-scalars left out)
    ("epoch", "val"): "Epoch(val) [1][10/10]    accuracy: 0.9000  data_time: 1.0000",
    ("epoch", "test"): "Epoch(test) [5/5]    accuracy: 0.9000  data_time: 1.0000",
    ("iter", "val"): "Iter(val) [10/10]    accuracy: 0.9000  data_time: 1.0000",
    ("iter", "test"): "Iter(test) [5/5]    accuracy: 0.9000  data_time: 1.0000",
}
RECORDED = [
    (
        "Epoch(train) [1][2/5]  lr: 5.5000e-02  eta: 0:00:01  time: 0.1064  data_time: 0.0011  "
        "grad_norm: 3.4167  loss: 1.2709  loss_cls: 1.2709  acc: 0.0000"
    ),
    "Epoch(val) [1][2/2]    eta: 0:00:00  time: 0.0062  data_time: 0.0004",
    "Epoch(val) [1][2/2]    toy/accuracy: 50.0000  data_time: 0.0004  time: 0.0062",
    "Epoch(test) [2/2]    toy/accuracy: 100.0000  data_time: 0.0004  time: 0.0010",
]
RECORDED_ITER = [
    (
        "Iter(train) [ 2/12]  lr: 5.5000e-02  eta: 0:00:00  time: 0.0035  data_time: 0.0009  "
        "grad_norm: …  loss: …  loss_cls: …  acc: …"
    ),
    "Iter(val) [2/2]    toy/accuracy: 75.0000  data_time: 0.0005  time: 0.0011",
]
RECORDED_CUDA = (
    "Epoch(train)   [1][  50/1000]  lr: 6.1323e-06  eta: 1 day, 2:56:08  time: 0.9702  data_time: 0.1629  "
    "memory: 30334  loss: 2.0993"
)


def shape(line: str) -> str:
    """A line with its measured values masked (counters, keys and separators stay)."""
    line = re.sub(r"\d+ days?, ", "", line)
    line = re.sub(r"\d+:\d\d:\d\d", "T", line)
    line = re.sub(r"-?\d+\.\d+e[-+]\d+", "E", line)
    return re.sub(r"-?\d+\.\d+|…", "F", line)


# --- parsers as MMEngine users write them ------------------------------------------------------------------
HEAD = re.compile(
    r"^(?P<unit>Epoch|Iter)\((?P<mode>train|val|test)\)\s*(?:\[(?P<epoch>\d+)\])?\[\s*(?P<i>\d+)/(?P<n>\d+)\]"
)


def parse_split(line: str) -> dict[str, str]:
    """Split on MMEngine's two-space separator, then on ': ' (the common hand-written parser)."""
    m = HEAD.match(line)
    assert m is not None, line
    out = {k: v for k, v in m.groupdict().items() if v is not None}
    for item in line[m.end() :].strip().split("  "):
        key, sep, value = item.partition(": ")
        assert sep, f"not a key: value item: {item!r} in {line!r}"
        out[key] = value
    return out


def parse_regex(line: str) -> dict[str, float]:
    """``re.findall(r'([\\w/.]+): ([-\\d.e+]+)')`` over the line: the regex parser of many users' scripts."""
    return {k: float(v) for k, v in re.findall(r"([\w/.]+): (-?\d+(?:\.\d+)?(?:e[-+]\d+)?)(?=\s|$)", line)}


# --- the processor against MMEngine's own expectations -----------------------------------------------------
@pytest.mark.parametrize(("unit", "mode"), list(MMENGINE_OWN_TESTS))
def test_iteration_lines_equal_mmengines_own_test_expectations(unit: str, mode: str) -> None:
    hub = MessageHub()
    if mode == "train":
        hub.update_scalar("train/lr", 0.1)
    for key in ("time", "data_time", "loss_cls"):
        hub.update_scalar(f"{mode}/{key}", 1.0)
    hub.update_info("eta", 40)
    loader = {"train": 20, "val": 10, "test": 5}[mode]
    pos = LogPosition(
        mode,  # type: ignore[arg-type]
        1,
        loader,
        epoch=2 if mode == "train" else 1,  # MMEngine: runner.epoch + 1 while training, runner.epoch in val
        iter=11,
        max_epochs=10,
        max_iters=50,
        train_by_epoch=unit == "epoch",
    )
    _, line = LogProcessor(by_epoch=unit == "epoch").iter_log(hub, pos)
    assert line == MMENGINE_OWN_TESTS[(unit, mode)]


@pytest.mark.parametrize(("unit", "mode"), list(MMENGINE_OWN_EPOCH_LINES))
def test_epoch_lines_equal_mmengines_own_test_expectations(unit: str, mode: str) -> None:
    hub = MessageHub()
    hub.update_scalar(f"{mode}/data_time", 1.0)
    loader = {"val": 10, "test": 5}[mode]
    pos = LogPosition(
        mode, loader - 1, loader, epoch=1, iter=10, max_epochs=10, train_by_epoch=unit == "epoch"
    )  # type: ignore[arg-type]
    _, line = LogProcessor(by_epoch=unit == "epoch").epoch_log(hub, pos, {"accuracy": 0.9})
    assert line == MMENGINE_OWN_EPOCH_LINES[(unit, mode)]


def test_a_cuda_line_equals_the_recorded_one() -> None:
    hub = MessageHub()
    hub.update_scalar("train/lr", 6.1323e-06)
    hub.update_scalar("train/data_time", 0.1629)
    hub.update_scalar("train/loss", 2.0993)
    hub.update_scalar("train/time", 0.9702)
    hub.update_info("eta", 96968.4)  # 1 day, 2:56:08
    pos = LogPosition(
        "train", 49, 1000, epoch=1, iter=50, max_epochs=100, max_iters=100_000, train_by_epoch=True
    )
    _, line = LogProcessor().iter_log(hub, pos, memory_mb=30334)
    assert line == RECORDED_CUDA


# --- a real run against the recorded lines ------------------------------------------------------------------
@pytest.fixture(scope="module")
def epoch_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    run = toy_run(tmp_path_factory.mktemp("epoch"), max_epochs=2)
    run.runner.train()
    run.runner.test()
    run.runner.close()
    return run.lines, run.runner.log_dir


@pytest.fixture(scope="module")
def iter_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    run = toy_run(tmp_path_factory.mktemp("iter"), max_iters=12, val_interval=6)
    run.runner.train()
    run.runner.test()
    run.runner.close()
    return run.lines, run.runner.log_dir


def _same_kind(lines: list[str], recorded: str) -> list[str]:
    """Our lines with the recorded line's head and kind (iteration line or metrics line)."""
    head = HEAD.match(recorded)
    assert head is not None
    metrics = "accuracy" in recorded
    return [line for line in lines if line.startswith(head.group(0)) and ("accuracy" in line) == metrics]


@pytest.mark.parametrize("recorded", RECORDED)
def test_an_epoch_based_run_prints_mmengines_lines(epoch_run: tuple[list[str], Path], recorded: str) -> None:
    lines, _ = epoch_run
    ours = _same_kind(lines, recorded)
    assert ours, f"no line like {recorded!r}"
    # the capture lost the trailing spaces that MMEngine's val/test iteration lines end with
    assert shape(ours[0]).rstrip() == shape(recorded)
    assert parse_split(ours[0]).keys() == parse_split(recorded).keys()
    assert parse_regex(ours[0]).keys() == parse_regex(recorded).keys()


@pytest.mark.parametrize("recorded", RECORDED_ITER)
def test_an_iteration_based_run_prints_mmengines_lines(
    iter_run: tuple[list[str], Path], recorded: str
) -> None:
    lines, _ = iter_run
    ours = _same_kind(lines, recorded)
    assert ours, f"no line like {recorded!r}"
    assert shape(ours[0]).rstrip() == shape(recorded)
    assert parse_split(ours[0]).keys() == parse_split(recorded).keys()


def test_test_lines_after_iteration_based_training_count_iterations(iter_run: tuple[list[str], Path]) -> None:
    lines, _ = iter_run
    test_lines = [line for line in lines if "(test)" in line]
    assert [line.split("    ")[0] for line in test_lines] == ["Iter(test) [2/2]", "Iter(test) [2/2]"]


def test_iteration_lines_of_val_and_test_end_as_mmengines(epoch_run: tuple[list[str], Path]) -> None:
    lines, _ = epoch_run
    timing_lines = [
        line for line in lines if line.startswith(("Epoch(val)", "Epoch(test)")) and "eta:" in line
    ]
    assert len(timing_lines) == 3  # one per val epoch (2 batches, interval 2) and one in test
    assert all(line.endswith("data_time: " + line.rsplit("data_time: ", 1)[1]) for line in timing_lines)
    assert all(re.search(r"data_time: \d\.\d{4}  $", line) for line in timing_lines)


def test_checkpoint_and_exp_name_lines(epoch_run: tuple[list[str], Path]) -> None:
    lines, _ = epoch_run
    saving = [line for line in lines if line.startswith("Saving checkpoint")]
    assert saving == ["Saving checkpoint at 1 epochs", "Saving checkpoint at 2 epochs"]
    assert sum(line.startswith("Exp name: ") for line in lines) == 2


def test_parsed_train_values_match_the_scalars_file(epoch_run: tuple[list[str], Path]) -> None:
    lines, log_dir = epoch_run
    rows = [json.loads(x) for x in (log_dir / "vis_data" / "scalars.json").read_text().splitlines()]
    train_rows = [r for r in rows if "loss" in r]
    train_lines = [line for line in lines if line.startswith("Epoch(train)")]
    assert len(train_rows) == len(train_lines) == 4
    for row, line in zip(train_rows, train_lines):
        parsed = parse_regex(line)
        assert int(parse_split(line)["i"]) + 5 * (row["epoch"] - 1) == row["iter"] == row["step"]
        for key in ("loss", "loss_cls", "acc", "grad_norm", "time", "data_time"):
            assert parsed[key] == pytest.approx(row[key], abs=5e-5)
        assert parsed["lr"] == pytest.approx(row["lr"], rel=1e-4)


# --- vis_data/scalars.json ------------------------------------------------------------------------------
def test_scalars_json_has_mmengines_rows(epoch_run: tuple[list[str], Path]) -> None:
    _, log_dir = epoch_run
    text = (log_dir / "vis_data" / "scalars.json").read_text()
    rows = [json.loads(x) for x in text.splitlines()]
    # train rows as MMEngine's LoggerHook + LocalVisBackend write them: hub order, then epoch, iter, step
    assert list(rows[0]) == [
        "lr",
        "data_time",
        "grad_norm",
        "loss",
        "loss_cls",
        "acc",
        "time",
        "epoch",
        "iter",
        "step",
    ]
    assert [(r["epoch"], r["iter"], r["step"]) for r in rows if "loss" in r] == [
        (1, 2, 2),
        (1, 4, 4),
        (2, 7, 7),
        (2, 9, 9),
    ]
    # val rows: the metrics only, at step = epoch (MMEngine's log_metric_by_epoch); no test rows
    val_rows = [r for r in rows if "loss" not in r]
    assert [list(r) for r in val_rows] == [["toy/accuracy", "step"]] * 2
    assert [r["step"] for r in val_rows] == [1, 2]
    assert len(rows) == 6
    # typedengine's own file is still there, every mode included
    own = [json.loads(x) for x in (log_dir / "scalars.jsonl").read_text().splitlines()]
    assert [r["mode"] for r in own] == ["train", "train", "val", "train", "train", "val", "test"]


def test_scalars_json_of_an_iteration_based_run(iter_run: tuple[list[str], Path]) -> None:
    _, log_dir = iter_run
    rows = [json.loads(x) for x in (log_dir / "vis_data" / "scalars.json").read_text().splitlines()]
    train = [r for r in rows if "loss" in r]
    assert all("epoch" not in r and r["iter"] == r["step"] for r in train)  # MMEngine's by_epoch=False tag
    assert [r["step"] for r in rows if "loss" not in r] == [6, 12]  # val at step = iteration


def test_scalars_json_can_be_turned_off(tmp_path: Path) -> None:
    from typedengine.logs.backends.local import LocalBackendConfig

    backend = LocalBackendConfig(mmengine_scalars_file=None).build(save_dir=tmp_path)
    backend.add_scalars({"loss": 1.0}, step=1, epoch=1, iter=1, mode="train")
    backend.close()
    assert not (tmp_path / "vis_data").exists() and (tmp_path / "scalars.jsonl").exists()
