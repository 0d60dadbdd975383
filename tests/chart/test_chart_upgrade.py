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
    return [json.loads(p.read_text()) for p in sorted(kit.RECORDED_DIR.glob(f"*-{scenario}.json"))
            if p.name[: -len(f"-{scenario}.json")].count(".") == 2]


def _major(version: str) -> int:
    return int(version.split(".")[0])


# Objects whose immutable fields a major version changes, with the written
# upgrade steps (charts/kubegrid/README.md and docs/operations.md,
# "Upgrading the grid chart from 0.x"). The 0.x recordings stay as history.
MAJOR_BOUNDARIES: dict[int, set[str]] = {
    1: {
        # GigaSpaces derives the managers' names from manager.name M: StatefulSet M,
        # headless Service M-hs, client Service M-service.
        "StatefulSet/kubegrid-management is no longer rendered: renaming or dropping it deletes its pods "
        "and orphans its volumes on upgrade",
        "Service/kubegrid-management-headless is no longer rendered: renaming or dropping it deletes its pods "
        "and orphans its volumes on upgrade",
        "Service/kubegrid-management is no longer rendered: renaming or dropping it deletes its pods "
        "and orphans its volumes on upgrade",
    },
}


def test_current_version_is_recorded(scenario: str) -> None:
    path = kit.recorded_path(kit.chart().version, scenario)
    assert path.exists(), (
        f"{path.name} is missing: record it with `python -m tests.chart.record_immutable {scenario}`"
    )


def test_immutable_fields_match_every_recorded_release_of_this_major(scenario: str, rendered: Any) -> None:
    current_major = _major(kit.chart().version)
    recordings = [r for r in _recordings(scenario) if _major(r["version"]) == current_major]
    assert recordings
    current = kit.immutable_fields(rendered)
    for recorded in recordings:
        assert recorded["scenario"] == scenario
        assert (recorded["release"], recorded["namespace"]) == (kit.RELEASE, kit.NAMESPACE)
        assert kit.immutable_differences(recorded["objects"], current) == [], (
            f"upgrading from chart {recorded['version']} ({scenario}) would fail"
        )


def test_earlier_majors_differ_only_where_the_upgrade_steps_say(scenario: str, rendered: Any) -> None:
    """An upgrade across a major version breaks exactly the documented objects, and nothing else:
    the partitions' StatefulSets (and their claims) keep their names and immutable fields."""
    current_major = _major(kit.chart().version)
    current = kit.immutable_fields(rendered)
    for recorded in _recordings(scenario):
        major = _major(recorded["version"])
        if major == current_major:
            continue
        allowed = set().union(*(MAJOR_BOUNDARIES[m] for m in range(major + 1, current_major + 1)))
        problems = kit.immutable_differences(recorded["objects"], current)
        assert set(problems) <= allowed, f"undocumented break from {recorded['version']} ({scenario})"
        assert any(p.startswith("StatefulSet/kubegrid-management ") for p in problems)


def test_the_0_x_recordings_are_kept_as_history() -> None:
    assert {p.name for p in kit.RECORDED_DIR.glob("0.1.0-*.json")} == {
        f"0.1.0-{s}.json" for s in ("ha", "minimal", "partitions16", "persistence", "stack", "zeppelin")}


def test_the_major_upgrade_steps_are_written() -> None:
    readme = (kit.CHART_DIR / "README.md").read_text()
    operations = (kit.REPO_ROOT / "docs" / "operations.md").read_text()
    assert "## Upgrading the grid chart from 0.x" in operations
    for text in (readme, operations):
        assert "--cascade=orphan" in text
        for name in ("kubegrid-management", "kubegrid-management-headless", "kubegrid-manager", "kubegrid-manager-hs",
                     "work-kubegrid-management-0", "work-kubegrid-manager-0", "persistentVolumeReclaimPolicy",
                     "claimRef", "volumeName"):
            assert name in text, name


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
