"""Observability: metrics, dashboards, alerts and Spark history servers
(`kubegrid:observability`), as plain data.

- :func:`observability_releases`: the remote charts (kube-prometheus-stack in
  mode install, NVIDIA's DCGM exporter on GPU pools), pinned, with their values.
- :func:`observability_objects`: the plain Kubernetes objects the stack applies
  (the monitoring namespace, dashboard ConfigMaps, the teams' scrape
  NetworkPolicies and history servers); appended to ``stack_objects``.
- :func:`monitoring_resources`: the Prometheus Operator custom resources
  (ServiceMonitors, PodMonitor, PrometheusRule); they need the operator's CRDs,
  so they are applied after the kube-prometheus-stack release.
- :func:`observability_daemonsets`: what the releases' DaemonSets request on
  which pools, read from the values, for executor sizing.
- :func:`grafana_admin_secret`: the Secret holding Grafana's admin password
  when the stack's config has one.
"""

from __future__ import annotations

from typing import Any

from ...config import MonitoringMode, StackSpec
from .. import labels, pod_security
from ..daemonsets import DaemonSetRequest
from ..quantities import parse_cpu_millis, parse_memory_mi
from . import names
from .dashboards import dashboard_config_maps, dashboards
from .history import history_objects, history_teams
from .monitors import monitors
from .network import scrape_policy
from .releases import (affinity_pools, dcgm_release, kube_prometheus_stack_release,
                       observability_releases, tolerated_pools)
from .rules import prometheus_rule, rule_groups

__all__ = ["observability_releases", "observability_objects", "monitoring_resources", "observability_daemonsets",
           "grafana_admin_secret", "dashboards", "rule_groups"]


def monitoring_namespace(spec: StackSpec) -> dict[str, Any]:
    """Mode install: the namespace of Prometheus, Alertmanager, Grafana, the operator and kube-state-metrics,
    held to the restricted Pod Security level like every namespace the stack creates (the chart's pods set
    restricted security contexts). The node agents that cannot pass it (node-exporter: host network, PID
    namespace and file system; the DCGM exporter: root with SYS_ADMIN) run in kube-system, beside the
    other node agents."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": names.namespace(spec),
                         "labels": {**labels.standard("observability"), **pod_security.namespace_labels()}}}


def observability_objects(spec: StackSpec) -> list[dict[str, Any]]:
    """The plain objects of observability; none when it is off."""
    o = spec.observability
    if not o.enabled:
        return []
    objects = [monitoring_namespace(spec)] if o.mode is MonitoringMode.INSTALL else []
    objects += dashboard_config_maps(spec)
    history = {t.name for t in history_teams(spec)}
    for team in spec.teams:
        if not team.spark:
            continue
        objects.append(scrape_policy(spec, team))
        if team.name in history:
            objects += history_objects(spec, team)
    return objects


def monitoring_resources(spec: StackSpec) -> list[dict[str, Any]]:
    """ServiceMonitors, the Spark PodMonitor and the PrometheusRule; none when observability is off."""
    if not spec.observability.enabled:
        return []
    return [*monitors(spec), prometheus_rule(spec)]


def grafana_admin_secret(spec: StackSpec, value: Any = "[secret]") -> dict[str, Any] | None:
    """Mode install with `grafanaAdminPassword`: the Secret Grafana reads its admin credentials from
    (``grafana.admin.existingSecret``). ``value`` is the password (a secret Output in the program)."""
    o = spec.observability
    if not (o.enabled and o.mode is MonitoringMode.INSTALL and o.grafana_admin_password is not None):
        return None
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": names.GRAFANA_ADMIN_SECRET, "namespace": names.namespace(spec),
                         "labels": labels.standard("observability")},
            "stringData": {names.GRAFANA_USER_KEY: "admin", names.GRAFANA_PASSWORD_KEY: value}}



def observability_daemonsets(spec: StackSpec) -> list[DaemonSetRequest]:
    """The DaemonSets the observability releases run, each with its pod's requests and the pools it
    runs on, read from the values handed to Helm (mode eks; none otherwise)."""
    if not (spec.is_eks and spec.observability.enabled):
        return []
    found: list[DaemonSetRequest] = []
    if spec.observability.mode is MonitoringMode.INSTALL:
        values = kube_prometheus_stack_release(spec)["values"]["prometheus-node-exporter"]
        requests = values["resources"]["requests"]
        pools = tolerated_pools(spec, values["tolerations"])
        found.append(DaemonSetRequest(
            "prometheus-node-exporter", parse_cpu_millis(requests["cpu"]), parse_memory_mi(requests["memory"]),
            "kube-prometheus-stack values prometheus-node-exporter.resources (components/cluster/observability)",
            None if len(pools) == len(spec.node_pools) else pools))
    dcgm = dcgm_release(spec)
    if dcgm is not None:
        values = dcgm["values"]
        requests = values["resources"]["requests"]
        pools = tuple(p for p in affinity_pools(spec, values["affinity"])
                      if p in tolerated_pools(spec, values["tolerations"]))
        found.append(DaemonSetRequest(
            "dcgm-exporter", parse_cpu_millis(requests["cpu"]), parse_memory_mi(requests["memory"]),
            "dcgm-exporter values resources (components/cluster/observability)", pools))
    return found
