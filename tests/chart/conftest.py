"""Fixtures of the chart tests; the helpers they use are in tests/support/chart.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.chart import SCENARIOS, Render, merged_values, render_scenario, render_values, scenario_values


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest) -> str:
    """Each scenario of charts/kubegrid/ci/ in turn."""
    return str(request.param)


@pytest.fixture
def rendered(scenario: str) -> Render:
    """The render of the current scenario (session-cached)."""
    return render_scenario(scenario)


@pytest.fixture
def values(scenario: str) -> dict[str, Any]:
    """The chart defaults merged with the current scenario's values."""
    return merged_values(scenario_values(scenario))


@pytest.fixture(scope="session")
def render() -> Any:
    """Render with given values: ``render({"partitions": {...}}, name=...)``."""
    return render_values
