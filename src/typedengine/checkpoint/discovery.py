"""Which checkpoint a run resumes from, and what to tell the user when the obvious one is broken.

Auto-resume (``resume=True``) never throws a run away:

1. The ``last_checkpoint`` pointer is followed when it names a file that fully verifies and holds optimizer
   state (the normal case: nothing is scanned, nothing is printed beyond the resume line).
2. Otherwise (the pointer is absent, empty, not UTF-8, names a missing file, or names a corrupt, truncated
   or weights-only file) every checkpoint of the work dir (and of the checkpoint hook's ``out_dir``) is
   surveyed: files named like the hook's checkpoints, and any file that ends with a typedengine checksum.
   The newest one by its **stored progress** (``meta`` iter, then epoch; never the file time or name) that
   verifies is used; a newer one that is corrupt is named in a WARNING beside the one used, and left in
   place (the run overwrites it when it saves that point again). The pointer is then repaired.
3. Only a work dir with no checkpoint at all starts from scratch (one INFO line).

Refused with one :class:`~typedengine.checkpoint.errors.CheckpointError` instead of guessing:

* only weights-only files are left (``best_*.pth`` and published exports hold no optimizer or scheduler
  state; resuming from one changes the result): the message names the two explicit ways on;
* no checkpoint verifies;
* checkpoints of two runs are mixed (a less advanced checkpoint was saved after the most advanced one: a
  rollback with ``--resume PATH``, or a fresh run started in a used work dir) and the pointer that would tell
  them apart is broken: the message names both and the flag to pick one.

The quick check used while surveying (:func:`~typedengine.checkpoint.io.summarize_checkpoint`) reads only
headers, directory and the pickled structure; the file finally chosen is fully verified when it is loaded,
so a corrupt file is never resumed from.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..distributed import ops as dist_ops
from .errors import CheckpointError
from .io import (
    CHECKSUM_PREFIX,
    LAST_CHECKPOINT,
    CheckpointSummary,
    file_checksum,
    inspect_pointer,
    load_checkpoint_file,
    summarize_checkpoint,
)

if TYPE_CHECKING:
    from ..runner.state import RunState

__all__ = [
    "AutoResumeChoice",
    "BrokenCheckpoint",
    "CheckpointPlaces",
    "FinishedRun",
    "FoundCheckpoint",
    "Survey",
    "agree_on_auto_resume",
    "choose_auto_resume",
    "explicit_checkpoint_error",
    "finished_run",
    "mixed_runs_problem",
    "shown",
    "survey_checkpoints",
]

_TAIL = len(CHECKSUM_PREFIX) + 64


def shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the current directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return rel if not rel.startswith("..") else str(path)


@dataclass(frozen=True)
class FoundCheckpoint:
    """A checkpoint that passed the quick check, with the progress stored in it."""

    path: Path
    epoch: int
    iter: int
    saved_at: datetime.datetime | None
    resumable: bool
    """A typedengine checkpoint with a run state, not a weights-only file: a resume can start from it."""

    def describe(self) -> str:
        kind = "" if self.resumable else ", weights only"
        return f"{shown(self.path)} (epoch {self.epoch}, iter {self.iter}{kind})"


@dataclass(frozen=True)
class BrokenCheckpoint:
    """A file that looks like a checkpoint but does not verify."""

    path: Path
    reason: str

    def describe(self) -> str:
        return f"{shown(self.path)}: {self.reason}"


@dataclass(frozen=True)
class Survey:
    """The checkpoints of some directories: intact ones newest first (by stored progress), broken ones."""

    intact: tuple[FoundCheckpoint, ...]
    broken: tuple[BrokenCheckpoint, ...]

    @property
    def resumable(self) -> tuple[FoundCheckpoint, ...]:
        return tuple(c for c in self.intact if c.resumable)

    @property
    def empty(self) -> bool:
        return not self.intact and not self.broken

    def without(self, paths: Iterable[Path]) -> Survey:
        skip = {_key(p) for p in paths}
        return Survey(
            tuple(c for c in self.intact if _key(c.path) not in skip),
            tuple(b for b in self.broken if _key(b.path) not in skip),
        )


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _ends_with_checksum(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < _TAIL:
                return False
            f.seek(size - _TAIL)
            return f.read(_TAIL).startswith(CHECKSUM_PREFIX)
    except OSError:
        return False


@dataclass(frozen=True)
class CheckpointPlaces:
    """Where a run's checkpoints are and how they are named (the checkpoint hook answers; see the runner)."""

    directories: tuple[Path, ...]
    """The work dir first, then the checkpoint hook's output directory when it is another one."""
    regular: tuple[re.Pattern[str], ...]
    """Names of full checkpoints (``epoch_(\\d+)\\.pth``, ``iter_(\\d+)\\.pth``, ...)."""
    weights_only: tuple[re.Pattern[str], ...]
    """Names of files without optimizer or scheduler state (``best_.*\\.pth``): never auto-resumed from."""

    def is_weights_only(self, path: Path) -> bool:
        return any(p.fullmatch(path.name) for p in self.weights_only)

    def looks_like_checkpoint(self, path: Path) -> bool:
        if path.name.startswith(".") or path.name == LAST_CHECKPOINT:
            return False  # hidden temporaries of killed writes, the pointer
        names = (*self.regular, *self.weights_only)
        return any(p.fullmatch(path.name) for p in names) or _ends_with_checksum(path)


