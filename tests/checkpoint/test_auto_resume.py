"""Auto-resume never throws a run away: what users do to work dirs by hand, and what the run does then.

Every test trains :mod:`tests.checkpoint.harness` in-process (dropout, shuffling, momentum, a per-iteration
LR schedule, accumulation over 3 micro-batches; 13 iterations per epoch, 3 epochs, a checkpoint every 6
iterations), stops it with an exception after iteration 20 (checkpoints iter_6, iter_12, iter_18, the
pointer naming iter_18), breaks something the way a person or a crash would, and resumes with
``resume=True``. Where the run can continue, its final weights must be ``torch.equal`` to an uninterrupted
run's: resuming from any intact checkpoint ends in the same place.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
import torch

import typedengine as te
from tests.checkpoint.harness import experiment
from typedengine.checkpoint.errors import CheckpointError
from typedengine.checkpoint.io import LAST_CHECKPOINT, load_checkpoint_file

SPEC: dict[str, object] = {"max_epochs": 3, "interval": 6, "hook_by_epoch": False, "val": False}


class _Stop(Exception):
    pass


class _StopAfter(te.Hook):
    priority = "lowest"

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if runner.state.iter + 1 == self.iteration:
            raise _Stop


def _train(work: Path, *, stop_after: int | None = None, resume: bool = False, **spec: object) -> te.Runner:
    runner = te.Runner.from_config(experiment({**SPEC, **spec, "work_dir": str(work), "resume": resume}))
    if stop_after is not None:
        runner.register_hook(_StopAfter(stop_after))
        with pytest.raises(_Stop):
            runner.train()
        runner.flush_checkpoints()
    else:
        runner.train()
    return runner


def _weights(runner: te.Runner) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in runner.unwrapped_model.state_dict().items()}


_REFERENCE: dict[str, dict[str, torch.Tensor]] = {}


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """The final weights of the uninterrupted run (trained once per session)."""
    if "w" not in _REFERENCE:
        _REFERENCE["w"] = _weights(_train(tmp_path_factory.mktemp("reference")))
    return _REFERENCE["w"]


def _assert_same(reference: dict[str, torch.Tensor], runner: te.Runner) -> None:
    got = _weights(runner)
    assert reference.keys() == got.keys()
    assert all(torch.equal(reference[k], got[k]) for k in reference), (
        "weights differ from the uninterrupted run"
    )


def _log(runner: te.Runner) -> str:
    return (runner.log_dir / f"{runner.timestamp}.log").read_text()


def _stopped(tmp_path: Path, **spec: object) -> Path:
    work = tmp_path / "run"
    _train(work, stop_after=20, **spec)
    assert (work / LAST_CHECKPOINT).read_text() == "iter_18.pth\n"
    return work


def _flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x10
    path.write_bytes(bytes(data))


def _inside_tensor_data(path: Path) -> int:
    """An offset inside the bytes of the first tensor (covered by its CRC-32 only, not by the trailer)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("archive/data/0")
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        name_len, extra_len = struct.unpack("<26xHH", f.read(30))
    return info.header_offset + 30 + name_len + extra_len + info.compress_size // 2


def _snapshot(work: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()}


