"""Gather per-sample evaluation results from every rank back into dataset order.

Under :class:`typedengine.data.samplers.DefaultSampler` rank ``r`` of ``w`` evaluates the samples at
positions ``r, r + w, r + 2w, ...`` of the epoch's index list, and with ``round_up`` the last stride is
padded with repeated samples. :func:`collect_results` undoes both: it interleaves the ranks' lists (one
result from rank 0, one from rank 1, ...) and cuts the result to the dataset size, so every sample counts
exactly once.

Example::

    results = collect_results(self.results, size=len(val_dataset))   # same list on every rank
    metrics = compute(results) if is_main_process() else {}
    metrics = broadcast_object(metrics)

It assumes one result per sample, appended in the order the rank's loader produced them, and a
non-shuffled (or same-seed) DefaultSampler. Results travel pickled through ``all_gather_object``.
"""

from __future__ import annotations

from typing import TypeVar

from typedengine.distributed.ops import all_gather_objects, get_world_size

__all__ = ["collect_results"]

T = TypeVar("T")


def collect_results(results: list[T], size: int) -> list[T]:
    """All ranks' ``results`` interleaved in sampler order and truncated to ``size``; on every rank.

    In a single process this is ``results[:size]``. Must be called by every rank (it is a collective).
    """
    if size < 0:
        raise ValueError(f"collect_results: size must be >= 0, got {size}")
    if get_world_size() == 1:
        return results[:size]
    parts = all_gather_objects(list(results))
    ordered: list[T] = []
    longest = max(len(part) for part in parts)
    for i in range(longest):
        for part in parts:
            if i < len(part):
                ordered.append(part[i])
    return ordered[:size]
