"""Fixtures of the EKS tests."""

from __future__ import annotations

from typing import Callable

import pytest

from tests.aws.support import DetailedRun, run_with_options


@pytest.fixture
def run_detailed() -> Callable[..., DetailedRun]:
    """run_detailed(config, name) runs a config and records protect, dependencies,
    ignoreChanges and provider of every resource."""
    return run_with_options
