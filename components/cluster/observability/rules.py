"""The stack's Prometheus rules as a PrometheusRule: recording rules that name
what the dashboards join on (node -> pool, zone, instance type; pool sizes and
prices from the spec), and the alerts, each with runbook text.

``rule_groups`` is plain data in Prometheus' rule-file format; the tests hand
it to ``promtool check rules`` and ``promtool test rules``.
"""

from __future__ import annotations

from typing import Any

from ...config import StackSpec
from .. import labels
from . import names, prices
from .promql import one_of, quote, sel, stack_namespaces, team_namespaces

RULE_NAME = "kubegrid"
CLEANUP_GRACE_HOURS = 2
"""A completed driver may outlive the team's driverRetentionHours by this much (the cleanup job runs hourly)."""
VOLUME_FREE_RATIO = 0.10
QUOTA_RATIO = 0.90


def gpu_pools(spec: StackSpec):
    return [p for p in spec.node_pools if p.gpu]


def has_gpus(spec: StackSpec) -> bool:
    """The DCGM exporter runs, so GPU metrics exist: mode eks with GPU pools."""
    return spec.is_eks and bool(gpu_pools(spec))


def has_autoscaler(spec: StackSpec) -> bool:
    return spec.is_eks


def _node_label(record: str, target: str, source: str) -> dict[str, Any]:
    return {"record": record, "expr": (
        f'max by (node, {target}) (label_replace({sel("kube_node_labels", **{source: "!"})}, '
        f'{quote(target)}, "$1", {quote(source)}, "(.+)"))')}


def recording_rules(spec: StackSpec) -> list[dict[str, Any]]:
    rules = [
        _node_label("kubegrid:node:pool", "pool", "label_kubegrid_io_pool"),
        _node_label("kubegrid:node:zone", "zone", "label_topology_kubernetes_io_zone"),
        _node_label("kubegrid:node:instance_type", "instance_type", "label_node_kubernetes_io_instance_type"),
    ]
    for pool in spec.node_pools:
        rules.append({"record": "kubegrid:node_pool:max_nodes", "expr": f"vector({pool.max_size})",
                      "labels": {"pool": pool.name}})
    priced = sorted({t for p in gpu_pools(spec) for t in p.instance_types if prices.hourly_price(t) is not None})
    for instance_type in priced:
        rules.append({"record": "kubegrid:instance_type:hourly_price_usd",
                      "expr": f"vector({prices.hourly_price(instance_type)})",
                      "labels": {"instance_type": instance_type, "price_region": prices.PRICE_REGION}})
    if has_gpus(spec):
        rules += [
            {"record": "kubegrid:gpu_node:utilisation", "expr": "max by (node) (DCGM_FI_DEV_GPU_UTIL)"},
            {"record": "kubegrid:gpu_node_idle:hourly_price_usd", "expr": (
                "(kubegrid:node:instance_type * on(node) (0 * (kubegrid:gpu_node:utilisation < 1) + 1))"
                " * on(instance_type) group_left() kubegrid:instance_type:hourly_price_usd")},
        ]
    return rules


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str,
           runbook: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": for_, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description, "runbook": runbook}}


