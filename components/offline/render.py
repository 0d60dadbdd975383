"""Every Kubernetes object a stack applies, rendered offline.

Objects the stack applies itself come from the same pure functions the
program uses; the grid chart is rendered by the real Helm engine with exactly
the values the stack passes to its Helm release. Remote charts (in mode eks:
the Cluster Autoscaler and the NVIDIA device plugin) cannot be fetched
offline; they are listed with their pinned version and values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cluster import yaml_text
from ..cluster.charts import remote_releases
from ..cluster.grid import CHART_DIR, RELEASE_NAME, grid_values, license_secret
from ..cluster.manifests import stack_objects
from ..cluster.observability import grafana_admin_secret, monitoring_resources
from ..cluster.storage import gp3_storage_class
from ..config import StackSpec


@dataclass(frozen=True)
class Rendered:
    source: str
    """Where the object comes from: "stack", "eks" or "chart:<template path>"."""
    obj: dict[str, Any]


@dataclass(frozen=True)
class StackRender:
    objects: list[Rendered]
    remote_charts: list[dict[str, Any]]
    """Helm releases of remote charts: name, namespace, repo, chart, version, values."""


class ChartRenderError(Exception):
    """The chart refused the values (a schema or validateValues failure)."""


def render_chart(values: dict[str, Any], namespace: str) -> list[Rendered]:
    """The grid chart's objects for ``values``, without `helm test` hooks."""
    import helm_python

    try:
        chart = helm_python.Chart.load(CHART_DIR)
        files = chart.render(values, name=RELEASE_NAME, namespace=namespace, is_install=True)
    except helm_python.HelmError as error:
        raise ChartRenderError(str(error)) from None
    objects = []
    for path in sorted(files):
        if not path.endswith((".yaml", ".yml")):
            continue
        for obj in yaml_text.load_all(files[path]):
            if not obj or _is_test_hook(obj):
                continue
            if _namespaced(obj):  # Helm installs namespaced objects into the release namespace
                obj.setdefault("metadata", {}).setdefault("namespace", namespace)
            objects.append(Rendered(f"chart:{path}", obj))
    return objects


_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "PriorityClass",
                   "CustomResourceDefinition", "PersistentVolume"}


def _namespaced(obj: dict[str, Any]) -> bool:
    return obj.get("kind") not in _CLUSTER_SCOPED


def _is_test_hook(obj: dict[str, Any]) -> bool:
    hooks = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return "test" in [h.strip() for h in hooks.split(",")]


def render_stack(spec: StackSpec) -> StackRender:
    objects = [Rendered("stack", o) for o in stack_objects(spec)]
    secret = license_secret(spec)
    if secret is not None:
        objects.append(Rendered("stack", secret))
    if spec.is_eks:
        objects.append(Rendered("eks", gp3_storage_class(spec)))
    grafana = grafana_admin_secret(spec)
    objects += [Rendered("stack", o) for o in ([grafana] if grafana else []) + monitoring_resources(spec)]
    objects += render_chart(grid_values(spec), spec.grid.namespace)
    return StackRender(objects, remote_releases(spec))


def file_name(index: int, obj: dict[str, Any]) -> str:
    """One file per object: NNN-kind-namespace-name.yaml, in render order."""
    meta = obj.get("metadata") or {}
    parts = [f"{index:03d}", obj.get("kind", "object").lower(), meta.get("namespace"), meta.get("name")]
    return "-".join(p for p in parts if p) + ".yaml"


def to_yaml(rendered: Rendered) -> str:
    return f"# Source: {rendered.source}\n" + yaml_text.dump(rendered.obj, sort_keys=False)


def remote_charts_text(remote: list[dict[str, Any]]) -> str:
    """Remote releases as YAML comments: not Kubernetes objects, and not fetched offline."""
    if not remote:
        return ""
    body = yaml_text.dump(remote, sort_keys=False)
    return "# Remote charts this stack installs (pinned; not rendered offline):\n" + "".join(
        f"#   {line}\n" for line in body.splitlines())
