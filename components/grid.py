"""The data grid: its namespace, license Secret and the kubegrid chart's values.

The values are a pure function of the spec, so `kubegrid render` hands the
chart exactly what `pulumi up` hands Helm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from . import labels, quantities
from .k8s_apply import apply_manifest
from .spec import GRID_CLIENT_LABEL, StackSpec

RELEASE_NAME = "kubegrid"
CHART_DIR = Path(__file__).resolve().parent.parent / "charts" / "kubegrid"
CHART_PATH_IN_PROJECT = "./charts/kubegrid"  # relative, so state does not depend on the checkout's location
LICENSE_SECRET = "kubegrid-license"
LICENSE_KEY = "license"
LOOKUP_PORT = 4174
REST_PORT = 8090


def fullname() -> str:
    """The chart's fullname for our release (the release name contains the chart name)."""
    return RELEASE_NAME


def lookup_locators(spec: StackSpec) -> str:
    """host:port of every lookup service, as grid clients (Spark executors) need them."""
    name, ns = fullname(), spec.grid.namespace
    return ",".join(f"{name}-management-{i}.{name}-management-headless.{ns}.svc.cluster.local:{LOOKUP_PORT}"
                    for i in range(spec.grid.managers))


def rest_url(spec: StackSpec) -> str:
    return f"http://{fullname()}-management.{spec.grid.namespace}.svc.cluster.local:{REST_PORT}"


def license_secret_name(spec: StackSpec) -> str:
    """The Secret the chart reads the license from; empty lets the chart create one."""
    if spec.grid.license_secret_name:
        return spec.grid.license_secret_name
    return LICENSE_SECRET if spec.grid.license is not None else ""


def grid_values(spec: StackSpec) -> dict[str, Any]:
    """The kubegrid chart's values for this stack."""
    g = spec.grid
    return {
        "image": {"repository": g.image_repository, "tag": g.image_tag},
        "management": {"ha": g.managers == 3, "cpu": quantities.cpu(g.manager_cpu),
                       "memory": quantities.memory(g.manager_memory_gib)},
        "partitions": {"count": g.partitions, "backups": g.backups, "zoneAware": g.zone_aware,
                       "cpu": quantities.cpu(g.partition_cpu), "memory": quantities.memory(g.partition_memory_gib)},
        "persistence": {"enabled": g.persistence, "size": f"{g.storage_gib}Gi", "storageClass": g.storage_class},
        "license": {"existingSecret": license_secret_name(spec), "existingSecretKey": LICENSE_KEY},
        "zeppelin": {"enabled": g.zeppelin},
        "gridClients": {"namespaceLabel": GRID_CLIENT_LABEL},
    }


def grid_namespace(spec: StackSpec) -> dict[str, Any]:
    """The grid's namespace, held to the restricted Pod Security profile."""
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": spec.grid.namespace, "labels": {
            **labels.standard("grid"),
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }},
    }


def license_secret(spec: StackSpec, value: Any = "[secret]") -> Optional[dict[str, Any]]:
    """The license Secret the stack creates when the license is in its config."""
    if spec.grid.license is None:
        return None
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": LICENSE_SECRET, "namespace": spec.grid.namespace, "labels": labels.standard("grid")},
        "stringData": {LICENSE_KEY: value},
    }


@dataclass(frozen=True)
class GridArgs:
    """Inputs of :class:`Grid`."""

    spec: StackSpec
    """The validated stack spec."""
    provider: pulumi.ProviderResource
    """Kubernetes provider of the target cluster."""
    namespace: pulumi.Resource
    """The grid namespace resource; the chart waits for it."""


class Grid(pulumi.ComponentResource):
    """The kubegrid chart as a Helm release, with the license Secret it reads."""

    release: k8s.helm.v3.Release
    """The Helm release of charts/kubegrid."""

    def __init__(self, name: str, args: GridArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:Grid", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.namespace])
        depends: list[pulumi.Resource] = [args.namespace]
        if spec.grid.license is not None:
            secret = pulumi.Output.secret(spec.grid.license.value or "")
            depends.append(apply_manifest(license_secret(spec, secret), child))
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=CHART_PATH_IN_PROJECT,
            namespace=spec.grid.namespace,
            values=grid_values(spec),
            atomic=True,  # a failed upgrade rolls back instead of leaving a half-updated grid
            cleanup_on_fail=True,
            timeout=900,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=depends),
        )
        self.register_outputs({"release": self.release.name})
