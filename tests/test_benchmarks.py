"""The benchmarks' generated stacks are valid stacks of the sizes they claim (no timing here)."""

import pytest

from benchmarks.scale_stacks import TEAM_COUNTS, scaled_config, sizes
from components.spec import load_spec


@pytest.mark.parametrize("teams, partitions", [(500, 1), (1, 64)])
def test_scaled_stacks_are_valid(teams, partitions):
    spec = load_spec(scaled_config(teams, partitions), "bench")
    assert len(spec.teams) == teams and spec.grid.partitions == partitions
    assert len({t.name for t in spec.teams}) == teams


def test_sizes_cover_the_issue():
    assert {t for t, _ in sizes()} == set(TEAM_COUNTS)
    assert {p for _, p in sizes()} == {1, 16, 64}
