"""Labels every object the stack applies carries."""

from __future__ import annotations

PART_OF = "kubegrid"


def standard(component: str, **extra: str) -> dict[str, str]:
    """The app.kubernetes.io labels of an object the stack applies itself."""
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/component": component,
        **extra,
    }
