"""Names, labels and ports the observability objects share, defined once."""

from __future__ import annotations

from typing import Any

from ...config import MonitoringMode, StackSpec
from ..charts import AUTOSCALER_NAME
from ..grid import NAMES as GRID_NAMES
from ..grid import RELEASE_NAME as GRID_RELEASE
from ..tenancy import NAMESPACE_NAME_LABEL

KPS_RELEASE = "kube-prometheus-stack"
"""The kube-prometheus-stack release; its Prometheus selects monitors and rules labelled ``release: <this>``."""
RELEASE_LABEL = {"release": KPS_RELEASE}
DCGM_RELEASE = "dcgm-exporter"
"""NVIDIA's DCGM exporter release (and, by the chart's name helper, its ``app.kubernetes.io/name``)."""
AUTOSCALER_INSTANCE = AUTOSCALER_NAME
"""``app.kubernetes.io/instance`` of the Cluster Autoscaler's pods and Service: its release's name."""
AUTOSCALER_PORT_NAME = "http"
"""The cluster-autoscaler chart's Service port (8085, its /metrics)."""

GRAFANA_ADMIN_SECRET = "kubegrid-grafana-admin"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"

DASHBOARD_LABEL = {"grafana_dashboard": "1"}
"""The label Grafana's dashboard sidecar watches ConfigMaps for (kube-prometheus-stack's default)."""

PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
"""Labels the Prometheus Operator puts on every Prometheus server pod it runs: the scraper, as a NetworkPolicy peer."""

SPARK_UI_PORT = 4040
SPARK_UI_PORT_NAME = "spark-ui"
"""The driver's UI port and the name Spark gives it on the driver pod."""
SPARK_EXECUTOR_METRICS_PATH = "/metrics/executors/prometheus"

HISTORY_SERVER = "spark-history-server"
"""Name of each team's history server Deployment, Service and ServiceAccount."""
HISTORY_PORT = 18080

GRID_MANAGER_STATEFULSET = GRID_NAMES.management
GRID_PARTITION_STATEFULSET_RE = f"{GRID_RELEASE}-partition-[0-9]+"
"""The grid chart's StatefulSets: one for the managers, one per partition (``kubegrid-partition-<n>``)."""


def namespace(spec: StackSpec) -> str:
    return spec.observability.namespace


def monitor_labels(spec: StackSpec) -> dict[str, str]:
    """Labels of every ServiceMonitor, PodMonitor and PrometheusRule: Prometheus selects them by these."""
    extra = RELEASE_LABEL if spec.observability.mode is MonitoringMode.INSTALL else {}
    return {**spec.observability.monitor_labels, **extra}


def prometheus_peer(spec: StackSpec) -> dict[str, Any]:
    """A NetworkPolicy peer: the Prometheus servers in the monitoring namespace."""
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace(spec)}},
            "podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)}}
