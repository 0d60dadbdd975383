"""Helpers for the EKS tests: JSON policies and the children of a component."""

from __future__ import annotations

import json
from typing import Any

from components.offline.mock_run import ProgramRun, RecordedResource


def policy(resource: RecordedResource) -> dict[str, Any]:
    """The JSON policy document of an IAM role's trust or inline policy input."""
    raw = resource.inputs.get("assumeRolePolicy") or resource.inputs["policy"]
    return json.loads(raw)


def children(run: ProgramRun, parent: str, type_: str | None = None) -> list[RecordedResource]:
    return [r for r in run.resources if r.parent == parent and (type_ is None or r.type == type_)]
