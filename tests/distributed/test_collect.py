"""collect_results: every sample exactly once, in sampler order, across ranks."""

from __future__ import annotations

from tests.distributed.dist_harness import run_ranks
from typedengine.data.samplers import DefaultSampler
from typedengine.distributed.ops import get_rank
from typedengine.evaluation.collect import collect_results


def test_single_process_truncates_to_size() -> None:
    assert collect_results([1, 2, 3, 4], size=3) == [1, 2, 3]
    assert collect_results([1, 2], size=5) == [1, 2]


def _evaluate_shard(size: int, shuffle: bool, round_up: bool) -> list[tuple[int, int]]:
    """Each rank 'evaluates' the samples its sampler hands it; a result remembers who produced it."""
    sampler = DefaultSampler(size, shuffle=shuffle, seed=11, round_up=round_up)
    results = [(index, get_rank()) for index in sampler]
    return collect_results(results, size)


def _all_cases() -> dict[str, list[tuple[int, int]]]:
    return {
        f"{size}-{shuffle}-{round_up}": _evaluate_shard(size, shuffle, round_up)
        for size in (7, 5, 8)
        for shuffle in (False, True)
        for round_up in (True, False)
    }


def test_two_ranks_count_each_sample_once_in_dataset_order() -> None:
    r0, r1 = run_ranks(_all_cases, 2)
    assert r0 == r1  # every rank returns the same list
    for size in (7, 5, 8):
        for shuffle in (False, True):
            for round_up in (True, False):
                got = r0[f"{size}-{shuffle}-{round_up}"]
                indices = [i for i, _ in got]
                # the single-process order: dataset order, or the epoch's permutation when shuffled
                expected = list(DefaultSampler(size, shuffle=shuffle, seed=11, rank=0, world_size=1))
                assert indices == expected
                assert sorted(indices) == list(range(size))
                if not shuffle:
                    assert indices == list(range(size))
                # positions alternate between the ranks, as the strided sampler dealt them
                assert [producer for _, producer in got] == [p % 2 for p in range(size)]