def alert_rules(spec: StackSpec) -> list[dict[str, Any]]:
    g, o = spec.grid, spec.observability
    grid_ns = g.namespace
    partitions = sel("kube_statefulset_status_replicas_ready", namespace=grid_ns,
                     statefulset="~" + names.GRID_PARTITION_STATEFULSET_RE)
    alerts = []
    if g.backups == 1:
        alerts.append(_alert(
            "KubegridPartitionWithoutBackup", f"{partitions} < 2", "5m", "warning",
            "Grid partition {{ $labels.statefulset }} runs without a backup",
            "{{ $labels.statefulset }} has {{ $value }} ready copy (primary and backup expected); "
            "losing the remaining pod loses the partition's data in memory.",
            "1. kubectl -n " + grid_ns + " get pods -l kubegrid.io/partition -o wide: find the copy that is not Ready. "
            "2. kubectl describe pod / logs: a pending pod is a capacity or zone problem (see the autoscaler "
            "dashboard); a crashing one, its logs. 3. The restarted pod rejoins as backup and recovers the data "
            "from the primary; do not delete the remaining primary meanwhile, and hold node drains and upgrades "
            "until the alert clears."))
    quorum = g.managers // 2 + 1
    alerts.append(_alert(
        "KubegridManagerQuorumLost",
        f'{sel("kube_statefulset_status_replicas_ready", namespace=grid_ns, statefulset=names.GRID_MANAGER_STATEFULSET)} < {quorum}',
        "2m", "critical",
        "Grid managers below quorum",
        f"{{{{ $value }}}} of {g.managers} managers are ready; at least {quorum} are needed for the managers' "
        "ZooKeeper quorum. No partition can be deployed, relocated or failed over.",
        f"1. kubectl -n {grid_ns} get pods -l app.kubernetes.io/component=management -o wide. 2. Bring back the "
        "missing managers first (describe/logs; a pending one may need its node or zone back). 3. Do not restart "
        "the managers that are still up. 4. When quorum returns, check the grid dashboard for partitions without "
        "a backup."))
    if has_gpus(spec):
        alerts.append(_alert(
            "KubegridGpuNodeIdle", "max by (node) (DCGM_FI_DEV_GPU_UTIL) < 1", f"{o.gpu_idle_minutes}m", "warning",
            "GPU node {{ $labels.node }} idle",
            f"Every GPU of {{{{ $labels.node }}}} has been idle for {o.gpu_idle_minutes} minutes or more; it is "
            "still billed (the GPU dashboard shows its hourly price).",
            "1. GPU dashboard: which pool, and is a team's job holding the node without using the GPU? "
            "2. kubectl get pods -A --field-selector spec.nodeName=<node>: a finished or stuck GPU executor is "
            "the team's to stop. 3. Nothing left on it: the autoscaler removes an unneeded node after 10 minutes; "
            "if it stays, its pods block scale-down (check the autoscaler's logs for the node)."))
    teams = team_namespaces(spec)
    if teams:
        used = sel("kube_resourcequota", namespace="~" + one_of(teams), resourcequota="team-quota", type="used")
        hard = sel("kube_resourcequota", namespace="~" + one_of(teams), resourcequota="team-quota", type="hard")
        alerts.append(_alert(
            "KubegridTeamQuotaNearlyUsed", f"({used} / ignoring(type) ({hard} > 0)) > {QUOTA_RATIO}", "15m", "warning",
            "Team {{ $labels.namespace }} above 90% of its {{ $labels.resource }} quota",
            "{{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its {{ $labels.resource }} quota; "
            "new pods (Spark executors first) will be refused.",
            "1. Spark dashboard, the team's row: which applications hold the quota. 2. Ask the team to stop idle "
            "applications or lower spark.executor.instances / dynamic allocation's maxExecutors. 3. If the demand is "
            "real, raise kubegrid:teams[].quota in the stack and run pulumi up."))
    spark_teams = [t for t in spec.teams if t.spark]
    if spark_teams:
        parts = []
        for team in spark_teams:
            age = (team.driver_retention_hours + CLEANUP_GRACE_HOURS) * 3600
            parts.append(f'count by (namespace) (((time() - {sel("kube_pod_completion_time", namespace=team.name)}) > {age})'
                         f' * on(namespace, pod) group_left() {sel("kube_pod_labels", namespace=team.name, label_spark_role="driver")})')
        alerts.append(_alert(
            "KubegridCompletedDriversPilingUp", " or ".join(parts), "30m", "warning",
            "Completed Spark drivers pile up in {{ $labels.namespace }}",
            "{{ $value }} completed driver pods in {{ $labels.namespace }} are older than the team's "
            f"driverRetentionHours plus {CLEANUP_GRACE_HOURS} hours: the driver cleanup job is not removing them.",
            "1. kubectl -n <team> get cronjob spark-driver-cleanup and its last jobs (kubectl get jobs): failed or "
            "never scheduled? 2. Its logs (kubectl logs job/<last>): RBAC or the API server unreachable (the "
            "allow-apiserver-driver-cleanup NetworkPolicy). 3. Meanwhile remove them by hand: kubectl -n <team> "
            "delete pods -l spark-role=driver --field-selector status.phase=Succeeded."))
    namespaces = one_of(stack_namespaces(spec))
    avail = sel("kubelet_volume_stats_available_bytes", namespace="~" + namespaces)
    capacity = sel("kubelet_volume_stats_capacity_bytes", namespace="~" + namespaces)
    alerts.append(_alert(
        "KubegridVolumeNearlyFull", f"({avail} / {capacity}) < {VOLUME_FREE_RATIO}", "10m", "warning",
        "Volume {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }} nearly full",
        "{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} of its space left.",
        "1. Which claim: a grid data volume (work-kubegrid-partition-*), a team's spark-events volume or "
        "Prometheus' own. 2. Grid: raise kubegrid:grid.storageGiB (gp3 volumes expand online) or add partitions; "
        "Prometheus: raise kubegrid:observability.storageGiB or lower retentionDays; spark-events: remove old "
        "event logs. 3. Expanding needs a StorageClass with allowVolumeExpansion (gp3 has it)."))
    pending = sel("kube_pod_status_phase", namespace="~" + namespaces, phase="Pending")
    alerts.append(_alert(
        "KubegridPodPendingTooLong", f"max by (namespace, pod) ({pending}) == 1", f"{o.pending_pod_minutes}m",
        "warning",
        "Pod {{ $labels.namespace }}/{{ $labels.pod }} pending",
        f"{{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} has been Pending for {o.pending_pod_minutes} minutes.",
        "1. kubectl -n <namespace> describe pod <pod>: the scheduler's events say why. 2. Insufficient "
        "cpu/memory/nvidia.com/gpu: autoscaler dashboard; a pool at its maxSize needs a larger nodePools[].maxSize. "
        "3. Exceeded quota is reported on the owner (Job, StatefulSet), not the pod: see the team's quota. "
        "4. An unbound volume: the claim's events (zone of the volume vs the nodes)."))
    return alerts


def rule_groups(spec: StackSpec) -> list[dict[str, Any]]:
    return [{"name": "kubegrid.records", "rules": recording_rules(spec)},
            {"name": "kubegrid.alerts", "rules": alert_rules(spec)}]


def prometheus_rule(spec: StackSpec) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": RULE_NAME, "namespace": names.namespace(spec),
                         "labels": {**labels.standard("observability"), **names.monitor_labels(spec)}},
            "spec": {"groups": rule_groups(spec)}}
