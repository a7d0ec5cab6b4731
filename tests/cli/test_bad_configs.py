"""Thirty-odd bad configs: each gives one clear ``path: message``, exit 2, no traceback, no training, no files.

The command-line, environment and file cases run ``examples/01_digits.py`` as a real subprocess (two at a
time); the Python cases construct configs in-process, where the same paths come out of
``format_validation_error``.
"""

from __future__ import annotations

import concurrent.futures
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import ValidationError

from typedengine.config.base import replace
from typedengine.config.errors import ConfigError, format_validation_error
from typedengine.config.files import load_config

from .digits import DigitsExperiment, run_example


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    """Lines that must appear in stderr, in order (after the headline)."""
    env: dict[str, str] = field(default_factory=dict)
    file: tuple[str, str] | None = None
    """(name, content) of a file passed with --config."""
    needs: str | None = None
    """Why the case cannot pass yet (an expected failure until the named wiring is done)."""



CASES = [
    # --- command-line values ---------------------------------------------------------------------------------
    Case("zero-epochs", ("--train.max-epochs", "0"), ("train.max_epochs: must be >= 1",)),
    Case("epochs-not-a-number", ("--train.max-epochs", "ten"), ("train.max_epochs: expected an integer, got 'ten'",)),
    Case("negative-lr", ("--optim-wrapper.optimizer.lr", "-0.1"), ("optim_wrapper.optimizer.lr: must be >= 0.0",)),
    Case(
        "beta-out-of-range",
        ("optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.betas", "0.9", "1.5"),
        ("optim_wrapper.optimizer.betas[1]: must be < 1.0",),
    ),
    Case("zero-batch", ("--train-dataloader.batch-size", "0"), ("train_dataloader.batch_size: must be >= 1",)),
    Case("negative-val-batch", ("--val-dataloader.batch-size", "-1"), ("val_dataloader.batch_size: must be >= 1",)),
    Case("dropout-too-big", ("--model.dropout", "1.5"), ("model.dropout: must be < 1.0",)),
    Case("width-zero", ("--model.width", "0"), ("model.width: must be > 0",)),
    Case(
        "val-fraction-zero",
        ("--train-dataloader.dataset.val-fraction", "0"),
        ("train_dataloader.dataset.val_fraction: must be > 0.0",),
    ),
    Case("seed-not-a-number", ("--randomness.seed", "abc"), ("randomness.seed: expected an integer, got 'abc'",)),
    Case("checkpoint-interval", ("--default-hooks.checkpoint.interval", "-5"), ("default_hooks.checkpoint.interval: must be >= -1",)),
    Case("log-interval", ("--default-hooks.logger.interval-iters", "0"), ("default_hooks.logger.interval_iters: must be >= 1",)),
    Case(
        "three-at-once",
        ("--train.max-epochs", "0", "--train-dataloader.batch-size", "0", "--model.width", "0"),
        ("model.width: must be > 0", "train_dataloader.batch_size: must be >= 1", "train.max_epochs: must be >= 1"),
    ),
    # --- unknown flags and choices -------------------------------------------------------------------------------
    Case("flag-typo", ("--train.max-epoch", "5"), ("--train.max-epoch: unknown flag; did you mean --train.max-epochs?",)),
    Case("section-typo", ("--trian.max-epochs", "5"), ("--trian.max-epochs: unknown flag; did you mean --train.max-epochs?",)),
    Case("model-typo", ("--model.widht", "3"), ("--model.widht: unknown flag; did you mean --model.width?",)),
    Case(
        "variant-typo",
        ("train:iter-basd",),
        ("train:iter-basd: unknown choice; did you mean train:iter-based? (choices: epoch-based, iter-based, none)",),
    ),
    Case("log-level-choice", ("--log-level", "LOUD",), ("invalid choice 'LOUD' for argument '--log-level'",)),
    # --- inconsistent combinations ------------------------------------------------------------------------------
    Case("val-begin-after-end", ("--train.val-begin", "20"), ("train: val_begin (20) must be <= max_epochs (10)",)),
    Case(
        "val-without-loader",
        ("val-dataloader:none",),
        ("val_dataloader: validation needs val_dataloader, val_evaluator together; val_dataloader missing",),
    ),
    Case(
        "epoch-schedule-in-iter-run",
        ("train:iter-based", "--train.max-iters", "100", "--default-hooks.checkpoint.no-by-epoch"),
        ("param_scheduler[1].by_epoch: by_epoch=True in an iteration-based run never steps",),
    ),
    # --- JSON list argument ----------------------------------------------------------------------------------------
    Case(
        "hook-out-of-range",
        ("--custom-hooks", '[{"type": "ema", "momentum": 2}]'),
        ("custom_hooks[0].momentum: must be",),
    ),
    Case(
        "hook-bad-type",
        ("--custom-hooks", '[{"type": "emma"}]'),
        ("custom_hooks[0]: unknown type 'emma'; did you mean 'ema'?",),
    ),
    Case("hook-not-json", ("--custom-hooks", "[{type: ema}]"), ("custom_hooks: invalid JSON",)),
    Case(
        "ema-with-fsdp",
        ("model-wrapper:fsdp", "--custom-hooks", '[{"type": "ema"}]'),
        ("custom_hooks[0]: the EMA hook does not support model_wrapper fsdp yet",),
    ),
    # --- environment -------------------------------------------------------------------------------------------------
    Case(
        "env-out-of-range",
        env={"TYPEDENGINE_TRAIN__MAX_EPOCHS": "-1"},
        expect=("train.max_epochs: must be >= 1 (from TYPEDENGINE_TRAIN__MAX_EPOCHS)",),
    ),
    Case(
        "env-typo",
        env={"TYPEDENGINE_TRAIN__MAX_EPOCH": "3"},
        expect=("train.max_epoch: unknown field; did you mean 'max_epochs'? (from TYPEDENGINE_TRAIN__MAX_EPOCH)",),
    ),
    # --- config files ----------------------------------------------------------------------------------------------
    Case(
        "file-typo",
        file=("typo.json", '{"train": {"type": "epoch-based", "max_epoch": 3}}'),
        expect=("train.max_epoch: unknown field; did you mean 'max_epochs'?",),
    ),
    Case(
        "file-top-level-typo",
        file=("top.yaml", "work_dirr: somewhere\n"),
        expect=("work_dirr: unknown field; did you mean 'work_dir'?",),
    ),
    Case(
        "file-bad-variant",
        file=("variant.yaml", "optim_wrapper:\n  optimizer:\n    type: adamwx\n"),
        expect=("optim_wrapper.optimizer: unknown type 'adamwx'; did you mean 'adamw'?",),
    ),
    Case("file-wrong-type", file=("type.yaml", "model:\n  width: wide\n"), expect=("model.width: expected an integer, got 'wide'",)),
    Case(
        "file-scheduler-window",
        file=("sched.json", '{"param_scheduler": [{"type": "cosine_lr", "begin": 5, "end": 2}]}'),
        expect=("param_scheduler[0]: end (2) must be larger than begin (5)",),
    ),
    Case("file-malformed-yaml", file=("broken.yaml", "train: [1, 2\n"), expect=("invalid YAML at line 2",)),
    Case("file-malformed-json", file=("broken.json", '{"train": }'), expect=("invalid JSON at line 1 column 11",)),
    Case("file-missing", ("--config", "does/not/exist.yaml"), ("file not found",)),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """Run every case (two processes at a time); each gets its own work_dir that must stay absent."""
    root = tmp_path_factory.mktemp("bad_configs")

    def one(case: Case) -> tuple[str, tuple[subprocess.CompletedProcess[str], Path]]:
        work_dir = root / case.id / "work"
        args = list(case.args)
        if case.file is not None:
            path = root / case.id / case.file[0]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(case.file[1])
            args = ["--config", str(path), *args]
        done = run_example(*args, "--work-dir", str(work_dir), env=case.env, timeout=180)
        return case.id, (done, work_dir)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, CASES))


