"""The benchmarks' generated stacks are valid stacks of the sizes they claim (no timing here)."""

import pytest

from benchmarks import program_scale
from benchmarks.scale_stacks import MAX_REPEATS, TEAM_COUNTS, median_seconds, repeats_for, scaled_config, sizes
from components.config import load_spec


@pytest.mark.parametrize("teams, partitions", [(500, 1), (1, 64)])
def test_scaled_stacks_are_valid(teams, partitions):
    spec = load_spec(scaled_config(teams, partitions), "bench")
    assert len(spec.teams) == teams and spec.grid.partitions == partitions
    assert len({t.name for t in spec.teams}) == teams


def test_sizes_cover_the_issue():
    assert {t for t, _ in sizes()} == set(TEAM_COUNTS)
    assert {p for _, p in sizes()} == {1, 16, 64}


def test_small_sizes_are_timed_several_times_and_large_ones_once():
    assert repeats_for(117) == MAX_REPEATS
    assert repeats_for(400) == 5
    assert repeats_for(13091) == 1 and repeats_for(0) == MAX_REPEATS


def test_median_seconds_returns_the_last_result_and_runs_the_work_each_time():
    calls = []
    seconds, result = median_seconds(lambda: calls.append(1) or len(calls), 3)
    assert result == 3 and len(calls) == 3 and seconds >= 0


@pytest.mark.parametrize("which", ["kubegrid", "baseline"])
def test_both_sides_of_the_program_benchmark_register_the_same_resources(which):
    # measure() itself refuses a baseline that differs from what KubeGrid registered
    figures = program_scale.measure(1, 1, which)
    assert figures["resources"] > 100 and figures["repeats"] == repeats_for(figures["resources"])
