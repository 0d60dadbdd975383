"""What the benchmarks share: stacks of growing size generated from the dev stack, and
running each measurement in a fresh process."""

from __future__ import annotations

import copy
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEAM_COUNTS = (1, 10, 100, 500)
# Small sizes run in milliseconds and their single runs scatter; each size is
# timed this many times over, as long as that stays under ~2,000 resources.
WORK_PER_SIZE = 2000
MAX_REPEATS = 7
PARTITION_COUNTS = (1, 16, 64)


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def scaled_config(teams: int, partitions: int, stack: str = "dev") -> dict[str, Any]:
    """``stack`` (dev unless named) with ``teams`` copies of its first team and ``partitions`` partitions."""
    config = copy.deepcopy(stack_config(stack))
    template = config["kubegrid:teams"][0]
    config["kubegrid:teams"] = [{**copy.deepcopy(template), "name": f"team-{i:03d}"} for i in range(teams)]
    config["kubegrid:grid"]["partitions"] = partitions
    return config


def sizes() -> list[tuple[int, int]]:
    """The teams sweep at one partition, then the partitions sweep at one team."""
    return [(t, 1) for t in TEAM_COUNTS] + [(1, p) for p in PARTITION_COUNTS if p != 1]


def in_child(script: str, teams: int, partitions: int, which: str) -> dict[str, Any]:
    """Runs ``script --one TEAMS PARTITIONS WHICH`` in a fresh process (so peak memory is
    its own) and returns the JSON it prints last."""
    out = subprocess.run([sys.executable, script, "--one", str(teams), str(partitions), which],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_script(measure: Callable[[int, int, str], dict[str, Any]], table: Callable[[], None]) -> int:
    """A benchmark's entry point: one measurement when called with --one, else the table."""
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
    else:
        table()
    return 0


def print_header(header: str) -> None:
    print(header)
    print("-" * len(header))


def repeats_for(units: int) -> int:
    """How many timed runs a size of ``units`` resources or objects gets."""
    return max(1, min(MAX_REPEATS, WORK_PER_SIZE // max(units, 1)))


def median_seconds(work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The median wall time of ``repeats`` runs of ``work``, and the last run's result.

    Each run starts from a collected heap, so one run's garbage is not another's cost.
    """
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_mib() -> float:
    """This process's peak resident memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
