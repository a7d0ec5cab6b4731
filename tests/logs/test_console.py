"""create_logger: prefix, file, rank filtering, warning de-duplication; env summary contents."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

from typedengine.logs.console import collect_env, create_logger, env_summary


def test_rank0_prints_and_writes_with_mmengine_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "run.log"
    logger = create_logger("console_r0", log_file=log_file, rank=0)
    logger.info("Epoch(train) [1][10/20]  loss: 1.0000")
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"\d\d/\d\d \d\d:\d\d:\d\d - typedengine - INFO - Epoch\(train\) \[1\]\[10/20\]  loss: 1\.0000\n", out
    )
    text = log_file.read_text()
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d - typedengine - INFO - Epoch.*\n", text)


def test_other_ranks_print_only_errors_and_write_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "rank1.log"
    logger = create_logger("console_r1", log_file=log_file, rank=1)
    logger.info("hidden")
    logger.warning("hidden too")
    logger.error("shown")
    out = capsys.readouterr().out
    assert "hidden" not in out and "ERROR - shown" in out
    assert not log_file.exists()


def test_repeated_warnings_print_once(capsys: pytest.CaptureFixture[str]) -> None:
    logger = create_logger("console_dup", log_file=None, rank=0)
    for _ in range(3):
        logger.warning("same thing")
        logger.info("info repeats")
    out = capsys.readouterr().out
    assert out.count("same thing") == 1
    assert out.count("info repeats") == 3


def test_recreating_a_logger_does_not_double_lines(capsys: pytest.CaptureFixture[str]) -> None:
    create_logger("console_again", log_file=None, rank=0)
    logger = create_logger("console_again", log_file=None, rank=0, level="debug")
    logger.debug("once")
    assert capsys.readouterr().out.count("once") == 1
    with pytest.raises(ValueError, match="log level"):
        create_logger("console_bad", log_file=None, rank=0, level="LOUD")


def test_env_summary_lists_versions_seed_and_world_size() -> None:
    env = collect_env(seed=42, world_size=4, device="cpu")
    assert env["PyTorch"] == torch.__version__
    assert env["seed"] == "42" and env["world size"] == "4" and env["device"] == "cpu"
    assert env["Python"].startswith(sys.version.split()[0])
    assert env["CUDA available"] == str(torch.cuda.is_available())
    text = env_summary(seed=42, world_size=4, device="cpu")
    assert "System environment:" in text and "    typedengine: " in text and "    seed: 42" in text


def _digits_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], level: str) -> tuple[list[str], str]:
    """A 3-epoch digits run in this process: (console lines, text log)."""
    import importlib

    import typedengine as te

    digits = importlib.import_module("01_digits")
    base = digits.DigitsExperiment()
    cfg = te.replace(
        base,
        work_dir=tmp_path / "w",
        log_level=level,
        train=te.replace(base.train, max_epochs=3),
        default_hooks=te.replace(
            base.default_hooks, logger=te.replace(base.default_hooks.logger, progress=False)
        ),
    )
    capsys.readouterr()
    with te.Runner.from_config(cfg) as runner:
        runner.train()
    console = capsys.readouterr().out.splitlines()
    return console, next(runner.log_dir.glob("*.log")).read_text()


def test_a_3_epoch_run_prints_its_training_lines_and_a_short_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    console, log = _digits_run(tmp_path, capsys, "INFO")
    prefixed = [line for line in console if " - typedengine - " in line]
    body = [line.split(" - INFO - ", 1)[1] for line in prefixed[1:]]  # after the environment block
    # 2 iteration lines + Exp name + saving + val line per epoch; nothing else
    assert len(body) == 15, body
    assert sum(line.startswith("Epoch(train) [") for line in body) == 6
    assert sum(line.startswith("Epoch(val) [") for line in body) == 3
    assert all(line.startswith(("Epoch(", "Exp name: ", "Saving checkpoint at ")) for line in body)
    assert len(console) <= 30  # issue 16: it was 345 lines, 9 of them about training
    assert "Hooks will be executed" not in "\n".join(console) and '"optim_wrapper"' not in "\n".join(console)
    # ... but the text log keeps them (the config is in config.json too)
    table = "Hooks will be executed in the following order:\nbefore_run:\n(VERY_HIGH   ) RuntimeInfoHook"
    assert table in log
    assert 'Config:\n{\n  "model": {' in log
    assert all(line in log for line in body)


def test_debug_shows_the_hook_table_and_config_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    console, _ = _digits_run(tmp_path, capsys, "DEBUG")
    text = "\n".join(console)
    assert "Hooks will be executed in the following order:" in text and 'Config:\n{\n  "model": {' in text


def test_log_detail_reaches_the_console_only_at_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from typedengine.logs.console import log_detail

    for level, shown in (("INFO", False), ("DEBUG", True)):
        log_file = tmp_path / f"{level}.log"
        logger = create_logger(f"console_detail_{level}", log_file=log_file, rank=0, level=level)
        log_detail(logger, "long detail")
        assert ("long detail" in capsys.readouterr().out) is shown
        assert "INFO - long detail" in log_file.read_text()
    logger = create_logger("console_detail_warn", log_file=tmp_path / "w.log", rank=0, level="WARNING")
    log_detail(logger, "hidden")
    assert "hidden" not in capsys.readouterr().out and "hidden" not in (tmp_path / "w.log").read_text()
