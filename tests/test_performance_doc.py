"""docs/performance.md's resource counts are the program's."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.scale_stacks import scaled_config
from tests.support.stacks import STACK_NAMES

DOC = (Path(__file__).resolve().parent.parent / "docs" / "performance.md").read_text()


def documented_counts() -> dict[str, int]:
    rows = re.findall(r"^\| (local|dev|staging|prod)\b[^|]* \| (\d+) \|$", DOC, re.MULTILINE)
    return {stack: int(count) for stack, count in rows}


def test_the_documented_resource_count_of_every_stack(run_stack):
    assert set(documented_counts()) == set(STACK_NAMES)
    for stack, count in documented_counts().items():
        assert len(run_stack(stack).resources) == count, stack


def test_the_documented_cost_of_a_team(run_stack):
    (per_team,) = {int(n) for n in re.findall(r"each further team \| \+(\d+) \|", DOC)}
    one, two = (len(run_stack(name=f"teams-{n}", config=scaled_config(n, 1)).resources) for n in (1, 2))
    assert two - one == per_team
    assert f"**Each team adds a fixed amount of work**: {per_team} Pulumi resources" in DOC
