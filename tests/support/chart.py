"""Rendering the kubegrid chart in tests, and reading what it rendered.

Every render uses the real Helm engine (``helm_python``), the way ``helm
install`` would, for release ``kubegrid`` in namespace ``kubegrid`` (the
names the Pulumi stack uses). Each scenario file
``charts/kubegrid/ci/<scenario>-values.yaml`` is rendered once per session.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "kubegrid"
CI_DIR = CHART_DIR / "ci"
RECORDED_DIR = REPO_ROOT / "tests" / "chart" / "recorded"

RELEASE = "kubegrid"
NAMESPACE = "kubegrid"
KUBE_VERSION = "1.34"

SCENARIOS: list[str] = sorted(
    p.name[: -len("-values.yaml")] for p in CI_DIR.glob("*-values.yaml")
)

# Kinds whose pods the chart creates, and where their pod spec lives.
WORKLOAD_KINDS = ("StatefulSet", "Deployment", "Pod")

# Fields of an existing object that `helm upgrade` cannot change in place.
IMMUTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "StatefulSet": ("selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"),
    "Deployment": ("selector",),
    "Service": ("clusterIP",),
}


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


@functools.cache
def chart() -> helm_python.Chart:
    """The chart, loaded once per process."""
    return helm_python.Chart.load(CHART_DIR)


def scenario_values(scenario: str) -> dict[str, Any]:
    """The values of ``ci/<scenario>-values.yaml``."""
    data = yaml.safe_load((CI_DIR / f"{scenario}-values.yaml").read_text()) or {}
    assert isinstance(data, dict)
    return data


class Render:
    """The objects one render produced, with small query helpers."""

    def __init__(self, manifests: dict[str, str]) -> None:
        self.notes = ""
        self.objects: list[dict[str, Any]] = []
        for path, text in sorted(manifests.items()):
            if path.endswith("NOTES.txt"):
                self.notes = text
                continue
            self.objects.extend(doc for doc in yaml.safe_load_all(text) if doc)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        return found[0] if found else None

    def workloads(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in WORKLOAD_KINDS]

    def partition_sets(self) -> list[dict[str, Any]]:
        sets = [
            o
            for o in self.of_kind("StatefulSet")
            if o["metadata"]["labels"].get("app.kubernetes.io/component") == "partition"
        ]
        return sorted(sets, key=lambda o: int(o["metadata"]["labels"]["kubegrid.io/partition"]))


def render_values(
    values: dict[str, Any] | None = None,
    *,
    name: str = RELEASE,
    namespace: str = NAMESPACE,
) -> Render:
    """Render the chart like an install. Raises the engine's errors."""
    return Render(chart().render(values or {}, name=name, namespace=namespace, is_install=True))


@functools.cache
def render_scenario(scenario: str) -> Render:
    """Render one scenario (cached for the session; treat as read-only)."""
    return render_values(scenario_values(scenario))


def merged_values(values: dict[str, Any]) -> dict[str, Any]:
    """The chart defaults coalesced with ``values``, as an install sees them."""
    return chart().merge_values(values)


# --------------------------------------------------------------------------
# Pod specs
# --------------------------------------------------------------------------


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a workload object."""
    if obj["kind"] == "Pod":
        return obj["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def args_of(container: dict[str, Any]) -> dict[str, str]:
    """Container args of the form key=value, as a dict."""
    return dict(a.split("=", 1) for a in container.get("args", []) if "=" in a)


def selector_matches(match_labels: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in match_labels.items())


# --------------------------------------------------------------------------
# Memory quantities (to check the heap the chart derives)
# --------------------------------------------------------------------------

_UNITS = {"Mi": 1024**2, "Gi": 1024**3, "M": 1000**2, "G": 1000**3}


def quantity_mib(quantity: str) -> int:
    """Whole MiB of a memory quantity in Mi, Gi, M or G."""
    m = re.fullmatch(r"([0-9]+)(Mi|Gi|M|G)", quantity)
    assert m, quantity
    return int(m.group(1)) * _UNITS[m.group(2)] // 1024**2


# --------------------------------------------------------------------------
# Immutable fields (upgrade safety)
# --------------------------------------------------------------------------


def immutable_fields(render: Render) -> dict[str, dict[str, Any]]:
    """For each object with fields an upgrade cannot change, those fields."""
    fields: dict[str, dict[str, Any]] = {}
    for obj in render.objects:
        keys = IMMUTABLE_FIELDS.get(obj["kind"])
        if not keys:
            continue
        spec = obj.get("spec", {})
        fields[f"{obj['kind']}/{obj['metadata']['name']}"] = {
            k: copy.deepcopy(spec.get(k)) for k in keys
        }
    return fields


def recorded_path(version: str, scenario: str) -> Path:
    return RECORDED_DIR / f"{version}-{scenario}.json"


def recording(scenario: str) -> dict[str, Any]:
    """What record_immutable.py stores for a scenario at the current chart version."""
    return {
        "chart": chart().name,
        "version": chart().version,
        "scenario": scenario,
        "release": RELEASE,
        "namespace": NAMESPACE,
        "objects": immutable_fields(render_scenario(scenario)),
    }


def immutable_differences(
    recorded: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]
) -> list[str]:
    """Why upgrading from ``recorded`` to ``current`` would fail or lose data."""
    problems: list[str] = []
    for key, fields in sorted(recorded.items()):
        if key not in current:
            problems.append(
                f"{key} is no longer rendered: renaming or dropping it deletes its pods "
                "and orphans its volumes on upgrade"
            )
            continue
        for field, value in fields.items():
            if current[key].get(field) != value:
                problems.append(
                    f"{key}: spec.{field} changed from {json.dumps(value, sort_keys=True)} "
                    f"to {json.dumps(current[key].get(field), sort_keys=True)}"
                )
    return problems


def iter_pod_specs(render: Render) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every pod spec the chart creates, including Spark's executor pod template."""
    for obj in render.workloads():
        yield f"{obj['kind']}/{obj['metadata']['name']}", pod_spec(obj)
    for cm in render.of_kind("ConfigMap"):
        template = cm.get("data", {}).get("executor-pod-template.yaml")
        if template:
            yield f"ConfigMap/{cm['metadata']['name']}:executor", yaml.safe_load(template)["spec"]
