"""Every Kubernetes object the stack applies itself, as plain data.

`kubegrid render` prints this list (plus the chart); the program applies it.
"""

from __future__ import annotations

from typing import Any

from .grid import grid_namespace
from .spec import StackSpec
from .tenancy import team_objects


def cluster_objects(spec: StackSpec) -> list[dict[str, Any]]:
    return [grid_namespace(spec), *team_objects(spec)]
