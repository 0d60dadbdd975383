"""The remote charts of the observability stack, pinned, with their values,
and the DaemonSets they put on the node pools (read back from those values
for executor sizing).

- kube-prometheus-stack 88.5.3 (https://prometheus-community.github.io/helm-charts; charts/kube-prometheus-stack
  Chart.yaml and values.yaml of github.com/prometheus-community/helm-charts at
  cf408a290aec489277a94450bb3511432477a53a): Prometheus Operator v0.93.1, Prometheus, Alertmanager, Grafana
  (grafana-community chart 12.11.1), kube-state-metrics (8.4.0), prometheus-node-exporter (4.56.1).
- dcgm-exporter 4.8.2 (https://nvidia.github.io/dcgm-exporter/helm-charts; deployment/Chart.yaml and values.yaml
  of github.com/NVIDIA/dcgm-exporter at d5e5f510a1b6b393f39a43293ccd9dc985defc79), image 4.5.3-4.8.2-distroless.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from ...config import MonitoringMode, NodePoolSpec, StackSpec
from ..charts import KUBE_SYSTEM, release_spec, system_pool
from ..storage import STORAGE_CLASS
from ..scheduling import CRITICAL_ADDONS_ONLY, POOL_LABEL, node_taints, pool_affinity, pool_tolerations
from . import names
from .rules import gpu_pools, has_gpus

KPS_REPO = "https://prometheus-community.github.io/helm-charts"
KPS_CHART = "kube-prometheus-stack"
KPS_CHART_VERSION = "88.5.3"
DCGM_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"
DCGM_CHART = "dcgm-exporter"
DCGM_CHART_VERSION = "4.8.2"

NODE_LABELS_ALLOWLIST = ("kubegrid.io/pool", "kubegrid.io/gpu", "topology.kubernetes.io/zone",
                         "node.kubernetes.io/instance-type")
POD_LABELS_ALLOWLIST = ("spark-role", "spark-app-selector")
"""kube-state-metrics exports only the labels listed (kube_node_labels, kube_pod_labels); the dashboards join on these."""


def _resources(cpu: str, memory: str, memory_limit: Optional[str] = None) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit or memory}}


NODE_EXPORTER_RESOURCES = _resources("25m", "64Mi", "128Mi")
DCGM_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "512Mi"}}


def _placement(spec: StackSpec) -> dict[str, Any]:
    """Where the stack's own monitoring pods run: the pool that never scales to zero (mode eks)."""
    if not spec.is_eks:
        return {}
    home = system_pool(spec)
    return {"nodeSelector": {POOL_LABEL: home.name}, "tolerations": [t.toleration() for t in node_taints(home)]}


def _selector() -> dict[str, Any]:
    return {"matchLabels": dict(names.RELEASE_LABEL)}


