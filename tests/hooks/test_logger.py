"""LoggerHook with RuntimeInfoHook and IterTimerHook on a fixed clock: golden lines and scalars.jsonl rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.logs.fake_runner import FakeClock, FakeRunner, losses, run_train, run_train_iters, run_val
from typedengine.hooks.logger import LoggerHook, LoggerHookConfig
from typedengine.hooks.runtime_info import RuntimeInfoHook
from typedengine.hooks.timer import IterTimerHook

# binary-exact durations keep eta integer parts exact
ITER_S, DATA_S = 0.125, 0.0625


def _runner(
    tmp_path: Path, progress: bool = False, **kwargs: object
) -> tuple[FakeRunner, FakeClock, LoggerHook]:
    runner = FakeRunner(tmp_path, **kwargs)  # type: ignore[arg-type]
    clock = FakeClock()
    logger = LoggerHook(progress=progress)
    for hook in (RuntimeInfoHook(), IterTimerHook(clock), logger):
        runner.register_hook(hook)
    return runner, clock, logger


def _log_lines(runner: FakeRunner) -> list[str]:
    return [line for line in runner.lines if not line.startswith("Exp name")]


def test_epoch_based_golden_lines(tmp_path: Path) -> None:
    runner, clock, _ = _runner(tmp_path, train_len=20, val_len=4, max_epochs=2)
    run_train(
        runner,
        clock,
        losses([0.25 * i for i in range(40)]),
        iter_s=ITER_S,
        data_s=DATA_S,
        val_metrics=lambda epoch: {"accuracy": 40.0 + 10 * epoch},
    )
    assert _log_lines(runner) == [
        "Epoch(train) [1][10/20]  lr: 1.0000e-03  eta: 0:00:03  time: 0.1250  data_time: 0.0625  loss: 1.1250",
        "Epoch(train) [1][20/20]  lr: 1.0000e-03  eta: 0:00:02  time: 0.1250  data_time: 0.0625  loss: 3.6250",
        "Epoch(val) [1][4/4]    accuracy: 50.0000  data_time: 0.0000  time: 0.0100",
        "Epoch(train) [2][10/20]  lr: 1.0000e-03  eta: 0:00:01  time: 0.1250  data_time: 0.0625  loss: 6.1250",
        "Epoch(train) [2][20/20]  lr: 1.0000e-03  eta: 0:00:00  time: 0.1250  data_time: 0.0625  loss: 8.6250",
        "Epoch(val) [2][4/4]    accuracy: 60.0000  data_time: 0.0000  time: 0.0100",
    ]
    assert runner.lines.count("Exp name: exp_20260101_000000") == 2  # at each epoch end
    rows = [json.loads(x) for x in (runner.log_dir / "scalars.jsonl").read_text().splitlines()]
    assert [(r["mode"], r["step"], r["epoch"]) for r in rows] == [
        ("train", 10, 1),
        ("train", 20, 1),
        ("val", 20, 1),
        ("train", 30, 2),
        ("train", 40, 2),
        ("val", 40, 2),
    ]
    assert rows[0]["loss"] == pytest.approx(1.125) and rows[0]["lr"] == 1e-3 and rows[2]["accuracy"] == 50.0
    # the text log got every line too
    text = (runner.log_dir / "run.log").read_text()
    assert "Epoch(val) [2][4/4]    accuracy: 60.0000" in text


def test_iteration_based_lines_never_show_epochs(tmp_path: Path) -> None:
    runner, clock, _ = _runner(tmp_path, train_len=8, val_len=4, by_epoch=False, max_iters=30)
    run_train_iters(
        runner,
        clock,
        losses([0.5] * 30),
        iter_s=ITER_S,
        data_s=DATA_S,
        val_every=15,
        val_metrics=lambda it: {"accuracy": float(it)},
    )
    assert _log_lines(runner) == [
        "Iter(train) [10/30]  lr: 1.0000e-03  eta: 0:00:02  time: 0.1250  data_time: 0.0625  loss: 0.5000",
        "Iter(val) [4/4]    accuracy: 15.0000  data_time: 0.0000  time: 0.0100",
        "Iter(train) [20/30]  lr: 1.0000e-03  eta: 0:00:01  time: 0.1250  data_time: 0.0625  loss: 0.5000",
        "Iter(train) [30/30]  lr: 1.0000e-03  eta: 0:00:00  time: 0.1250  data_time: 0.0625  loss: 0.5000",
        "Iter(val) [4/4]    accuracy: 30.0000  data_time: 0.0000  time: 0.0100",
    ]
    rows = [json.loads(x) for x in (runner.log_dir / "scalars.jsonl").read_text().splitlines()]
    assert [(r["mode"], r["step"]) for r in rows] == [
        ("train", 10),
        ("val", 15),
        ("train", 20),
        ("train", 30),
        ("val", 30),
    ]


def test_val_iteration_lines_and_test_lines(tmp_path: Path) -> None:
    runner, clock, _ = _runner(tmp_path, val_len=10)
    runner.call_hook("before_run")
    run_val(runner, clock, {"accuracy": 35.7}, iter_s=0.015625)
    run_val(runner, clock, {"accuracy": 36.0}, mode="test", iter_s=0.015625)
    assert _log_lines(runner) == [
        # MMEngine's shapes outside training: epoch 0 (no space on iteration lines), two trailing spaces
        "Epoch(val)[0][10/10]    eta: 0:00:00  time: 0.0156  data_time: 0.0000  ",
        "Epoch(val) [0][10/10]    accuracy: 35.7000  data_time: 0.0000  time: 0.0156",
        "Epoch(test) [10/10]    eta: 0:00:00  time: 0.0156  data_time: 0.0000  ",
        "Epoch(test) [10/10]    accuracy: 36.0000  data_time: 0.0000  time: 0.0156",
    ]


@pytest.mark.parametrize(
    ("train_len", "ignore_last", "logged"),
    [(25, True, [10, 20]), (25, False, [10, 20, 25]), (5, True, [5])],
)
def test_ignore_last(tmp_path: Path, train_len: int, ignore_last: bool, logged: list[int]) -> None:
    runner = FakeRunner(tmp_path, train_len=train_len, max_epochs=1)
    clock = FakeClock()
    for hook in (
        RuntimeInfoHook(),
        IterTimerHook(clock),
        LoggerHook(ignore_last=ignore_last, progress=False),
    ):
        runner.register_hook(hook)
    run_train(runner, clock, losses([1.0] * train_len))
    heads = [line.split("  ")[0] for line in _log_lines(runner)]
    assert heads == [f"Epoch(train) [1][{n}/{train_len}]" for n in logged]


def test_after_run_closes_the_visualizer(tmp_path: Path) -> None:
    runner, clock, _ = _runner(tmp_path, train_len=2, max_epochs=1)
    closed: list[bool] = []
    close = runner.visualizer.close
    runner.visualizer.close = lambda: (closed.append(True), close())[1]  # type: ignore[method-assign]
    run_train(runner, clock, losses([1.0, 1.0]))
    assert closed


def test_config_builds_the_hook() -> None:
    hook = LoggerHookConfig(interval_iters=50, progress=False).build()
    assert hook.interval_iters == 50 and hook.progress is False
    with pytest.raises(ValueError):
        LoggerHookConfig(interval_iters=0)


def test_progress_bar_takes_over_iteration_lines_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typedengine.hooks.logger as logger_module

    monkeypatch.setattr(logger_module, "stdout_is_terminal", lambda: True)
    runner, clock, hook = _runner(tmp_path, progress=True, train_len=20, val_len=4, max_epochs=1)
    run_train(
        runner,
        clock,
        losses([0.25 * i for i in range(20)]),
        iter_s=ITER_S,
        data_s=DATA_S,
        val_metrics=lambda epoch: {"accuracy": 50.0},
    )
    assert hook._bars.enabled and hook._bars.refreshes >= 2  # the train and the val bar
    out = capsys.readouterr().out
    # (drawing itself is covered in tests/logs/test_progress.py; pytest's captured stdout is no terminal)
    assert "Epoch(train) [1][10/20]" not in out  # the bar shows the values instead of the line ...
    assert "Epoch(val) [1][4/4]    accuracy: 50.0000" in out  # ... epoch lines still print
    text = (runner.log_dir / "run.log").read_text()
    assert "Epoch(train) [1][10/20]  lr: 1.0000e-03" in text  # the text log has every line


def test_no_progress_flag_keeps_plain_lines_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typedengine.hooks.logger as logger_module

    monkeypatch.setattr(logger_module, "stdout_is_terminal", lambda: True)
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    clock = FakeClock()
    for hook in (RuntimeInfoHook(), IterTimerHook(clock), LoggerHookConfig(progress=False).build()):
        runner.register_hook(hook)
    run_train(runner, clock, losses([1.0] * 10))
    assert "Epoch(train) [1][10/10]" in capsys.readouterr().out