def _progress(summary: CheckpointSummary) -> tuple[int, int, datetime.datetime | None] | None:
    meta = summary.meta
    epoch, iteration, saved = meta.get("epoch"), meta.get("iter"), meta.get("time")
    if not isinstance(epoch, int) or not isinstance(iteration, int):
        return None
    when: datetime.datetime | None = None
    if isinstance(saved, str):
        try:
            when = datetime.datetime.fromisoformat(saved)
        except ValueError:
            when = None
    return epoch, iteration, when


def survey_checkpoints(places: CheckpointPlaces, *, also: Sequence[Path] = ()) -> Survey:
    """Quick-check every checkpoint in ``places.directories`` (not recursive) and the files in ``also``.

    A file counts as a checkpoint when its name matches one of the places' patterns (the checkpoint hook's
    names) or when it ends with a typedengine checksum (any name). A file is resumable when it is a
    typedengine (or MMEngine, converted) checkpoint with a ``run_state`` and not named as a weights-only
    file; other foreign files (a plain ``torch.save``) that load are listed as intact, not resumable.
    """
    seen: set[str] = set()
    files: list[Path] = []
    for directory in places.directories:
        try:
            entries = sorted(directory.iterdir()) if directory.is_dir() else []
        except OSError:
            entries = []
        for entry in entries:
            if entry.is_file() and places.looks_like_checkpoint(entry) and _key(entry) not in seen:
                seen.add(_key(entry))
                files.append(entry)
    for extra in also:
        if extra.exists() and _key(extra) not in seen:
            seen.add(_key(extra))
            files.append(extra)
    intact: list[FoundCheckpoint] = []
    broken: list[BrokenCheckpoint] = []
    for path in files:
        try:
            summary = summarize_checkpoint(path)
        except CheckpointError as exc:
            broken.append(BrokenCheckpoint(path, exc.reason))
            continue
        progress = _progress(summary)
        if progress is None:
            broken.append(BrokenCheckpoint(path, "not a training checkpoint (its meta holds no epoch/iter)"))
            continue
        epoch, iteration, when = progress
        readable = summary.checksummed or summary.converted_from is not None  # what resume accepts
        resumable = readable and "run_state" in summary.entries and not places.is_weights_only(path)
        intact.append(FoundCheckpoint(path, epoch, iteration, when, resumable))
    intact.sort(key=lambda c: (c.iter, c.epoch, c.saved_at is not None, c.saved_at or _EPOCH0, c.path.name))
    intact.reverse()
    return Survey(tuple(intact), tuple(broken))


_EPOCH0 = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def mixed_runs_problem(candidates: Sequence[FoundCheckpoint]) -> str | None:
    """Why the newest-by-progress candidate may belong to another run than the latest one, or None.

    Within one run, a checkpoint with more progress is always saved later. A less advanced checkpoint saved
    after the most advanced one means two runs share the directory; without a sound pointer, which one to
    continue cannot be decided safely.
    """
    if not candidates or candidates[0].saved_at is None:
        return None
    furthest = candidates[0]
    later = [
        c for c in candidates[1:] if c.saved_at is not None and _aware(c.saved_at) > _aware(furthest.saved_at)
    ]
    if not later:
        return None
    latest = max(later, key=lambda c: _aware(c.saved_at))
    return (
        f"the checkpoints come from more than one run: {furthest.describe()} is the most advanced, but "
        f"{latest.describe()} was saved after it ({_aware(latest.saved_at):%Y-%m-%d %H:%M:%S} vs "
        f"{_aware(furthest.saved_at):%Y-%m-%d %H:%M:%S} UTC); choose one: --resume {shown(latest.path)} "
        f"(the latest run) or --resume {shown(furthest.path)} (the most advanced)"
    )