def kube_prometheus_stack_release(spec: StackSpec) -> dict[str, Any]:
    o = spec.observability
    storage: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{o.storage_gib}Gi"}}}
    if spec.is_eks:
        storage["storageClassName"] = STORAGE_CLASS
    grafana: dict[str, Any] = {
        "enabled": True,
        "defaultDashboardsEnabled": True,
        "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1",
                                   "searchNamespace": names.namespace(spec)},
                    "resources": _resources("25m", "96Mi", "192Mi")},
        "resources": _resources("100m", "256Mi", "512Mi"),
        "persistence": {"enabled": False},
        **_placement(spec),
    }
    if o.grafana_admin_password is not None:
        grafana["admin"] = {"existingSecret": names.GRAFANA_ADMIN_SECRET, "userKey": names.GRAFANA_USER_KEY,
                            "passwordKey": names.GRAFANA_PASSWORD_KEY}
    every_pool = pool_tolerations(spec.node_pools, CRITICAL_ADDONS_ONLY) if spec.is_eks else [
        {"operator": "Exists", "effect": "NoSchedule"}]
    values: dict[str, Any] = {
        "crds": {"enabled": True},
        "prometheusOperator": {"resources": _resources("100m", "128Mi", "256Mi"), **_placement(spec)},
        "prometheus": {"prometheusSpec": {
            "retention": f"{o.retention_days}d",
            "retentionSize": f"{int(o.storage_gib * 0.9)}GB",
            "storageSpec": {"volumeClaimTemplate": {"spec": storage}},
            "resources": _resources("500m", "2Gi", "4Gi"),
            # Select the stack's monitors and rules (and the chart's own) by the release label, in every namespace.
            "serviceMonitorSelectorNilUsesHelmValues": False, "serviceMonitorSelector": _selector(),
            "podMonitorSelectorNilUsesHelmValues": False, "podMonitorSelector": _selector(),
            "ruleSelectorNilUsesHelmValues": False, "ruleSelector": _selector(),
            "serviceMonitorNamespaceSelector": {}, "podMonitorNamespaceSelector": {}, "ruleNamespaceSelector": {},
            **_placement(spec),
        }},
        "alertmanager": {"alertmanagerSpec": {"resources": _resources("50m", "64Mi", "128Mi"), **_placement(spec)}},
        "grafana": grafana,
        "kube-state-metrics": {
            "metricLabelsAllowlist": [f"nodes=[{','.join(NODE_LABELS_ALLOWLIST)}]",
                                      f"pods=[{','.join(POD_LABELS_ALLOWLIST)}]"],
            "resources": _resources("50m", "128Mi", "256Mi"),
            **_placement(spec),
        },
        # Host network, PID and file system: it runs with the other node agents in kube-system, so the
        # monitoring namespace can enforce the restricted Pod Security level.
        "prometheus-node-exporter": {"namespaceOverride": KUBE_SYSTEM, "resources": copy.deepcopy(NODE_EXPORTER_RESOURCES), "tolerations": copy.deepcopy(every_pool)},
        # EKS runs the control plane: there is no etcd, scheduler or controller manager to scrape.
        "kubeEtcd": {"enabled": False}, "kubeScheduler": {"enabled": False},
        "kubeControllerManager": {"enabled": False}, "kubeProxy": {"enabled": not spec.is_eks},
    }
    return release_spec(names.KPS_RELEASE, names.namespace(spec), KPS_REPO, KPS_CHART, KPS_CHART_VERSION, values)


def dcgm_release(spec: StackSpec) -> Optional[dict[str, Any]]:
    """NVIDIA's DCGM exporter on the GPU pools only, in kube-system (it runs as root with SYS_ADMIN, like
    the device plugin beside it); None without GPU pools."""
    if not has_gpus(spec):
        return None
    pools = gpu_pools(spec)
    values: dict[str, Any] = {
        "fullnameOverride": names.DCGM_RELEASE,
        "affinity": pool_affinity(pools),
        "tolerations": copy.deepcopy(pool_tolerations(pools, CRITICAL_ADDONS_ONLY)),
        "resources": copy.deepcopy(DCGM_RESOURCES),
        # The stack's own ServiceMonitor (monitors.py) scrapes it, labelled for Prometheus and with the node.
        "serviceMonitor": {"enabled": False},
    }
    return release_spec(names.DCGM_RELEASE, KUBE_SYSTEM, DCGM_REPO, DCGM_CHART, DCGM_CHART_VERSION, values)


def observability_releases(spec: StackSpec) -> list[dict[str, Any]]:
    """In install order: kube-prometheus-stack (mode install; it brings the CRDs), then the DCGM exporter."""
    o = spec.observability
    if not o.enabled:
        return []
    found = [kube_prometheus_stack_release(spec)] if o.mode is MonitoringMode.INSTALL else []
    dcgm = dcgm_release(spec)
    return found + ([dcgm] if dcgm is not None else [])


def affinity_pools(spec: StackSpec, affinity: dict[str, Any]) -> tuple[str, ...]:
    """The pools a pool_affinity() value admits, read back from a release's values."""
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    found = [v for term in terms for e in term["matchExpressions"] if e["key"] == POOL_LABEL for v in e["values"]]
    return tuple(p.name for p in spec.node_pools if p.name in found)


def tolerated_pools(spec: StackSpec, tolerations: list[dict[str, Any]]) -> tuple[str, ...]:
    """The pools whose every taint ``tolerations`` tolerate."""
    def tolerates(pool: NodePoolSpec) -> bool:
        return all(t.toleration() in tolerations or {"operator": "Exists", "effect": t.effect.value} in tolerations
                   for t in node_taints(pool))
    return tuple(p.name for p in spec.node_pools if tolerates(p))
