"""The grid: the kubegrid chart as a Helm release, with the license Secret it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from ..cluster.grid import CHART_PATH_IN_PROJECT, RELEASE_NAME
from .apply import apply_manifest


@dataclass(frozen=True)
class GridArgs:
    """Inputs of :class:`Grid`."""

    namespace: str
    """The grid namespace (the release's)."""
    values: dict[str, Any]
    """The chart's values (components/cluster/grid.py)."""
    license_secret: Optional[dict[str, Any]]
    """The license Secret to create before the release, its value a secret Output; None when the stack holds no license."""
    provider: pulumi.ProviderResource
    """Kubernetes provider of the target cluster."""
    waits_for: tuple[pulumi.Resource, ...]
    """What the release waits for: the grid namespace, and the StorageClass its volumes use."""


class Grid(pulumi.ComponentResource):
    """The kubegrid chart as a Helm release, with the license Secret it reads."""

    release: k8s.helm.v3.Release
    """The Helm release of charts/kubegrid."""

    def __init__(self, name: str, args: GridArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:Grid", name, None, opts)
        depends: list[pulumi.Resource] = list(args.waits_for)
        if args.license_secret is not None:
            child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.waits_for))
            depends.append(apply_manifest(args.license_secret, child))
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=CHART_PATH_IN_PROJECT,
            namespace=args.namespace,
            values=args.values,
            atomic=True,  # a failed upgrade rolls back instead of leaving a half-updated grid
            cleanup_on_fail=True,
            timeout=900,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=depends),
        )
        self.register_outputs({"release": self.release.name})
