"""Checkpoint save time: typedengine's atomic, checksummed write vs a bare ``torch.save`` of the same state.

Builds an MLP (``--params-m`` million parameters) with an Adam state after one step, i.e. roughly
``3 × 4 × params`` bytes, and times, interleaved over ``--repeats`` rounds (median reported):

* ``torch.save``            — ``torch.save(state, path)`` (data left in the page cache, no fsync)
* ``torch.save + fsync``    — the same followed by ``os.fsync`` (what a durable bare save costs)
* ``typedengine``           — :func:`typedengine.checkpoint.io.save_checkpoint_file` (content check, temp
  file, SHA-256 trailer over the zip headers, fsync, rename, directory fsync)
* ``typedengine durable=False`` — the default without the fsyncs

then the read side of the same file: ``verify`` (:func:`typedengine.checkpoint.io.file_checksum`: trailer
SHA-256 and every entry's CRC-32, what each load checks first) and ``quick check``
(:func:`typedengine.checkpoint.io.summarize_checkpoint`, what auto-resume does for every candidate).

With ``--resume-cost`` it instead measures what resuming the data position costs on a 1M-sample dataset:
time to the first batch after ``sampler.set_start`` at sample 900,000 (typedengine's resume), at sample 0
(an ordinary epoch start), and replaying the 900,000 samples through the loader (MMEngine's iteration
resume), plus an :class:`InfiniteSampler` resumed 5M samples into its stream.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/checkpoint_save.py --params-m 25 --repeats 5 [--dir /tmp/ckbench]
    OMP_NUM_THREADS=1 python benchmarks/checkpoint_save.py --resume-cost
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from typedengine.checkpoint.io import save_checkpoint_file


def build_state(params_m: float) -> dict[str, object]:
    width = 1024
    layers = max(1, round(params_m * 1e6 / (width * width + width)))
    model = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(layers)])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, width)).sum().backward()
    opt.step()
    return {
        "state_dict": model.state_dict(),
        "optimizer": opt.state_dict(),
        "meta": {"epoch": 1, "iter": 100},
    }


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Indices(torch.utils.data.Dataset[int]):
    """A dataset whose samples cost nothing: the loader's own overhead is what replay pays."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> int:
        return i


def resume_cost(size: int = 1_000_000, position: int = 900_000, batch_size: int = 32) -> None:
    from torch.utils.data import DataLoader

    from typedengine.data.samplers import DefaultSampler, InfiniteSampler

    def first_batch(start: int) -> tuple[float, int]:
        sampler = DefaultSampler(size, shuffle=True, seed=0)
        loader = DataLoader(_Indices(size), batch_size=batch_size, sampler=sampler)
        t0 = time.perf_counter()
        sampler.set_start(start)
        batch = next(iter(loader))
        return time.perf_counter() - t0, int(batch[0])

    resumed, first_resumed = first_batch(position)
    fresh, _ = first_batch(0)
    sampler = DefaultSampler(size, shuffle=True, seed=0)
    loader = DataLoader(_Indices(size), batch_size=batch_size, sampler=sampler)
    t0 = time.perf_counter()
    stream = iter(loader)
    for _ in range(position // batch_size):
        next(stream)
    first_replayed = int(next(stream)[0])
    replay = time.perf_counter() - t0
    assert first_replayed == first_resumed, "set_start and replay disagree on the next sample"
    infinite = InfiniteSampler(size, shuffle=True, seed=0)
    t0 = time.perf_counter()
    infinite.set_start(5_000_000)
    next(iter(infinite))
    inf_time = time.perf_counter() - t0
    print(f"dataset of {size:,} samples, batch {batch_size}, resume at sample {position:,}")
    print(f"  set_start + first batch (typedengine resume)   {resumed * 1e3:8.1f} ms")
    print(f"  first batch of a fresh epoch (for comparison)  {fresh * 1e3:8.1f} ms")
    print(f"  replaying {position:,} samples through the loader {replay * 1e3:8.1f} ms  (same next sample)")
    print(f"  InfiniteSampler resumed 5,000,000 samples in    {inf_time * 1e3:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--params-m", type=float, default=25.0, help="model size in millions of parameters")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; the median is reported")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    parser.add_argument("--resume-cost", action="store_true", help="measure sampler-position resume instead")
    args = parser.parse_args()
    if args.resume_cost:
        resume_cost()
        return

    state = build_state(args.params_m)
    root = args.dir or Path(tempfile.mkdtemp(prefix="ckbench-"))
    root.mkdir(parents=True, exist_ok=True)

    def bare() -> None:
        torch.save(state, root / "bare.pth")

    def bare_fsync() -> None:
        torch.save(state, root / "bare_fsync.pth")
        fsync_path(root / "bare_fsync.pth")

    def ours() -> None:
        save_checkpoint_file(state, root / "ours.pth")

    def ours_fast() -> None:
        save_checkpoint_file(state, root / "ours_nosync.pth", durable=False)

    cases: dict[str, Callable[[], None]] = {
        "torch.save": bare,
        "torch.save + fsync": bare_fsync,
        "typedengine": ours,
        "typedengine durable=False": ours_fast,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm-up: page cache, allocator, thread pool
        fn()
    os.sync()
    for _ in range(args.repeats):
        for name, fn in cases.items():
            for old in root.glob("*.pth"):  # checkpoints get fresh names (epoch_N.pth): never time overwrites
                old.unlink()
            os.sync()  # start every case with no dirty pages from the previous one
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    size_mb = (root / "ours_nosync.pth").stat().st_size / 2**20
    base = statistics.median(times["torch.save"])
    base_sync = statistics.median(times["torch.save + fsync"])
    print(
        f"state: {size_mb:.0f} MiB, {args.repeats} rounds, median seconds (ratio vs torch.save / vs +fsync)"
    )
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:28s} {med:7.3f} s   {med / base:5.2f}x   {med / base_sync:5.2f}x")
    from typedengine.checkpoint.io import file_checksum, summarize_checkpoint

    written = root / "ours_nosync.pth"
    save_checkpoint_file(state, written, durable=False)
    for name, fn in (("verify", file_checksum), ("quick check", summarize_checkpoint)):
        reads = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn(written)
            reads.append(time.perf_counter() - t0)
        print(f"  {name:28s} {statistics.median(reads):7.3f} s   (page cache warm)")
    for p in root.glob("*.pth"):
        p.unlink()


if __name__ == "__main__":
    main()
