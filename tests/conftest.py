"""Shared fixtures: run the real program for any stack file under Pulumi's mocks."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from components.offline.mock_run import ProgramRun, run_program
from tests.support.stacks import STACK_NAMES, stack_config

_RUNS: dict[str, ProgramRun] = {}


@pytest.fixture
def run_stack() -> Callable[..., ProgramRun]:
    """run_stack("dev") runs a stack from stacks/ (cached per session);
    run_stack(config=dict, name=...) runs any configuration."""

    def run(name: str = "test", config: dict[str, Any] | None = None, secret_keys=()) -> ProgramRun:
        if config is not None:
            return run_program(config, name, secret_keys)
        if name not in _RUNS:
            _RUNS[name] = run_program(stack_config(name), name)
        return _RUNS[name]

    return run


@pytest.fixture(params=STACK_NAMES)
def each_stack(request) -> str:
    return request.param