# --------------------------------------------------------------------------------------------------------
# the pointer is broken: use the newest checkpoint that verifies, say so, repair the pointer
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("breakage", "problem", "resumed_from"),
    [
        ("delete", "last_checkpoint names iter_18.pth, which does not exist", "iter_12.pth"),
        ("empty", "last_checkpoint is empty", "iter_18.pth"),
        ("invalid-utf8", "last_checkpoint is not valid UTF-8 text (8 bytes)", "iter_18.pth"),
        ("garbage", "last_checkpoint does not hold one file path", "iter_18.pth"),
        ("missing", "there is no last_checkpoint file", "iter_18.pth"),
    ],
)
def test_a_broken_pointer_resumes_from_the_newest_checkpoint_and_is_repaired(
    tmp_path: Path, reference: dict[str, torch.Tensor], breakage: str, problem: str, resumed_from: str
) -> None:
    work = _stopped(tmp_path)
    pointer = work / LAST_CHECKPOINT
    if breakage == "delete":
        (work / "iter_18.pth").unlink()
    elif breakage == "empty":
        pointer.write_bytes(b"")
    elif breakage == "invalid-utf8":
        pointer.write_bytes(b"\xff\xfeiter_\x9c")
    elif breakage == "garbage":
        pointer.write_bytes(b"iter_18.pth\x00\x00\x13\x37")
    else:
        pointer.unlink()
    repaired: list[str] = []

    class ReadPointer(te.Hook):
        def before_train(self, runner: te.Runner) -> None:  # after the resume, before any save
            repaired.append(pointer.read_text())

    runner = te.Runner.from_config(experiment({**SPEC, "work_dir": str(work), "resume": True}))
    runner.register_hook(ReadPointer())
    runner.train()
    assert repaired == [f"{resumed_from}\n"]
    log = _log(runner)
    epoch, iteration = {"iter_12.pth": (0, 12), "iter_18.pth": (1, 18)}[resumed_from]
    assert (
        f"WARNING - auto-resume: resuming from {work / resumed_from} (epoch {epoch}, iter {iteration})" in log
    )
    assert "the newest checkpoint that verifies; last_checkpoint is repaired to point at it" in log
    assert (
        f"the pointer was not used: {work}/{problem}" in log or f"the pointer was not used: {problem}" in log
    )
    assert "starting from scratch" not in log
    _assert_same(reference, runner)


def test_the_newest_is_chosen_by_stored_progress_not_by_file_time_or_name(tmp_path: Path) -> None:
    import os

    work = _stopped(tmp_path)
    (work / LAST_CHECKPOINT).unlink()
    # the oldest checkpoint gets the newest file time, and a copy under a name that sorts last
    os.utime(work / "iter_6.pth", (2_000_000_000, 2_000_000_000))
    (work / "zz_latest_copy.pth").write_bytes((work / "iter_12.pth").read_bytes())
    runner = _train(work, resume=True)
    assert f"resuming from {work / 'iter_18.pth'} (epoch 1, iter 18)" in _log(runner)


# --------------------------------------------------------------------------------------------------------
# the newest checkpoint is corrupt: fall back to the newest intact one, naming both
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncate", "flip-tensor-byte", "flip-header-byte", "zero-length"])
def test_a_corrupt_newest_checkpoint_falls_back_to_the_newest_intact_one(
    tmp_path: Path, reference: dict[str, torch.Tensor], damage: str
) -> None:
    work = _stopped(tmp_path)
    newest = work / "iter_18.pth"
    if damage == "truncate":
        newest.write_bytes(newest.read_bytes()[:-5000])
    elif damage == "flip-tensor-byte":
        _flip(newest, _inside_tensor_data(newest))
    elif damage == "flip-header-byte":
        _flip(newest, 8)  # inside the first local header
    else:
        newest.write_bytes(b"")
    runner = _train(work, resume=True)
    log = _log(runner)
    assert f"WARNING - auto-resume: resuming from {work / 'iter_12.pth'} (epoch 0, iter 12)" in log
    assert f"the pointer was not used: last_checkpoint names {newest}, which does not verify" in log
    assert f"not used (left in place): {newest}: " in log
    _assert_same(reference, runner)
    assert (work / LAST_CHECKPOINT).read_text() == "iter_39.pth\n"


