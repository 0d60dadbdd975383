"""Which exporter emits which metric: every metric name a dashboard, alert or
recording rule of the stack uses must be in one of these lists, and each
exporter is one the stack deploys or scrapes (tests check both).

Each list carries where its names come from. Only the names the stack uses
(and a few close relatives) are listed: this is a contract, not a catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exporter:
    name: str
    source: str
    metrics: frozenset[str]


KUBE_STATE_METRICS = Exporter(
    "kube-state-metrics",
    "kube-state-metrics v2 (the kube-prometheus-stack subchart), docs/metrics/workload/{pod,statefulset}-metrics.md, "
    "docs/metrics/cluster/{node,resourcequota}-metrics.md of github.com/kubernetes/kube-state-metrics. kube_pod_labels "
    "and kube_node_labels carry only the labels of --metric-labels-allowlist (set in the release's values)",
    frozenset({
        "kube_pod_info", "kube_pod_labels", "kube_pod_status_phase", "kube_pod_completion_time",
        "kube_pod_container_resource_requests", "kube_pod_container_resource_limits",
        "kube_statefulset_replicas", "kube_statefulset_status_replicas_ready",
        "kube_node_labels", "kube_node_info", "kube_resourcequota",
    }))

KUBELET = Exporter(
    "kubelet",
    "the kubelet's /metrics and cAdvisor's /metrics/cadvisor, scraped by kube-prometheus-stack's kubelet "
    "ServiceMonitor (kubelet.enabled, default true): kubelet_volume_stats_* from pkg/kubelet/metrics/collectors/"
    "volume_stats.go of github.com/kubernetes/kubernetes; container_* from github.com/google/cadvisor docs/storage/prometheus.md",
    frozenset({
        "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
        "kubelet_volume_stats_used_bytes", "container_memory_working_set_bytes",
        "container_cpu_usage_seconds_total",
    }))

NODE_EXPORTER = Exporter(
    "node-exporter",
    "prometheus/node_exporter (the prometheus-node-exporter subchart): node_filesystem_* (filesystem collector), "
    "node_memory_* (meminfo collector)",
    frozenset({"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_memory_MemAvailable_bytes"}))

DCGM = Exporter(
    "dcgm-exporter",
    "NVIDIA/dcgm-exporter etc/default-counters.csv (the chart's default metrics ConfigMap): "
    "DCGM_FI_DEV_GPU_UTIL (%), DCGM_FI_DEV_FB_USED and DCGM_FI_DEV_FB_FREE (MiB); labels gpu, UUID, modelName, "
    "Hostname (the node name, from NODE_NAME)",
    frozenset({"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
               "DCGM_FI_DEV_POWER_USAGE"}))

CLUSTER_AUTOSCALER = Exporter(
    "cluster-autoscaler",
    "cluster-autoscaler/metrics/metrics.go of github.com/kubernetes/autoscaler (namespace cluster_autoscaler), "
    "served on :8085/metrics",
    frozenset({
        "cluster_autoscaler_scaled_up_nodes_total", "cluster_autoscaler_scaled_down_nodes_total",
        "cluster_autoscaler_failed_scale_ups_total", "cluster_autoscaler_unschedulable_pods_count",
        "cluster_autoscaler_nodes_count", "cluster_autoscaler_cluster_safe_to_autoscale",
    }))

SPARK = Exporter(
    "spark-driver",
    "Spark's driver UI, /metrics/executors/prometheus (core/src/main/scala/org/apache/spark/status/api/v1/"
    "PrometheusResource.scala of github.com/apache/spark; needs spark.ui.prometheus.enabled=true): one series per "
    "executor (and the driver, executor_id=\"driver\") with labels application_id, application_name, executor_id",
    frozenset({
        "metrics_executor_activeTasks_Count", "metrics_executor_memoryUsed_Count", "metrics_executor_maxMemory_Count",
        "metrics_executor_totalCores_Count", "metrics_executor_failedTasks_Count", "metrics_executor_completedTasks_Count",
    }))

PROMETHEUS = Exporter(
    "prometheus",
    "Prometheus itself: the synthetic `up` series of every scrape target",
    frozenset({"up"}))

ALL: tuple[Exporter, ...] = (KUBE_STATE_METRICS, KUBELET, NODE_EXPORTER, DCGM, CLUSTER_AUTOSCALER, SPARK, PROMETHEUS)


def emitted(exporters: tuple[Exporter, ...] = ALL) -> dict[str, str]:
    """Metric name -> the exporter that emits it."""
    return {metric: e.name for e in exporters for metric in e.metrics}
