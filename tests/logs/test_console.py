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
