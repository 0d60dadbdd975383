"""`helm upgrade` from a recorded release cannot break: the fields Kubernetes
will not change in place are the same as in every recorded version.

Recordings live in tests/chart/recorded/<version>-<scenario>.json; make them
deliberately with `python -m tests.chart.record_immutable` (see its
docstring) when a chart version is released.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support import chart as kit


def _recordings(scenario: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(kit.RECORDED_DIR.glob(f"*-{scenario}.json"))]


def test_current_version_is_recorded(scenario: str) -> None:
    path = kit.recorded_path(kit.chart().version, scenario)
    assert path.exists(), (
        f"{path.name} is missing: record it with `python -m tests.chart.record_immutable {scenario}`"
    )


def test_immutable_fields_match_every_recorded_release(scenario: str, rendered: Any) -> None:
    recordings = _recordings(scenario)
    assert recordings
    current = kit.immutable_fields(rendered)
    for recorded in recordings:
        assert recorded["scenario"] == scenario
        assert (recorded["release"], recorded["namespace"]) == (kit.RELEASE, kit.NAMESPACE)
        assert kit.immutable_differences(recorded["objects"], current) == [], (
            f"upgrading from chart {recorded['version']} ({scenario}) would fail"
        )


def test_recordings_cover_every_statefulset(rendered: Any, scenario: str) -> None:
    (recorded,) = [r for r in _recordings(scenario) if r["version"] == kit.chart().version]
    for sts in rendered.of_kind("StatefulSet"):
        assert f"StatefulSet/{sts['metadata']['name']}" in recorded["objects"]


def test_the_comparison_catches_each_immutable_change() -> None:
    current = kit.immutable_fields(kit.render_scenario("persistence"))
    key = "StatefulSet/kubegrid-partition-1"
    changes = {
        "selector": lambda f: f["selector"]["matchLabels"].update({"helm.sh/chart": "kubegrid-0.2.0"}),
        "serviceName": lambda f: f.update(serviceName="kubegrid-partition-1-headless"),
        "volumeClaimTemplates": lambda f: f["volumeClaimTemplates"][0]["spec"]["resources"]["requests"].update(
            storage="100Gi"
        ),
        "podManagementPolicy": lambda f: f.update(podManagementPolicy="OrderedReady"),
    }
    for field, change in changes.items():
        changed = copy.deepcopy(current)
        change(changed[key])
        problems = kit.immutable_differences(current, changed)
        assert len(problems) == 1 and problems[0].startswith(f"{key}: spec.{field} changed"), problems
    renamed = copy.deepcopy(current)
    renamed["StatefulSet/kubegrid-data-1"] = renamed.pop(key)
    assert kit.immutable_differences(current, renamed) == [
        f"{key} is no longer rendered: renaming or dropping it deletes its pods and orphans its volumes on upgrade"
    ]


def test_toggling_persistence_is_an_immutable_change(render: Any) -> None:
    """Documented in README (Upgrading): it needs the StatefulSets recreated."""
    before = kit.immutable_fields(render({"persistence": {"enabled": False}}))
    after = kit.immutable_fields(render({"persistence": {"enabled": True}}))
    problems = kit.immutable_differences(before, after)
    assert any("spec.volumeClaimTemplates changed" in p for p in problems)


def test_chart_version_does_not_reach_immutable_fields() -> None:
    """Nothing recorded mentions the chart or app version."""
    for path in kit.RECORDED_DIR.glob("*.json"):
        objects = json.dumps(json.loads(path.read_text())["objects"])
        assert "helm.sh/chart" not in objects
        assert "app.kubernetes.io/version" not in objects
        assert "16.4.0" not in objects
