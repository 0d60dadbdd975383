"""Stack configurations of growing size, generated from the dev stack (shared by the benchmarks)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEAM_COUNTS = (1, 10, 100, 500)
PARTITION_COUNTS = (1, 16, 64)


def dev_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]


def scaled_config(teams: int, partitions: int) -> dict[str, Any]:
    """The dev stack with ``teams`` copies of its team and ``partitions`` partitions."""
    config = copy.deepcopy(dev_config())
    template = config["kubegrid:teams"][0]
    config["kubegrid:teams"] = [{**copy.deepcopy(template), "name": f"team-{i:03d}"} for i in range(teams)]
    config["kubegrid:grid"]["partitions"] = partitions
    return config


def sizes() -> list[tuple[int, int]]:
    """The teams sweep at one partition, then the partitions sweep at one team."""
    return [(t, 1) for t in TEAM_COUNTS] + [(1, p) for p in PARTITION_COUNTS if p != 1]
