"""Observability on the cluster: the monitoring charts, then the Prometheus Operator's
custom resources (monitors, rules), which need the operator's CRDs the chart installs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi

from .apply import ClusterObjects, apply_manifest
from .helm import helm_release


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    releases: Sequence[dict[str, Any]]
    """The charts to install (components/cluster/observability: kube-prometheus-stack, DCGM exporter)."""
    resources: Sequence[dict[str, Any]]
    """ServiceMonitors, PodMonitors and PrometheusRules, applied once the charts are in."""
    provider: pulumi.ProviderResource
    """Kubernetes provider of the cluster."""
    grafana_secret: Optional[dict[str, Any]] = None
    """The Secret with Grafana's admin password (its value a secret Output), created before the charts."""
    waits_for: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the charts wait for: the monitoring namespace, and in mode eks the node pools and the StorageClass."""


class Monitoring(pulumi.ComponentResource):
    """The monitoring charts and the custom resources that configure them."""

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:Monitoring", name, None, opts)
        depends = list(args.waits_for)
        if args.grafana_secret is not None:
            depends.append(apply_manifest(args.grafana_secret, pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=list(args.waits_for))))
        releases = [helm_release(f"{name}-{r['name']}", r, args.provider, self, depends) for r in args.releases]
        if args.resources:
            ClusterObjects(f"{name}-resources", args.resources,
                           pulumi.ResourceOptions(parent=self, providers=[args.provider]), waits_for=releases or depends)
        self.register_outputs({})