def test_two_corrupt_newest_checkpoints_fall_back_past_both(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    work = _stopped(tmp_path)
    _flip(work / "iter_18.pth", _inside_tensor_data(work / "iter_18.pth"))
    _flip(work / "iter_12.pth", _inside_tensor_data(work / "iter_12.pth"))  # only the full check sees these
    runner = _train(work, resume=True)
    log = _log(runner)
    assert f"resuming from {work / 'iter_6.pth'} (epoch 0, iter 6)" in log
    assert f"not used (left in place): {work / 'iter_18.pth'}: checksum mismatch" in log
    assert f"not used (left in place): {work / 'iter_12.pth'}: checksum mismatch" in log
    _assert_same(reference, runner)


# --------------------------------------------------------------------------------------------------------
# nothing to resume from although checkpoints exist: refuse, change nothing
# --------------------------------------------------------------------------------------------------------
def test_only_best_checkpoints_left_is_refused_with_both_ways_on(tmp_path: Path) -> None:
    work = _stopped(tmp_path, val=True, max_epochs=3)
    best = sorted(p.name for p in work.glob("best_*.pth"))
    assert best == ["best_accuracy_iter_13.pth"]
    for path in work.glob("iter_*.pth"):
        path.unlink()
    before = _snapshot(work)
    runner = te.Runner.from_config(experiment({**SPEC, "val": True, "work_dir": str(work), "resume": True}))
    with pytest.raises(CheckpointError) as info:
        runner.train()
    text = str(info.value)
    assert text.startswith(
        f"{work}: resume=True found checkpoints but none to resume from; nothing was changed"
    )
    assert f"last_checkpoint names {work / 'iter_18.pth'}" not in text  # shown relative to the work dir
    assert "names iter_18.pth, which does not exist" in text
    assert (
        f"not resumable (no optimizer/scheduler state or not a typedengine checkpoint): {work / best[0]}"
        in text
    )
    assert f"--resume {work / best[0]}" in text and f"--load-from {work / best[0]}" in text
    assert _snapshot(work) == before


def test_all_checkpoints_corrupt_is_refused_and_nothing_is_touched(tmp_path: Path) -> None:
    work = _stopped(tmp_path)
    for path in work.glob("iter_*.pth"):
        path.write_bytes(path.read_bytes()[:1000])
    before = _snapshot(work)
    with pytest.raises(CheckpointError) as info:
        _train(work, resume=True)
    text = str(info.value)
    for name in ("iter_6.pth", "iter_12.pth", "iter_18.pth"):
        assert (
            f"cannot resume from {work / name}: incomplete checkpoint: a zip archive without its end" in text
        )
    assert "move these files away (or use another --work-dir)" in text
    assert _snapshot(work) == before


def test_checkpoints_of_two_runs_without_a_pointer_are_refused(tmp_path: Path) -> None:
    work = _stopped(tmp_path)
    # a rollback: the run was resumed from iter_6 by hand and saved a new iter_12 after the old iter_18
    (work / "iter_12.pth").unlink()
    (work / LAST_CHECKPOINT).write_text("iter_6.pth\n")
    runner = te.Runner.from_config(experiment({**SPEC, "work_dir": str(work), "resume": True}))
    runner.register_hook(_StopAfter(14))
    with pytest.raises(_Stop):
        runner.train()
    runner.flush_checkpoints()
    (work / LAST_CHECKPOINT).unlink()
    with pytest.raises(CheckpointError) as info:
        _train(work, resume=True)
    text = str(info.value)
    assert "the checkpoints come from more than one run" in text
    assert f"{work / 'iter_18.pth'} (epoch 1, iter 18) is the most advanced" in text
    assert f"--resume {work / 'iter_12.pth'} (the latest run)" in text


# --------------------------------------------------------------------------------------------------------
# a work dir without any checkpoint starts fresh
# --------------------------------------------------------------------------------------------------------
def test_no_checkpoint_at_all_starts_from_scratch_in_one_info_line(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    work = tmp_path / "fresh"
    work.mkdir()
    (work / LAST_CHECKPOINT).write_text("iter_18.pth\n")  # a pointer left over, naming nothing
    (work / ".iter_6.pth.tmp-1-abcd").write_bytes(b"partial")  # a killed first save is not a checkpoint
    runner = _train(work, resume=True)
    lines = [line for line in _log(runner).splitlines() if "starting from scratch" in line]
    assert len(lines) == 1 and lines[0].split(" - ")[2] == "INFO"
    assert "names iter_18.pth, which does not exist" in lines[0]
    _assert_same(reference, runner)


# --------------------------------------------------------------------------------------------------------
# pruning keeps the newest intact checkpoint
# --------------------------------------------------------------------------------------------------------
def test_a_fallback_resume_with_max_keep_never_deletes_the_checkpoint_it_needs(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    work = _stopped(tmp_path, max_keep=2)
    assert sorted(p.name for p in work.glob("iter_*.pth")) == ["iter_12.pth", "iter_18.pth"]
    _flip(work / "iter_18.pth", _inside_tensor_data(work / "iter_18.pth"))
    seen: list[list[str]] = []

    class Watch(te.Hook):
        def before_save_checkpoint(self, runner: te.Runner, checkpoint: dict[str, object]) -> None:
            seen.append(sorted(p.name for p in work.glob("iter_*.pth")))

    runner = te.Runner.from_config(experiment({**SPEC, "max_keep": 2, "work_dir": str(work), "resume": True}))
    runner.register_hook(Watch())
    runner.train()
    # the checkpoint resumed from (iter_12, whose kept list is [iter_6, iter_12]) exists until newer ones do
    assert seen[0] == ["iter_12.pth", "iter_18.pth"]
    assert all("iter_12.pth" in names for names in seen[:2])
    assert sorted(p.name for p in work.glob("iter_*.pth")) == ["iter_36.pth", "iter_39.pth"]
    _assert_same(reference, runner)


def test_a_failed_background_write_deletes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typedengine.checkpoint import io as ckpt_io

    work = tmp_path / "run"
    real = ckpt_io.atomic_write_bytes

    def disk_full_at_iter_18(path, data, *, durable=True):  # type: ignore[no-untyped-def]
        if Path(path).name == "iter_18.pth":
            raise CheckpointError(path, "could not be written (No space left on device)")
        return real(path, data, durable=durable)

    monkeypatch.setattr(ckpt_io, "atomic_write_bytes", disk_full_at_iter_18)
    runner = te.Runner.from_config(experiment({**SPEC, "max_keep": 1, "work_dir": str(work)}))
    with pytest.raises(CheckpointError, match="No space left on device"):
        runner.train()
    assert sorted(p.name for p in work.glob("iter_*.pth")) == ["iter_12.pth"]
    assert (work / LAST_CHECKPOINT).read_text() == "iter_12.pth\n"
    load_checkpoint_file(work / "iter_12.pth")


# --------------------------------------------------------------------------------------------------------
# files named explicitly: one clear error with the way out
# --------------------------------------------------------------------------------------------------------
def test_an_explicit_corrupt_resume_file_names_the_intact_ones_and_the_flag(tmp_path: Path) -> None:
    work = _stopped(tmp_path)
    bad = work / "iter_18.pth"
    _flip(bad, _inside_tensor_data(bad))
    _flip(work / "iter_12.pth", _inside_tensor_data(work / "iter_12.pth"))  # passes the quick check only
    before = _snapshot(work)
    runner = te.Runner.from_config(te.replace(experiment({**SPEC, "work_dir": str(work)}), resume=bad))
    with pytest.raises(CheckpointError) as info:
        runner.train()
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{bad}: checksum mismatch: the file is corrupted (Bad CRC-32 for file")
    assert lines[1] == (f"  other checkpoints here, newest first: {work / 'iter_6.pth'} (epoch 0, iter 6)")
    assert lines[2] == f"  to use {work / 'iter_6.pth'} (it verifies): --resume {work / 'iter_6.pth'}"
    assert _snapshot(work) == before


def test_explicit_missing_foreign_or_cut_files(tmp_path: Path) -> None:
    from typedengine.config.errors import ConfigError

    work = _stopped(tmp_path)
    # missing, or not a checkpoint at all: a config mistake, before anything is built (exit 2)
    missing = work / "iter_99.pth"
    with pytest.raises(ConfigError, match=f"load_from: {missing}: no such file"):
        te.Runner.from_config(te.replace(experiment({**SPEC, "work_dir": str(work)}), load_from=missing))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a checkpoint")
    with pytest.raises(ConfigError, match=f"resume: {notes}: is not a checkpoint"):
        te.Runner.from_config(te.replace(experiment({**SPEC, "work_dir": str(work)}), resume=notes))
    # looks like a checkpoint but is cut short: found when it is read (exit 1), with the way out
    cut = tmp_path / "downloaded.pth"
    cut.write_bytes((work / "iter_18.pth").read_bytes()[:-3000])
    runner = te.Runner.from_config(te.replace(experiment({**SPEC, "work_dir": str(work)}), load_from=cut))
    with pytest.raises(CheckpointError) as info:
        runner.train()
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{cut}: incomplete checkpoint: a zip archive without its end")
    assert lines[2] == f"  to use {work / 'iter_18.pth'} (it verifies): --load-from {work / 'iter_18.pth'}"


# --------------------------------------------------------------------------------------------------------
# a finished run
# --------------------------------------------------------------------------------------------------------
def test_resuming_a_finished_run_says_so_and_trains_nothing(tmp_path: Path) -> None:
    work = tmp_path / "done"
    _train(work)
    before = _snapshot(work)
    runner = _train(work, resume=True)
    assert runner.state.iter == 39
    assert (
        f"training already finished at epoch 3 / iter 39 (checkpoint {work / 'iter_39.pth'}); nothing to do — "
        "raise --train.max-epochs to continue"
    ) in _log(runner)
    assert {k: v for k, v in _snapshot(work).items()} == before
    # evaluation afterwards uses the finished weights
    finished = load_checkpoint_file(work / "iter_39.pth")["state_dict"]
    assert isinstance(finished, dict)
    assert all(torch.equal(finished[k], v) for k, v in runner.unwrapped_model.state_dict().items())
    # a shorter configured run: past its end
    shorter = _train(work, resume=True, max_epochs=2)
    assert "training already finished at epoch 3 / iter 39" in _log(shorter)
    assert "past the configured end (epoch 2)" in _log(shorter)


def test_an_iteration_based_finished_run_names_its_flag(tmp_path: Path) -> None:
    work = tmp_path / "iters"
    _train(work, epoch_loop=False, max_iters=20)
    runner = _train(work, resume=True, epoch_loop=False, max_iters=20)
    assert "nothing to do — raise --train.max-iters to continue" in _log(runner)


class _CrashBeforeFinalValidation(te.Hook):
    def before_val_epoch(self, runner: te.Runner) -> None:
        if runner.state.epoch == 3:
            raise _Stop


def test_a_finished_run_whose_last_checkpoint_predates_its_validation_only_validates(tmp_path: Path) -> None:
    """Killed during the final validation (or simply finished: the last checkpoint is written before the
    last validation, as MMEngine does): a resume trains nothing, runs that validation, and says so."""
    work = tmp_path / "almost"
    spec = {**SPEC, "val": True, "interval": 13, "work_dir": str(work)}
    runner = te.Runner.from_config(experiment(spec))
    runner.register_hook(_CrashBeforeFinalValidation())
    with pytest.raises(_Stop):
        runner.train()
    runner.flush_checkpoints()
    state = load_checkpoint_file(work / "iter_39.pth")["run_state"]
    assert isinstance(state, dict) and (state["epoch"], state["iter"], state["validated"]) == (2, 39, 2)
    resumed = te.Runner.from_config(experiment({**spec, "resume": True}))
    resumed.train()
    after_resume = _log(resumed).split("Auto resumed")[-1]
    assert (
        "training already finished at epoch 3 / iter 39 (checkpoint " in after_resume
        and "nothing to train; its last validation runs (the checkpoint was written before it) — raise "
        "--train.max-epochs to continue" in after_resume
    )
    assert "Epoch(val) [3]" in after_resume  # the validation the crash skipped
    assert "Epoch(train)" not in after_resume
    assert resumed.state.iter == 39
