"""Labels the objects the stack applies carry."""

from __future__ import annotations

PART_OF = "kubegrid"
GRID_CLIENT_LABEL = "kubegrid.io/grid-client"
"""Namespace label of the namespaces whose pods may reach the grid (the team namespaces)."""
TEAM_LABEL = "kubegrid.io/team"
"""Label naming the team an object belongs to."""
SPARK_RUNTIME_LABEL = "kubegrid.io/spark-runtime"
"""On the pods of insightedge jobs: ``insightedge`` (Spark 2.4, whose UI has no Prometheus endpoint)."""


def standard(component: str, **extra: str) -> dict[str, str]:
    """The app.kubernetes.io labels of an object the stack applies itself."""
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/component": component,
        **extra,
    }