def _aware(when: datetime.datetime | None) -> datetime.datetime:
    assert when is not None
    return when if when.tzinfo is not None else when.replace(tzinfo=datetime.timezone.utc)


def _nothing_resumable_error(directory: Path, survey: Survey, pointer_problem: str | None) -> CheckpointError:
    """The refusal when checkpoints exist but none can be resumed from (see the module docstring)."""
    lines = ["resume=True found checkpoints but none to resume from; nothing was changed"]
    if pointer_problem:
        lines.append(f"  {pointer_problem}")
    for b in survey.broken:
        lines.append(f"  cannot resume from {b.describe()}")
    weights = [c for c in survey.intact if not c.resumable]
    for c in weights:
        lines.append(
            f"  not resumable (no optimizer/scheduler state or not a typedengine checkpoint): {c.describe()}"
        )
    if weights:
        best = weights[0]
        lines.append(
            "  to continue from its weights with a fresh optimizer and schedule: "
            f"--resume {shown(best.path)}; "
            f"to start a new run initialised with them: --load-from {shown(best.path)}"
        )
    else:
        lines.append(
            "  restore an intact copy, or to start from scratch move these files away "
            "(or use another --work-dir)"
        )
    return CheckpointError(directory, "\n".join(lines))


@dataclass(frozen=True)
class AutoResumeChoice:
    """What ``resume=True`` does: resume from ``path`` (already loaded and verified) or start fresh."""

    path: Path | None
    """None: the work dir holds no checkpoint; start from scratch."""
    checkpoint: dict[str, object] | None
    """The verified contents of ``path`` (read once)."""
    message: str | None
    """What to tell the user (the fallback and why; or the fresh start)."""
    fallback: bool
    """The pointer was not used: ``message`` is a WARNING and the pointer must be repaired to ``path``."""


def choose_auto_resume(work_dir: Path, places: CheckpointPlaces) -> AutoResumeChoice:
    """Pick the checkpoint ``resume=True`` continues from (see the module docstring); CheckpointError if none.

    Reads and fully verifies the chosen file; call it on one rank and share the choice.
    """
    pointer = inspect_pointer(work_dir)
    failed: list[BrokenCheckpoint] = []
    why = pointer.problem.replace(str(pointer.file), shown(pointer.file)) if pointer.problem else None
    target = pointer.target
    if why is None and target is not None:
        if places.is_weights_only(target):
            why = f"{LAST_CHECKPOINT} names {shown(target)}, a weights-only file"
        else:
            try:
                ckpt = load_checkpoint_file(target)
            except CheckpointError as exc:
                failed.append(BrokenCheckpoint(target, exc.reason))
                why = f"{LAST_CHECKPOINT} names {shown(target)}, which does not verify"
            else:
                return AutoResumeChoice(target, ckpt, None, False)
    survey = survey_checkpoints(places, also=[target] if target is not None else []).without(
        b.path for b in failed
    )
    candidates = survey.resumable
    mixed = mixed_runs_problem(candidates)
    if mixed:
        raise CheckpointError(work_dir, f"cannot auto-resume: {why}, and {mixed}")
    for candidate in candidates:
        try:
            ckpt = load_checkpoint_file(candidate.path)
        except CheckpointError as exc:
            failed.append(BrokenCheckpoint(candidate.path, exc.reason))
            continue
        lines = [
            (
                f"auto-resume: resuming from {candidate.describe()}, the newest checkpoint that verifies; "
                f"{LAST_CHECKPOINT} is repaired to point at it"
            ),
            f"  the pointer was not used: {why}",
        ]
        lines.extend(f"  not used (left in place): {b.describe()}" for b in (*failed, *survey.broken))
        return AutoResumeChoice(candidate.path, ckpt, "\n".join(lines), True)
    failed_keys = {_key(b.path) for b in failed}
    everything = Survey(
        tuple(c for c in survey.intact if _key(c.path) not in failed_keys), (*failed, *survey.broken)
    )
    if everything.empty:
        where = " or ".join(shown(d) for d in places.directories)
        note = f" ({why})" if target is not None and why else ""
        return AutoResumeChoice(
            None, None, f"resume=True: no checkpoint in {where}{note}; starting from scratch", False
        )
    raise _nothing_resumable_error(work_dir, everything, why)


