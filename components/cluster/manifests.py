"""Every Kubernetes object the stack applies itself, as plain data.

`kubegrid render` prints this list (plus the chart); the program applies it.
"""

from __future__ import annotations

from typing import Any

from ..config import StackSpec
from .grid import grid_namespace
from .observability import observability_objects
from .spark import spark_objects
from .tenancy import namespace_objects


def stack_objects(spec: StackSpec) -> list[dict[str, Any]]:
    """The grid namespace, then each team's namespace objects and Spark objects, then observability's."""
    objects = [grid_namespace(spec)]
    for team in spec.teams:
        objects += namespace_objects(spec, team) + spark_objects(spec, team)
    return objects + observability_objects(spec)
