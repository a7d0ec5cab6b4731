"""Every kind of user mistake, from every entry point, ends the same way: one message, exit 2, nothing written.

One table (:data:`CASES`): command-line flags, ``--config`` files, ``TYPEDENGINE_…`` variables, built
objects handed to the Runner (the seed's style) and ``Runner.from_config``. Each case asserts the exit
code, the headline and every ``path: message`` line, that no traceback is printed, that the error comes
within 2 s of CPU time (path and cross-field checks need no model, no data and no torch import), and
that nothing was created under the case's directory. The table runs in-process (``te.cli(args=...,
environ=...)``); :data:`SUBPROCESS_CASES` run a representative subset, and the mistakes only a real
script can make (its own Python, ``--help | head``, a fault during the run), as real processes.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from typedengine.cli import cli
from typedengine.config.base import replace
from typedengine.config.errors import ConfigError, format_validation_error
from typedengine.config.files import load_config
from typedengine.errors import enable_cli_reporting

from .digits import EXAMPLE, ROOT, DigitsExperiment

CPU_BUDGET_S = 2.0
"""CPU seconds from start to the error (CPU, not wall time: the test machine's 2 cores are shared)."""

CLI, ENV, FILE = "the command line", "the environment", "FILE"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    """What kind of mistake (value, unknown name, variant, cross-field, path, JSON, syntax, ...)."""
    args: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    """The ``path: message`` lines, in order (each line starts with its text); their count is checked."""
    source: str = CLI
    """Where the headline says the problems are (FILE: the case's --config file)."""
    env: dict[str, str] = field(default_factory=dict)
    file: tuple[str, str] | None = None
    """(name, content) of a file passed with --config."""
    work_dir: str | None = None
    """``--work-dir`` value ({tmp} is the case's directory; "-": none given); default: a fresh directory."""


def _sample_files(tmp: Path) -> None:
    (tmp / "notes.txt").write_text("not a checkpoint\n")
    (tmp / "fake.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: a zip archive, not torch's
    # a .safetensors header: 8-byte length, then JSON
    header = b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'
    (tmp / "weights.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(4))


CASES: list[Case] = [
    # --- values -------------------------------------------------------------------------------------------
    Case("zero-epochs", "value", ("--train.max-epochs", "0"), ("train.max_epochs: must be >= 1",)),
    Case("epochs-not-a-number", "value", ("--train.max-epochs", "ten"), ("train.max_epochs: expected an integer, got 'ten'",)),
    Case("negative-lr", "value", ("--optim-wrapper.optimizer.lr", "-0.1"), ("optim_wrapper.optimizer.lr: must be >= 0.0",)),
    Case(
        "beta-out-of-range", "value",
        ("optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.betas", "0.9", "1.5"),
        ("optim_wrapper.optimizer.betas[1]: must be < 1.0",),
    ),
    Case("zero-batch", "value", ("--train-dataloader.batch-size", "0"), ("train_dataloader.batch_size: must be >= 1",)),
    Case("dropout-too-big", "value", ("--model.dropout", "1.5"), ("model.dropout: must be < 1.0",)),
    Case("width-zero", "value", ("--model.width", "0"), ("model.width: must be > 0",)),
    Case(
        "val-fraction-zero", "value",
        ("--train-dataloader.dataset.val-fraction", "0"),
        ("train_dataloader.dataset.val_fraction: must be > 0.0",),
    ),
    Case("seed-not-a-number", "value", ("--randomness.seed", "abc"), ("randomness.seed: expected an integer, got 'abc'",)),
    Case(
        "checkpoint-interval", "value", ("--default-hooks.checkpoint.interval", "-5"),
        ("default_hooks.checkpoint.interval: must be >= -1",),
    ),
    Case(
        "three-at-once", "value",
        ("--train.max-epochs", "0", "--train-dataloader.batch-size", "0", "--model.width", "0"),
        ("model.width: must be > 0", "train_dataloader.batch_size: must be >= 1", "train.max_epochs: must be >= 1"),
    ),
    Case(
        "log-level-choice", "value", ("--log-level", "LOUD"),
        ("log_level: must be one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR', got 'LOUD'",),
    ),
    Case(
        "bool-or-literal-one-line", "value", ("--randomness.deterministic", "maybe"),
        ("randomness.deterministic: expected true, false or 'warn', got 'maybe'",),
    ),
    # --- unknown names ------------------------------------------------------------------------------------------
    Case("flag-typo", "unknown", ("--train.max-epoch", "5"), ("--train.max-epoch: unknown flag; did you mean --train.max-epochs?",)),
    Case("section-typo", "unknown", ("--trian.max-epochs", "5"), ("--trian.max-epochs: unknown flag; did you mean --train.max-epochs?",)),
    Case("model-typo", "unknown", ("--model.widht", "3"), ("--model.widht: unknown flag; did you mean --model.width?",)),
    Case(
        "case-folded-suggestion", "unknown",
        ("param-scheduler.1:cosine-annealing", "--param-scheduler.1.t-max", "3"),
        ("--param-scheduler.1.t-max: unknown flag; did you mean --param-scheduler.1.T-max?",),
    ),
    Case(
        "variant-typo", "unknown", ("train:iter-basd",),
        ("train:iter-basd: unknown choice; did you mean train:iter-based? (choices: epoch-based, iter-based, none)",),
    ),
    # --- flags of a variant that is not selected --------------------------------------------------------------
    Case(
        "flag-of-another-optimizer", "variant", ("--optim-wrapper.optimizer.betas", "0.9", "0.99"),
        (("--optim-wrapper.optimizer.betas: belongs to optim-wrapper.optimizer:adam (or adamw, adamax, nadam, ...), "
         "not to optim-wrapper.optimizer:sgd; select it first: optim-wrapper.optimizer:adam "
         "--optim-wrapper.optimizer.betas ..."),),
    ),
    Case(
        "flag-of-another-loop", "variant", ("train:iter-based", "--train.max-epochs", "3"),
        (("--train.max-epochs: belongs to train:epoch-based, not to train:iter-based; select it first: "
         "train:epoch-based --train.max-epochs ..."),),
    ),
    Case(
        "flag-of-a-slot-that-is-off", "variant", ("--default-hooks.ema.momentum", "0.01"),
        (("--default-hooks.ema.momentum: default-hooks.ema is off (none); switch it on first: default-hooks.ema:ema "
         "--default-hooks.ema.momentum ..."),),
    ),
    Case(
        "two-choices-for-one-field", "variant", ("optim-wrapper.optimizer:adamw", "optim-wrapper.optimizer:sgd"),
        (("optim-wrapper.optimizer:sgd: optim-wrapper.optimizer is already chosen as optim-wrapper.optimizer:adamw; "
         "choose one"),),
    ),
    Case(
        "missing-flag-value", "syntax", ("--train.max-epochs",),
        ("Missing argument: Missing value for argument '--train.max-epochs'",),
    ),
    # --- cross-field --------------------------------------------------------------------------------------------
    Case("val-begin-after-end", "cross-field", ("--train.val-begin", "20"), ("train: val_begin (20) must be <= max_epochs (10)",)),
    Case(
        "val-without-loader", "cross-field", ("val-dataloader:none",),
        ("val_dataloader: validation needs val_dataloader, val_evaluator together; val_dataloader missing",),
    ),
    Case(
        "epoch-schedule-in-iter-run", "cross-field",
        ("train:iter-based", "--train.max-iters", "100", "--default-hooks.checkpoint.no-by-epoch"),
        ("param_scheduler[1].by_epoch: by_epoch=True in an iteration-based run never steps",),
    ),
    Case(
        "ema-configured-twice", "cross-field", ("default-hooks.ema:ema", "--custom-hooks", '[{"type": "ema"}]'),
        ("custom_hooks[0]: a second ema hook (also at default_hooks.ema) would run twice; keep one",),
    ),
    Case(
        "ema-with-fsdp", "cross-field", ("model-wrapper:fsdp", "--custom-hooks", '[{"type": "ema"}]'),
        ("custom_hooks[0]: the EMA hook does not support model_wrapper fsdp yet",),
    ),
    # --- JSON arguments -------------------------------------------------------------------------------------------
    Case("hook-out-of-range", "json", ("--custom-hooks", '[{"type": "ema", "momentum": 2}]'), ("custom_hooks[0].momentum: must be",)),
    Case("hook-bad-type", "json", ("--custom-hooks", '[{"type": "emma"}]'), ("custom_hooks[0]: unknown type 'emma'; did you mean 'ema'?",)),
    Case("hook-not-json", "json", ("--custom-hooks", "[{type: ema}]"), ("custom_hooks: invalid JSON",)),
    # --- paths (checked on disk before anything is built) -----------------------------------------------------------
    Case("load-from-missing", "path", ("--load-from", "{tmp}/nope.pth"), ("load_from: {tmp}/nope.pth: no such file",)),
    Case(
        "resume-not-a-checkpoint", "path", ("--resume", "{tmp}/notes.txt"),
        ("resume: {tmp}/notes.txt: is not a checkpoint (not a torch.save archive)",),
    ),
    Case(
        "resume-from-weights-only", "path", ("--resume", "{tmp}/weights.safetensors"),
        ("resume: {tmp}/weights.safetensors: is a safetensors file (weights only); resume needs a checkpoint",),
    ),
    Case(
        "load-from-a-plain-zip", "path", ("--load-from", "{tmp}/fake.zip"),
        ("load_from: {tmp}/fake.zip: is a zip archive but not one written by torch.save",),
    ),
    Case("load-from-a-directory", "path", ("--load-from", "{tmp}"), ("load_from: {tmp}: is a directory, not a checkpoint file",)),
    Case("work-dir-is-a-file", "path", work_dir="{tmp}/notes.txt", expect=("work_dir: {tmp}/notes.txt is a file, not a directory",)),
    Case(
        "work-dir-under-a-file", "path", work_dir="{tmp}/notes.txt/run",
        expect=("work_dir: {tmp}/notes.txt/run lies under {tmp}/notes.txt, which is a file",),
    ),
    Case("work-dir-empty", "path", work_dir="", expect=("work_dir: must not be empty",)),
    Case(
        "save-config-under-a-file", "path", ("--save-config", "{tmp}/notes.txt/cfg.json"),
        (("--save-config: cannot write {tmp}/notes.txt/cfg.json: {tmp}/notes.txt/cfg.json lies under {tmp}/notes.txt, "
         "which is a file"),),
    ),
    Case(
        "values-and-paths-together", "path", ("--train.max-epochs", "0", "--load-from", "{tmp}/nope.pth"),
        ("train.max_epochs: must be >= 1", "load_from: {tmp}/nope.pth: no such file"),
    ),
    # --- environment ------------------------------------------------------------------------------------------------
    Case(
        "env-out-of-range", "value", source=ENV, env={"TYPEDENGINE_TRAIN__MAX_EPOCHS": "-1"},
        expect=("train.max_epochs: must be >= 1 (from TYPEDENGINE_TRAIN__MAX_EPOCHS)",),
    ),
    Case(
        "env-typo", "unknown", source=ENV, env={"TYPEDENGINE_TRAIN__MAX_EPOCH": "3"},
        expect=("train.max_epoch: unknown field; did you mean 'max_epochs'? (from TYPEDENGINE_TRAIN__MAX_EPOCH)",),
    ),
    Case(
        "env-one-underscore-where-two-nest", "unknown", source=ENV, env={"TYPEDENGINE_TRAIN_MAX_EPOCHS": "3"},
        expect=("train_max_epochs: unknown field; did you mean TYPEDENGINE_TRAIN__MAX_EPOCHS?",),
    ),
    Case(
        "env-one-underscore-higher-up", "unknown", source=ENV, env={"TYPEDENGINE_OPTIM_WRAPPER_OPTIMIZER__LR": "0.1"},
        expect=(("optim_wrapper_optimizer: unknown field; did you mean TYPEDENGINE_OPTIM_WRAPPER__OPTIMIZER__LR? "
                "(from TYPEDENGINE_OPTIM_WRAPPER_OPTIMIZER__LR)"),),
    ),
    Case(
        "env-broken-json", "json", source=ENV, env={"TYPEDENGINE_CUSTOM_HOOKS": '[{"type": ema}]'},
        expect=("custom_hooks: invalid JSON in TYPEDENGINE_CUSTOM_HOOKS: Expecting value at column 11",),
    ),
    Case(
        "env-broken-json-for-a-number", "json", source=ENV, env={"TYPEDENGINE_TRAIN__MAX_EPOCHS": "{3"},
        expect=("train.max_epochs: invalid JSON in TYPEDENGINE_TRAIN__MAX_EPOCHS:",),
    ),
    Case(
        "env-bool-or-literal", "value", source=ENV, env={"TYPEDENGINE_RANDOMNESS__DETERMINISTIC": "maybe"},
        expect=("randomness.deterministic: expected true, false or 'warn', got 'maybe' (from TYPEDENGINE_RANDOMNESS__DETERMINISTIC)",),
    ),
    Case(
        "env-path", "path", source=f"{ENV} and {CLI}", env={"TYPEDENGINE_LOAD_FROM": "{tmp}/nope.pth"},
        expect=("load_from: {tmp}/nope.pth: no such file",),
    ),
    # --- config files -------------------------------------------------------------------------------------------------
    Case(
        "file-typo", "unknown", source=FILE, file=("typo.json", '{"train": {"type": "epoch-based", "max_epoch": 3}}'),
        expect=("train.max_epoch: unknown field; did you mean 'max_epochs'?",),
    ),
    Case(
        "file-top-level-typo", "unknown", source=FILE, file=("top.yaml", "work_dirr: somewhere\n"),
        expect=("work_dirr: unknown field; did you mean 'work_dir'?",),
    ),
    Case(
        "file-bad-variant", "unknown", source=FILE, file=("variant.yaml", "optim_wrapper:\n  optimizer:\n    type: adamwx\n"),
        expect=("optim_wrapper.optimizer: unknown type 'adamwx'; did you mean 'adamw'?",),
    ),
    Case(
        "file-wrong-type", "value", source=FILE, file=("type.yaml", "model:\n  width: wide\n"),
        expect=("model.width: expected an integer, got 'wide'",),
    ),
    Case(
        "file-short-tuple", "value", source=FILE,
        file=("betas.yaml", "optim_wrapper: {optimizer: {type: adamw, betas: [0.9]}}\n"),
        expect=("optim_wrapper.optimizer.betas[1]: missing: the list has too few values",),
    ),
    Case(
        "file-bool-or-path", "value", source=FILE, file=("resume.yaml", "resume: 3\n"),
        expect=("resume: expected true, false or a path, got 3",),
    ),
    Case(
        "file-scheduler-window", "cross-field", source=FILE,
        file=("sched.json", '{"param_scheduler": [{"type": "cosine_lr", "begin": 5, "end": 2}]}'),
        expect=("param_scheduler[0]: end (2) must be larger than begin (5)",),
    ),
    Case(
        "file-empty-work-dir", "path", source=FILE, file=("wd.yaml", 'work_dir: ""\n'), work_dir="-",
        expect=("work_dir: must not be empty",),
    ),
    Case("file-malformed-yaml", "syntax", source=FILE, file=("broken.yaml", "train: [1, 2\n"), expect=("invalid YAML at line 2",)),
    Case("file-malformed-json", "syntax", source=FILE, file=("broken.json", '{"train": }'), expect=("invalid JSON at line 1 column 11",)),
    Case("file-missing", "path", ("--config", "{tmp}/does/not/exist.yaml"), ("file not found",), source="{tmp}/does/not/exist.yaml"),
]


def _fill(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@dataclass
class Outcome:
    code: object
    stderr: str
    stdout: str
    cpu_s: float


def _run_in_process(case: Case, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    args = [_fill(a, tmp) for a in case.args]
    if case.file is not None:
        path = tmp / case.file[0]
        path.write_text(case.file[1])
        args = ["--config", str(path), *args]
    if case.work_dir != "-":
        args += ["--work-dir", _fill(case.work_dir, tmp) if case.work_dir is not None else str(tmp / "work")]
    env = {k: _fill(v, tmp) for k, v in case.env.items()}
    start = time.process_time()
    with pytest.raises(SystemExit) as info:
        cli(DigitsExperiment, args=args, environ=env)
    cpu = time.process_time() - start
    out = capsys.readouterr()
    return Outcome(info.value.code, out.err, out.out, cpu)


def _check_message(case: Case, stderr: str, tmp: Path) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    source = str(tmp / case.file[0]) if case.source == FILE and case.file is not None else _fill(case.source, tmp)
    noun = "problem" if len(case.expect) == 1 else "problems"
    assert lines[0] == f"error: {len(case.expect)} config {noun} in {source}:", stderr
    body = [line.strip() for line in lines[1:] if line.strip() != "(see --help)"]
    assert len(body) == len(case.expect), stderr
    for got, want in zip(body, case.expect):
        assert got.startswith(_fill(want, tmp)), f"{want!r} is not the start of {got!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mistake_exits_2_with_one_clear_message(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _sample_files(tmp_path)
    before = _snapshot(tmp_path)
    outcome = _run_in_process(case, tmp_path, capsys)
    assert outcome.code == 2, outcome.stderr
    assert outcome.stdout == ""
    _check_message(case, outcome.stderr, tmp_path)
    assert outcome.cpu_s < CPU_BUDGET_S, f"{outcome.cpu_s:.2f} s of CPU before the error"
    created = _snapshot(tmp_path) - before - ({case.file[0]} if case.file else set())
    assert not created, f"written despite the error: {sorted(created)}"


def test_the_table_covers_every_kind_from_every_entry_point() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    kinds = {c.kind for c in CASES}
    assert {"value", "unknown", "variant", "cross-field", "path", "json", "syntax"} <= kinds
    by_source = {(CLI if not c.env and not c.file else ENV if c.env else FILE) for c in CASES}
    assert by_source == {CLI, ENV, FILE}
    assert len(BUILT_CASES) >= 6 and len(SUBPROCESS_CASES) >= 8


# --- built objects (the seed's style) and Runner.from_config ---------------------------------------------------


def _built_cases() -> list[tuple[str, Callable[[Path], object], tuple[str, ...], str]]:
    import torch
    from torch.utils.data import DataLoader

    import typedengine as te
    from tests.conftest import TinyMLP, make_data
    from typedengine.hooks.ema import EMAHookConfig

    def runner(tmp: Path, **parts: object) -> object:
        given: dict[str, object] = {"model": TinyMLP(), "work_dir": tmp / "work", **parts}
        return te.Runner(**given)  # type: ignore[arg-type]

    def copied(tmp: Path) -> object:
        cfg = DigitsExperiment(work_dir=tmp / "work")
        broken = cfg.model_copy(update={"train": cfg.train.model_copy(update={"max_epochs": 0})})  # type: ignore[union-attr]
        return te.Runner.from_config(broken)

    loader = DataLoader(make_data(n=16), batch_size=4)
    epoch = te.EpochBasedTrainLoopConfig(max_epochs=1)
    sgd = te.OptimWrapperConfig(optimizer=te.SGDConfig(lr=0.1))
    args = "the Runner's arguments"
    return [
        ("train-without-optimizer", lambda tmp: runner(tmp, train_dataloader=loader, train=epoch),
         ("optim_wrapper: training needs train_dataloader, train, optim_wrapper together; optim_wrapper missing",), args),
        ("ema-twice", lambda tmp: runner(tmp, custom_hooks=[EMAHookConfig(), EMAHookConfig()]),
         ("custom_hooks[1]: a second ema hook (also at custom_hooks[0]) would run twice; keep one",), args),
        ("load-from-missing", lambda tmp: runner(tmp, load_from=tmp / "nope.pth"),
         ("load_from: {tmp}/nope.pth: no such file",), args),
        ("work-dir-is-a-file", lambda tmp: runner(tmp, work_dir=tmp / "notes.txt"),
         ("work_dir: {tmp}/notes.txt is a file, not a directory",), args),
        ("not-a-model", lambda tmp: runner(tmp, model=torch.zeros(3)),
         ("model: expected a typedengine BaseModel or a ModelConfig, got Tensor",), args),
        ("unknown-hook-slot", lambda tmp: runner(tmp, default_hooks={"timr": None}),
         ("default_hooks.timr: unknown slot; slots are runtime_info, timer,",), args),
        ("several-at-once", lambda tmp: runner(tmp, train=epoch, optim_wrapper=sgd, load_from=tmp / "nope.pth"),
         ("train_dataloader: training needs train_dataloader, train, optim_wrapper together; train_dataloader missing",
          "load_from: {tmp}/nope.pth: no such file"), args),
        ("model-copy-revalidated", copied, ("train.max_epochs: must be >= 1",), "the config"),
    ]


BUILT_CASES = _built_cases()


@pytest.mark.parametrize(("make", "expect", "source"), [c[1:] for c in BUILT_CASES], ids=[c[0] for c in BUILT_CASES])
def test_built_objects_are_checked_before_anything_is_created(
    make: Callable[[Path], object], expect: tuple[str, ...], source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sample_files(tmp_path)
    before = _snapshot(tmp_path)
    # Outside a command-line run the error propagates, as a UsageError naming every problem ...
    with pytest.raises(ConfigError) as info:
        make(tmp_path)
    assert str(info.value.issues[0]).startswith(_fill(expect[0], tmp_path))
    # ... in one (te.cli() turned reporting on) it is one message and exit code 2
    enable_cli_reporting()
    start = time.process_time()
    with pytest.raises(SystemExit) as exited:
        make(tmp_path)
    cpu = time.process_time() - start
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    noun = "problem" if len(expect) == 1 else "problems"
    assert lines[0] == f"error: {len(expect)} config {noun} in {source}:", err
    for got, want in zip(lines[1:], expect):
        assert got.strip().startswith(_fill(want, tmp_path)), err
    assert lines[-1] == "(set TYPEDENGINE_DEBUG=1 to see the traceback)"
    assert cpu < CPU_BUDGET_S
    assert _snapshot(tmp_path) == before  # no work_dir, no timestamped log directory


# --- Python constructors: the same paths in-process -------------------------------------------------------------


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


def test_a_misspelled_root_field_is_refused_at_class_definition_unless_marked_new() -> None:
    from typing import Annotated

    import typedengine as te
    from typedengine.logs.visualizer import VisualizerConfig

    with pytest.raises(ConfigError) as info:

        class Typo(DigitsExperiment):  # type: ignore[misc,valid-type]
            visualiser: VisualizerConfig = VisualizerConfig()

    assert str(info.value.issues[0]).startswith("visualiser: not a RunnerConfig field; did you mean `visualizer`?")

    class Deliberate(DigitsExperiment):  # type: ignore[misc,valid-type]
        visualiser: Annotated[VisualizerConfig, te.NewField] = VisualizerConfig()

    assert "visualiser" in Deliberate.model_fields


def test_redefined_root_fields_keep_their_description() -> None:
    from typedengine.config.schema import config_json_schema

    assert DigitsExperiment.model_fields["work_dir"].description == "Directory for checkpoints and logs."
    assert config_json_schema(DigitsExperiment)["properties"]["work_dir"]["description"] == (
        "Directory for checkpoints and logs."
    )


# --- real processes: a representative subset, and what only a real script can do ---------------------------------

SCRIPT_HEAD = """\
import typedengine as te
from pydantic import ValidationError
from typedengine.data.dataloader import DataLoaderConfig
from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig
from typedengine.logs.visualizer import VisualizerConfig
import sys
sys.path.insert(0, {examples!r})
from importlib import import_module
digits = import_module("01_digits")
"""


@dataclass(frozen=True)
class ProcessCase:
    id: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    script: str | None = None
    """A script's body (after SCRIPT_HEAD) run instead of examples/01_digits.py."""
    code: int = 2
    first: str = ""
    """The first line of stderr (its start)."""
    contains: tuple[str, ...] = ()
    traceback: bool = False
    cpu_s: float | None = CPU_BUDGET_S + 1.0
    """CPU seconds to the error, interpreter start-up included (None: the script itself imports torch)."""


SUBPROCESS_CASES = [
    ProcessCase("cli-value", ("--train.max-epochs", "0"), first="error: 1 config problem in the command line:",
                contains=("  train.max_epochs: must be >= 1",)),
    ProcessCase("cli-variant-flag", ("--optim-wrapper.optimizer.betas", "0.9", "0.99"),
                first="error: 1 config problem in the command line:",
                contains=("select it first: optim-wrapper.optimizer:adam --optim-wrapper.optimizer.betas ...",)),
    ProcessCase("cli-flags-in-any-order", ("--optim-wrapper.optimizer.betas", "0.8", "0.9",
                                           "optim-wrapper.optimizer:adamw", "--train.max-epochs", "0"),
                first="error: 1 config problem in the command line:", contains=("  train.max_epochs: must be >= 1",)),
    ProcessCase("env-underscore", env={"TYPEDENGINE_TRAIN_MAX_EPOCHS": "3"},
                first="error: 1 config problem in the environment:",
                contains=("did you mean TYPEDENGINE_TRAIN__MAX_EPOCHS?",)),
    ProcessCase("path-resume", ("--resume", str(ROOT / "README.md")), first="error: 1 config problem in the command line:",
                contains=("is not a checkpoint (not a torch.save archive)",)),
    ProcessCase("script-misspelled-keyword", script="""
        class Exp(digits.DigitsExperiment):
            train: te.TrainLoopConfig | None = EpochBasedTrainLoopConfig(
                max_epoch=3,
            )
        te.cli(Exp)
        """, first="error: 1 config problem in EpochBasedTrainLoopConfig(...) at {script}:",
        contains=("  max_epoch: unknown field; did you mean 'max_epochs'?",)),
    ProcessCase("script-wrong-value", script="""
        class Exp(digits.DigitsExperiment):
            train_dataloader: DataLoaderConfig[digits.DigitsData] | None = DataLoaderConfig[digits.DigitsData](
                dataset=digits.DigitsData(), batch_size="big")
        """, first="error: 1 config problem in DataLoaderConfig[DigitsData](...) at {script}:",
        contains=("  batch_size: expected an integer, got 'big'",)),
    ProcessCase("script-misspelled-root-field", script="""
        class Exp(digits.DigitsExperiment):
            visualiser: VisualizerConfig = VisualizerConfig()
        """, first="error: 1 config problem in class Exp at {script}:",
        contains=("  visualiser: not a RunnerConfig field; did you mean `visualizer`?",)),
    ProcessCase("script-replace", script="""
        cfg = te.replace(digits.DigitsExperiment(), work_dir="")
        """, first="error: 1 config problem in replace(DigitsExperiment, ...) at {script}:",
        contains=("  work_dir: must not be empty",)),
    ProcessCase("script-catches-its-own-error", script="""
        try:
            EpochBasedTrainLoopConfig(max_epochs=0)
        except ValidationError:
            print("caught")
        """, code=0),
    ProcessCase("script-debug-shows-traceback", env={"TYPEDENGINE_DEBUG": "1"}, script="""
        EpochBasedTrainLoopConfig(max_epochs=0)
        """, code=1, first="Traceback", traceback=True),
    ProcessCase("fault-during-the-run", script="""
        import pathlib
        broken = pathlib.Path(sys.argv[1]) / "epoch_1.pth"
        broken.write_bytes(b"PK\\x03\\x04" + bytes(64))  # starts like a checkpoint: passes the header check
        sys.argv = ["exp.py", "--work-dir", sys.argv[1] + "/run", "--resume", str(broken), "--train.max-epochs", "1"]
        digits.main()
        """, code=1, cpu_s=None,
        contains=("epoch_1.pth: incomplete checkpoint", "(set TYPEDENGINE_DEBUG=1 to see the traceback)")),
    ProcessCase("seed-style-runner", script="""
        from torch.utils.data import DataLoader, TensorDataset
        import torch
        te.cli(digits.DigitsExperiment, args=[])  # a command-line run: errors are reported, not raised
        te.Runner(model=digits.DigitsNetConfig(), work_dir=sys.argv[1] + "/run",
                  train=EpochBasedTrainLoopConfig(max_epochs=1),
                  train_dataloader=DataLoader(TensorDataset(torch.zeros(4, 1, 8, 8), torch.zeros(4).long())))
        """, first="error: 1 config problem in the Runner's arguments:", cpu_s=None,
        contains=("  optim_wrapper: training needs train_dataloader, train, optim_wrapper together; optim_wrapper missing",
                  "(set TYPEDENGINE_DEBUG=1 to see the traceback)")),
]


def _run_measured(argv: list[str], env: dict[str, str], tmp: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``argv`` as ``run_example`` does; return its result and the CPU seconds of that one process."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TYPEDENGINE_") and k not in ("RANK", "SLURM_PROCID")}
    base.update({"OMP_NUM_THREADS": "1", **env})
    out_path, err_path = tmp / "stdout.txt", tmp / "stderr.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=base, stdout=out, stderr=err)
        timer = threading.Timer(120, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (others run in parallel)
        finally:
            timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    done = subprocess.CompletedProcess(argv, code, out_path.read_text(), err_path.read_text())
    out_path.unlink()
    err_path.unlink()
    return done, usage.ru_utime + usage.ru_stime


TORCH_PROBE = """\
import atexit, runpy, sys
atexit.register(lambda: sys.stderr.write("[torch imported: %s]\\n" % ("torch" in sys.modules)))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""Runs the example as ``python examples/01_digits.py`` would, and says at exit whether torch was imported."""


def _run_process(case: ProcessCase, tmp: Path) -> tuple[subprocess.CompletedProcess[str], float, str]:
    if case.script is not None:
        script = tmp / f"{case.id.replace('-', '_')}.py"
        body = textwrap.dedent(case.script)
        script.write_text(SCRIPT_HEAD.format(examples=str(ROOT / "examples")) + body)
        argv = [sys.executable, str(script), str(tmp)]
    else:
        script = EXAMPLE
        argv = [sys.executable, "-c", TORCH_PROBE, str(EXAMPLE), *case.args, "--work-dir", str(tmp / "work")]
    done, cpu = _run_measured(argv, case.env, tmp)
    return done, cpu, str(script)


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess[str], float, str, Path]]:
    root = tmp_path_factory.mktemp("bad_processes")

    def one(case: ProcessCase) -> tuple[str, tuple[subprocess.CompletedProcess[str], float, str, Path]]:
        tmp = root / case.id
        tmp.mkdir()
        done, cpu, script = _run_process(case, tmp)
        return case.id, (done, cpu, script, tmp)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, SUBPROCESS_CASES))


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_real_processes(
    case: ProcessCase, processes: dict[str, tuple[subprocess.CompletedProcess[str], float, str, Path]]
) -> None:
    done, cpu, script, tmp = processes[case.id]
    assert done.returncode == case.code, done.stdout + done.stderr
    assert ("Traceback" in done.stderr) == case.traceback, done.stderr
    lines = done.stderr.splitlines()
    if case.first:
        relative = os.path.relpath(script, ROOT)
        shown = script if relative.startswith("..") else relative  # as the message shows it (cwd: ROOT)
        assert lines and lines[0].startswith(case.first.format(script=shown)), done.stderr
    for text in case.contains:
        assert text in done.stderr, done.stderr
    if case.script is None:  # no model, no data, no torch: the config layer alone found the mistake
        assert done.stderr.rstrip().endswith("[torch imported: False]"), done.stderr
    if case.code == 2:
        assert done.stdout == ""
        if case.cpu_s is not None:
            assert cpu < case.cpu_s, f"{cpu:.2f} s of CPU (interpreter start-up included)"
        assert not (tmp / "work").exists() and not (tmp / "run").exists()


@pytest.mark.slow
def test_help_piped_into_head_ends_quietly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYPEDENGINE_")}
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--help"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the help is written, as with `| head -1` on a long help
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_built_objects_of_the_right_kind_pass(tmp_path: Path) -> None:
    import torch
    from torch.utils.data import DataLoader

    import typedengine as te
    from tests.conftest import TinyMLP, make_data
    from typedengine.hooks.ema import EMAHook

    model = TinyMLP()
    runner = te.Runner(
        model=model, work_dir=tmp_path / "work", train_dataloader=DataLoader(make_data(n=8), batch_size=4),
        train=te.EpochBasedTrainLoopConfig(max_epochs=1),
        optim_wrapper=te.OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)),
        custom_hooks=[EMAHook()], val_dataloader=DataLoader(make_data(n=8), batch_size=4), val_evaluator=te.Accuracy(),
    )  # fmt: skip
    assert runner.optim_wrapper is None  # built lazily, by train()
    runner.close()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the mistake is asking for CUDA on a machine without it")
def test_cuda_without_a_gpu_is_a_usage_error_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from typedengine.runner.env import EnvConfig
    from typedengine.runner.runner import Runner

    cfg = DigitsExperiment(work_dir=tmp_path / "w", env=EnvConfig(device="cuda"))
    enable_cli_reporting()
    with pytest.raises(SystemExit) as exited:
        Runner.from_config(cfg)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: env.device: cuda was requested but torch sees no CUDA device"), err
    assert "Traceback" not in err
    assert not (tmp_path / "w").exists()