def test_there_are_enough_cases() -> None:
    assert len(CASES) + len(PYTHON_CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.xfail(reason=c.needs, strict=True)) if c.needs else c for c in CASES],
    ids=[c.id for c in CASES],
)
def test_bad_config_exits_2_with_a_clear_message(
    case: Case, results: dict[str, tuple[subprocess.CompletedProcess[str], Path]]
) -> None:
    done, work_dir = results[case.id]
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # no training output
    assert not work_dir.exists()  # nothing written
    lines = [line.strip() for line in done.stderr.splitlines() if "Warning" not in line and "warnings.warn" not in line]
    text = "\n".join(lines)
    position = 0
    for expected in case.expect:
        found = text.find(expected, position)
        assert found >= 0, f"{expected!r} not in:\n{done.stderr}"
        position = found + len(expected)
    if lines and lines[0].startswith("error:"):
        # our own report: the headline counts exactly the listed problems
        count = int(lines[0].split()[1])
        assert count == len(case.expect), done.stderr
        assert len(lines) == 1 + count, done.stderr


# --- Python constructors --------------------------------------------------------------------------------------


def _python_cases() -> list[tuple[str, object, str]]:
    from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig
    from typedengine.optim.optimizers import SGDConfig

    net = DigitsExperiment.model_fields["model"].annotation
    base = DigitsExperiment()
    assert base.train_dataloader is not None
    return [
        ("loop-zero-epochs", lambda: EpochBasedTrainLoopConfig(max_epochs=0), "max_epochs: must be >= 1"),
        (
            "loop-val-begin",
            lambda: DigitsExperiment(train=EpochBasedTrainLoopConfig(max_epochs=2, val_begin=3)),
            "val_begin (3) must be <= max_epochs (2)",  # the loop config's own check, raised as it is built
        ),
        ("net-width", lambda: net(width=0), "width: must be > 0"),  # type: ignore[misc,operator]  # the narrowed ModelConfig subclass
        ("sgd-lr", lambda: SGDConfig(lr=-1.0), "lr: must be >= 0.0"),
        (
            "root-typo",
            lambda: DigitsExperiment.model_validate({"modle": {"width": 3}}),
            "modle: unknown field; did you mean 'model'?",
        ),
        (
            "replace-drops-train-data",
            lambda: replace(base, train_dataloader=None),
            "train_dataloader: training needs train_dataloader, train, optim_wrapper together; train_dataloader missing",
        ),
        (
            "replace-bad-batch",
            lambda: replace(base, train_dataloader=replace(base.train_dataloader, batch_size=0)),  # type: ignore[type-var]  # checked above
            "batch_size: must be >= 1",
        ),
    ]


PYTHON_CASES = _python_cases()


@pytest.mark.parametrize(("make", "message"), [c[1:] for c in PYTHON_CASES], ids=[c[0] for c in PYTHON_CASES])
def test_python_constructor_errors_name_the_path(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ValidationError) as info:
        make()
    issues = [str(i) for i in format_validation_error(info.value, DigitsExperiment)]
    assert len(issues) == 1 and issues[0].endswith(message), issues


def test_loading_a_bad_file_in_python_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  width: 0\ntrain:\n  type: epoch-based\n  max_epoch: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(DigitsExperiment, path)
    assert [str(i) for i in info.value.issues] == [
        "model.width: must be > 0",
        "train.max_epoch: unknown field; did you mean 'max_epochs'?",
    ]
