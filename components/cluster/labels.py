"""Labels the objects the stack applies carry."""

from __future__ import annotations

PART_OF = "kubegrid"
GRID_CLIENT_LABEL = "kubegrid.io/grid-client"
"""Namespace label of the namespaces whose pods may reach the grid (the team namespaces)."""
TEAM_LABEL = "kubegrid.io/team"
"""Label naming the team an object belongs to."""


def standard(component: str, **extra: str) -> dict[str, str]:
    """The app.kubernetes.io labels of an object the stack applies itself."""
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/component": component,
        **extra,
    }
