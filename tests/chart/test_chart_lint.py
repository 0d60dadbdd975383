"""Strict `helm lint` of every scenario, and the chart's metadata."""

from __future__ import annotations


import helm_python
import yaml

from tests.support import chart as kit

WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error


def test_strict_lint_is_clean(scenario: str) -> None:
    report = helm_python.lint(
        kit.CHART_DIR,
        kit.scenario_values(scenario),
        strict=True,
        namespace=kit.NAMESPACE,
        kube_version=kit.KUBE_VERSION,
    )
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert problems == []
    # The only remark left is informational: the chart ships no icon URL.
    infos = {m["error"] for m in report["messages"]}
    assert infos <= {"icon is recommended"}


def test_chart_metadata() -> None:
    meta = yaml.safe_load((kit.CHART_DIR / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == "kubegrid"
    assert meta["version"] == "1.0.0"
    assert meta["appVersion"] == "16.4.0"
    assert meta["kubeVersion"] == ">=1.29.0-0"
    assert meta["type"] == "application"


def test_every_scenario_is_listed() -> None:
    assert set(kit.SCENARIOS) >= {"minimal", "ha", "persistence", "zeppelin", "partitions16", "stack", "insightedge",
                                  "existing-license"}
