"""What Prometheus scrapes beyond kube-prometheus-stack's own monitors (the
kubelet and cAdvisor, kube-state-metrics, node-exporter): the Cluster
Autoscaler, NVIDIA's DCGM exporter and the Spark drivers of every Spark team.

The grid is watched through Kubernetes' view of it (kube-state-metrics and
cAdvisor): GigaSpaces 16.x serves no Prometheus endpoint of its own (its
metrics framework reports to InfluxDB or a custom reporter), see
docs/observability.md.
"""

from __future__ import annotations

from typing import Any

from ...config import StackSpec
from .. import labels
from ..charts import KUBE_SYSTEM
from ..spark.names import SPARK_ROLE_LABEL
from . import names
from .rules import has_autoscaler, has_gpus

API_VERSION = "monitoring.coreos.com/v1"
INTERVAL = "30s"
NODE_RELABELING = {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"}
"""Every scraped series gets the node its pod runs on, to join with kube_node_labels (pool, zone, type)."""


def _metadata(spec: StackSpec, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": names.namespace(spec),
            "labels": {**labels.standard("observability"), **names.monitor_labels(spec)}}


def autoscaler_monitor(spec: StackSpec) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "ServiceMonitor", "metadata": _metadata(spec, names.AUTOSCALER_INSTANCE),
            "spec": {"namespaceSelector": {"matchNames": [KUBE_SYSTEM]},
                     "selector": {"matchLabels": {"app.kubernetes.io/instance": names.AUTOSCALER_INSTANCE}},
                     "endpoints": [{"port": names.AUTOSCALER_PORT_NAME, "path": "/metrics", "interval": INTERVAL}]}}


def dcgm_monitor(spec: StackSpec) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "ServiceMonitor", "metadata": _metadata(spec, names.DCGM_RELEASE),
            "spec": {"namespaceSelector": {"matchNames": [KUBE_SYSTEM]},
                     "selector": {"matchLabels": {"app.kubernetes.io/name": names.DCGM_RELEASE,
                                                  "app.kubernetes.io/instance": names.DCGM_RELEASE}},
                     "endpoints": [{"port": "metrics", "path": "/metrics", "interval": INTERVAL,
                                    "relabelings": [NODE_RELABELING]}]}}


def spark_monitor(spec: StackSpec) -> dict[str, Any]:
    """Every Spark 4 driver of the Spark teams: its UI's executor metrics (one series per executor).
    Not the insightedge jobs' Spark 2.4 drivers, whose UI has no such endpoint (Spark 3.0)."""
    teams = [t.name for t in spec.teams if t.spark]
    return {"apiVersion": API_VERSION, "kind": "PodMonitor", "metadata": _metadata(spec, "spark-drivers"),
            "spec": {"namespaceSelector": {"matchNames": teams},
                     "selector": {"matchLabels": {SPARK_ROLE_LABEL: "driver"},
                                  "matchExpressions": [{"key": labels.SPARK_RUNTIME_LABEL,
                                                        "operator": "DoesNotExist"}]},
                     "podMetricsEndpoints": [{"port": names.SPARK_UI_PORT_NAME,
                                              "path": names.SPARK_EXECUTOR_METRICS_PATH, "interval": INTERVAL,
                                              "relabelings": [NODE_RELABELING]}]}}


def monitors(spec: StackSpec) -> list[dict[str, Any]]:
    found = []
    if has_autoscaler(spec):
        found.append(autoscaler_monitor(spec))
    if has_gpus(spec):
        found.append(dcgm_monitor(spec))
    if any(t.spark for t in spec.teams):
        found.append(spark_monitor(spec))
    return found
