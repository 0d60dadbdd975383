"""Helpers for the EKS tests: stack configs to vary, JSON policies, and the
resource options (protect, dependencies, provider) the plain recording leaves out."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from components import mock_run
from components.mock_run import ProgramRun, run_program
from tests.conftest import stack_config


def config_of(name: str) -> dict[str, Any]:
    """A deep copy of a stack file's config, to change in a test."""
    return copy.deepcopy(stack_config(name))


def policy(resource) -> dict[str, Any]:
    """The JSON policy document of an IAM role's trust or inline policy input."""
    raw = resource.inputs.get("assumeRolePolicy") or resource.inputs["policy"]
    return json.loads(raw)


def children(run: ProgramRun, parent: str, type_: str | None = None) -> list:
    return [r for r in run.resources if r.parent == parent and (type_ is None or r.type == type_)]


@dataclass
class Options:
    """Resource options as the engine received them."""

    protect: bool
    dependencies: list[str]
    ignore_changes: list[str]
    provider: str


@dataclass
class DetailedRun:
    run: ProgramRun
    options: dict[str, Options] = field(default_factory=dict)

    def of(self, name: str) -> Options:
        return self.options[name]


def run_with_options(config: dict[str, Any], name: str = "test") -> DetailedRun:
    """Runs a config like run_program, also recording each resource's options."""
    options: dict[str, Options] = {}
    original = mock_run._RecordingMonitor.RegisterResource

    def register(self, request):
        response = original(self, request)
        names = getattr(self, "_names", {})
        options[request.name] = Options(
            protect=bool(request.protect), dependencies=[names.get(u, u) for u in request.dependencies],
            ignore_changes=list(request.ignoreChanges), provider=request.provider)
        return response

    mock_run._RecordingMonitor.RegisterResource = register
    try:
        return DetailedRun(run_program(config, name), options)
    finally:
        mock_run._RecordingMonitor.RegisterResource = original