def explicit_checkpoint_error(
    error: CheckpointError, places: CheckpointPlaces, *, flag: str, resumable_only: bool, limit: int = 5
) -> CheckpointError:
    """``error`` (a file named with ``--resume PATH`` / ``--load-from PATH`` that cannot be used) extended
    with the checkpoints that pass the quick check, and the flag using the newest one that fully verifies."""
    bad = Path(error.path)
    directories = (*places.directories, bad.parent) if bad.parent.is_dir() else places.directories
    survey = survey_checkpoints(
        CheckpointPlaces(tuple(dict.fromkeys(directories)), places.regular, places.weights_only)
    )
    usable = list(survey.resumable if resumable_only else survey.intact)
    usable = [c for c in usable if _key(c.path) != _key(bad)]
    suggestion: FoundCheckpoint | None = None
    for candidate in usable[:limit]:
        try:
            file_checksum(candidate.path)  # the file suggested must really work: a full check
        except CheckpointError:
            usable.remove(candidate)
            continue
        suggestion = candidate
        break
    if suggestion is None:
        return CheckpointError(bad, error.reason + "\n  no other checkpoint here verifies")
    listed = ", ".join(c.describe() for c in usable[:limit])
    more = f" and {len(usable) - limit} more" if len(usable) > limit else ""
    return CheckpointError(
        bad,
        f"{error.reason}\n  other checkpoints here, newest first: {listed}{more}"
        f"\n  to use {shown(suggestion.path)} (it verifies): {flag} {shown(suggestion.path)}",
    )


def agree_on_auto_resume(work_dir: Path, places: CheckpointPlaces, *, rank: int) -> AutoResumeChoice:
    """:func:`choose_auto_resume` on rank 0, shared with every rank (collective; identity in one process).

    Only rank 0 reads the candidates; the others get the choice (``checkpoint`` None: they read the chosen
    file themselves) or the same :class:`CheckpointError`, so no rank waits for a decision that failed.
    """
    choice: AutoResumeChoice | None = None
    failure: Exception | None = None
    if rank == 0:
        try:
            choice = choose_auto_resume(work_dir, places)
        except Exception as exc:  # noqa: BLE001  # shared with the other ranks below, then re-raised
            failure = exc
    decided = None if choice is None else (choice.path, choice.message, choice.fallback)
    error = None
    if failure is not None:
        path = getattr(failure, "path", None)
        reason = getattr(failure, "reason", None) if path is not None else None
        error = (
            (str(path), str(reason))
            if reason is not None
            else ("rank 0", f"{type(failure).__name__}: {failure}")
        )
    decided, error = dist_ops.broadcast_object((decided, error))
    if failure is not None:
        raise failure
    if error is not None:
        raise CheckpointError(*error)
    assert decided is not None
    path, message, fallback = decided
    return AutoResumeChoice(path, choice.checkpoint if choice is not None else None, message, fallback)


@dataclass(frozen=True)
class FinishedRun:
    """A resumed run that already reached its end (:func:`finished_run`)."""

    message: str
    validation_due: bool
    """The checkpoint predates the validation due at its point (the run was killed during it, or it was not
    re-saved after it): the loop runs that validation, and no training iteration."""


def finished_run(
    state: RunState,
    *,
    by_epoch: bool,
    max_epochs: int,
    max_iters: int,
    checkpoint: Path,
    early_stop: str | None,
    validates_after: Callable[[int], bool] | None,
) -> FinishedRun | None:
    """What to say when a resumed ``state`` already reached the end of the configured run; None otherwise.

    ``early_stop``: why early stopping ended the run, when it did. ``validates_after``: whether the run
    validates after a count of epochs (epoch loops) or iterations (None: it does not validate). An epoch
    loop's checkpoint taken after its last iteration on the iteration cadence still counts the last epoch as
    running: the iterations tell how many epochs are done.
    """
    done = state.iter
    if by_epoch:
        done = max(state.epoch, state.iter * max_epochs // max_iters) if max_iters else state.epoch
    due = validates_after is not None and done > state.validated and validates_after(done)
    where = f"epoch {done if by_epoch else state.epoch} / iter {state.iter} (checkpoint {shown(checkpoint)})"
    if early_stop is not None:
        return FinishedRun(
            f"training already finished at {where}: early stopping ended it ({early_stop}); nothing to do — "
            "to train on, resume without early stopping or with a larger patience",
            due,
        )
    if by_epoch:
        if done < max_epochs:
            return None
        end, flag, past = f"epoch {max_epochs}", "--train.max-epochs", done > max_epochs
    else:
        if state.iter < max_iters:
            return None
        end, flag, past = f"iter {max_iters}", "--train.max-iters", state.iter > max_iters
    beyond = f", past the configured end ({end})" if past else ""
    todo = (
        "nothing to train; its last validation runs (the checkpoint was written before it)"
        if due
        else "nothing to do"
    )
    return FinishedRun(f"training already finished at {where}{beyond}; {todo} — raise {flag} to continue", due)
