"""Grafana dashboards as code: small helpers build the JSON model, one function
per dashboard, and each becomes a ConfigMap labelled for Grafana's dashboard
sidecar. Panels use no template variables in their queries, so each
expression is a complete PromQL query (the tests check every one with promtool).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ...config import StackSpec
from .. import labels
from . import names, prices
from .promql import sel, with_pod_label
from .rules import gpu_pools, has_autoscaler, has_gpus

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH = 24


@dataclass
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass
class Panel:
    title: str
    description: str
    queries: list[Query]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    thresholds: Optional[list[tuple[Optional[float], str]]] = None


@dataclass
class Row:
    title: str
    panels: list[Panel] = field(default_factory=list)


def q(expr: str, legend: str = "", instant: bool = False) -> Query:
    return Query(expr, legend, instant)


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    steps = [{"color": color, "value": value} for value, color in (panel.thresholds or [(None, "green")])]
    targets = []
    for i, query in enumerate(panel.queries):
        target = {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": query.expr,
                  "legendFormat": query.legend or "__auto", "range": not query.instant, "instant": query.instant}
        if panel.kind == "table":
            target["format"] = "table"
        targets.append(target)
    return {
        "id": panel_id, "type": panel.kind, "title": panel.title, "description": panel.description,
        "datasource": DATASOURCE, "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {"defaults": {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": {}, "targets": targets,
    }


def dashboard(uid: str, title: str, description: str, rows: list[Row]) -> dict[str, Any]:
    """A dashboard: rows laid out top to bottom, their panels left to right, wrapping at 24 columns."""
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for row in rows:
        panels.append({"id": next_id, "type": "row", "title": row.title, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": WIDTH, "h": 1}, "panels": []})
        next_id += 1
        y += 1
        x, line = 0, 0
        for panel in row.panels:
            if x + panel.width > WIDTH:
                x, y = 0, y + line
                line = 0
            panels.append(_panel_json(panel, next_id, x, y))
            next_id += 1
            x += panel.width
            line = max(line, panel.height)
        y += line
    return {
        "uid": uid, "title": title, "description": description, "tags": ["kubegrid"], "editable": False,
        "schemaVersion": 39, "version": 1, "timezone": "utc", "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "label": "Prometheus", "type": "datasource",
                                 "query": "prometheus", "current": {}, "hide": 0}]},
        "annotations": {"list": []}, "links": [], "panels": panels,
    }


def expressions(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expression) of every query of a dashboard."""
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])]


# ---- the grid ----------------------------------------------------------------------------------

def grid_dashboard(spec: StackSpec) -> dict[str, Any]:
    ns = spec.grid.namespace
    part_re = "~" + names.GRID_PARTITION_STATEFULSET_RE
    ready = sel("kube_statefulset_status_replicas_ready", namespace=ns, statefulset=part_re)
    pods = sel("kube_pod_info", namespace=ns, created_by_kind="StatefulSet", created_by_name=part_re)
    in_zone = f"{pods} * on(node) group_left(zone) kubegrid:node:zone"
    managers = {"namespace": ns, "statefulset": names.GRID_MANAGER_STATEFULSET}
    top = Row("Health", [
        Panel("Managers ready", f"Ready management pods (lookup service, REST manager, ZooKeeper) out of "
              f"{spec.grid.managers}. Below {spec.grid.managers // 2 + 1} the managers have lost quorum.",
              [q(sel("kube_statefulset_status_replicas_ready", **managers), "ready", True)], "stat", width=6, height=5,
              thresholds=[(None, "red"), (spec.grid.managers // 2 + 1, "green")]),
        Panel("Partitions with a backup", "Partitions whose two copies (primary and backup) are both ready.",
              [q(f"count({ready} >= 2) or vector(0)", "with backup", True)], "stat", width=6, height=5),
        Panel("Partitions without a backup", "Partitions with fewer than two ready copies: one more pod loss "
              "loses the partition. With backups: 0 every partition is here by design.",
              [q(f"count({ready} < 2) or vector(0)", "without backup", True)], "stat", width=6, height=5,
              thresholds=[(None, "green"), (1, "red")]),
        Panel("Partitions with both copies in one zone", "Partitions whose ready copies share a zone: a zone "
              "outage takes both. Zone-aware grids should show 0.",
              [q(f"count(count by (created_by_name, zone) ({in_zone}) > 1) or vector(0)", "same zone", True)],
              "stat", width=6, height=5, thresholds=[(None, "green"), (1, "orange")]),
    ])
    layout = Row("Copies and zones", [
        Panel("Ready copies per partition", "Ready pods of each partition's StatefulSet (2 = primary and backup).",
              [q(ready, "{{statefulset}}")]),
        Panel("Data pods per zone", "Ready and unready data pods in each zone. GigaSpaces 16.x exports no "
              "primary/backup role to Prometheus, so this counts copies; after a zone loss the survivors there "
              "are the primaries.",
              [q(f"count by (zone) ({in_zone})", "{{zone}}")]),
    ])
    memory = Row("Memory", [
        Panel("Memory working set per grid pod", "What each grid pod's containers use (cAdvisor), against its "
              "memory limit; the JVM heap is sized inside that limit.",
              [q(f'sum by (pod) ({sel("container_memory_working_set_bytes", namespace=ns, container="!")})', "{{pod}}"),
               q(f'sum by (pod) ({sel("kube_pod_container_resource_limits", namespace=ns, resource="memory")})',
                 "{{pod}} limit")], unit="bytes"),
        Panel("Data volumes used", "Used share of each grid data volume (persistence: true).",
              [q(f'{sel("kubelet_volume_stats_used_bytes", namespace=ns)} / '
                 f'{sel("kubelet_volume_stats_capacity_bytes", namespace=ns)}', "{{persistentvolumeclaim}}")],
              unit="percentunit"),
    ])
    return dashboard("kubegrid-grid", "KubeGrid / Grid", "Managers, partitions and their backups, zones, memory.",
                     [top, layout, memory])


# ---- Spark per team ----------------------------------------------------------------------------

def spark_dashboard(spec: StackSpec) -> dict[str, Any]:
    rows = []
    for team in (t for t in spec.teams if t.spark):
        ns = team.name
        running = sel("kube_pod_status_phase", namespace=ns, phase="Running")
        done = sel("kube_pod_status_phase", namespace=ns, phase="~Succeeded|Failed")
        quota = {"namespace": ns, "resourcequota": "team-quota"}
        rows.append(Row(f"Team {ns}", [
            Panel("Running applications", "Spark drivers running in the namespace (one per application).",
                  [q(f"count({with_pod_label(running, ns, 'driver')}) or vector(0)", "applications", True)],
                  "stat", width=6, height=5),
            Panel("Running executors", "Spark executor pods running in the namespace.",
                  [q(f"count({with_pod_label(running, ns, 'executor')}) or vector(0)", "executors", True)],
                  "stat", width=6, height=5),
            Panel("Completed driver pods", f"Drivers that finished and are kept for their logs; the cleanup job "
                  f"removes them after {team.driver_retention_hours} hours.",
                  [q(f"count({with_pod_label(done, ns, 'driver')}) or vector(0)", "completed", True)],
                  "stat", width=6, height=5),
            Panel("Quota used", "Each resource of the team's ResourceQuota: used against hard (above 90% alerts).",
                  [q(f'{sel("kube_resourcequota", **quota, type="used")} / ignoring(type) '
                     f'({sel("kube_resourcequota", **quota, type="hard")} > 0)', "{{resource}}", True)],
                  "bargauge", unit="percentunit", width=6, height=5,
                  thresholds=[(None, "green"), (0.75, "orange"), (0.9, "red")]),
            Panel("Active tasks per application", "Tasks running on the executors of each application (driver UI).",
                  [q(f'sum by (application_name) ({sel("metrics_executor_activeTasks_Count", namespace=ns, executor_id="!driver")})',
                     "{{application_name}}")]),
            Panel("Executors per application and their storage memory",
                  "Executors each application has (driver UI) and the storage memory they use.",
                  [q(f'count by (application_name) ({sel("metrics_executor_totalCores_Count", namespace=ns, executor_id="!driver")})',
                     "{{application_name}} executors"),
                   q(f'sum by (application_name) ({sel("metrics_executor_memoryUsed_Count", namespace=ns)})',
                     "{{application_name}} storage memory")]),
        ]))
    return dashboard("kubegrid-spark", "KubeGrid / Spark by team",
                     "Applications, executors and quota of each Spark team.", rows)


# ---- GPUs per pool -----------------------------------------------------------------------------

def gpu_dashboard(spec: StackSpec) -> dict[str, Any]:
    rows = []
    for pool in gpu_pools(spec):
        in_pool = sel("kubegrid:node:pool", pool=pool.name)
        types = ", ".join(pool.instance_types)
        rows.append(Row(f"Pool {pool.name} ({types})", [
            Panel("GPU utilisation per node", "Busiest GPU of each node of the pool, percent (DCGM).",
                  [q(f"max by (node) (DCGM_FI_DEV_GPU_UTIL * on(node) group_left() {in_pool})", "{{node}}")],
                  unit="percent"),
            Panel("GPU memory used per node", "Frame buffer used against total (used + free), all GPUs of a node.",
                  [q(f"sum by (node) (DCGM_FI_DEV_FB_USED * on(node) group_left() {in_pool})", "{{node}} used"),
                   q(f"sum by (node) ((DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * on(node) group_left() {in_pool})",
                     "{{node}} total")], unit="decmbytes"),
            Panel("Idle GPU nodes", "Nodes of the pool whose GPUs are all at 0% right now.",
                  [q(f"count((kubegrid:gpu_node:utilisation < 1) * on(node) group_left() {in_pool}) or vector(0)",
                     "idle", True)], "stat", width=6, height=6, thresholds=[(None, "green"), (1, "orange")]),
            Panel("Idle GPU nodes and their hourly cost",
                  f"Each idle node with its on-demand price per hour ({prices.PRICE_REGION} list price recorded "
                  f"{prices.PRICE_DATE}; components/cluster/observability/prices.py). Types without a recorded "
                  "price are not listed here, only counted.",
                  [q(f"kubegrid:gpu_node_idle:hourly_price_usd * on(node) group_left() {in_pool}", "{{node}}", True)],
                  "table", unit="currencyUSD", width=12, height=6),
            Panel("Nodes in pool", f"Nodes of the pool against its maxSize ({pool.max_size}).",
                  [q(f"count({in_pool}) or vector(0)", "nodes", True),
                   q(sel("kubegrid:node_pool:max_nodes", pool=pool.name), "max", True)],
                  "stat", width=6, height=6),
        ]))
    return dashboard("kubegrid-gpus", "KubeGrid / GPUs by pool",
                     "GPU utilisation and memory, idle GPU nodes and what they cost.", rows)


# ---- the autoscaler ----------------------------------------------------------------------------

def autoscaler_dashboard(spec: StackSpec) -> dict[str, Any]:
    pending = sel("kube_pod_status_phase", phase="Pending")
    rows = [
        Row("Scaling", [
            Panel("Nodes added per hour", "Nodes the Cluster Autoscaler added (all node groups).",
                  [q("sum(increase(cluster_autoscaler_scaled_up_nodes_total[1h]))", "added")]),
            Panel("Failed scale-ups per hour", "Scale-ups that failed, by reason (cloud provider errors include "
                  "insufficient EC2 capacity).",
                  [q("sum by (reason) (increase(cluster_autoscaler_failed_scale_ups_total[1h]))", "{{reason}}")]),
        ]),
        Row("Pending pods", [
            Panel("Unschedulable pods (autoscaler)", "Pods the autoscaler found unschedulable in its last loop.",
                  [q("max(cluster_autoscaler_unschedulable_pods_count)", "unschedulable")]),
            Panel("Pending pods by namespace", "Pods in phase Pending (scheduling, image pulls, volumes).",
                  [q(f"sum by (namespace) ({pending})", "{{namespace}}")]),
        ]),
        Row("Node groups", [
            Panel("Node pools at their maximum", "Pools whose node count reached nodePools[].maxSize: the "
                  "autoscaler cannot add more there.",
                  [q("count(count by (pool) (kubegrid:node:pool) >= on(pool) kubegrid:node_pool:max_nodes) or vector(0)",
                     "at max", True)], "stat", width=6, height=6, thresholds=[(None, "green"), (1, "orange")]),
            Panel("Nodes per pool and maximum", "Nodes of each pool against its maxSize.",
                  [q("count by (pool) (kubegrid:node:pool)", "{{pool}}"),
                   q("max by (pool) (kubegrid:node_pool:max_nodes)", "{{pool}} max")], width=12, height=6),
            Panel("Nodes by state", "Nodes as the autoscaler sees them.",
                  [q("max by (state) (cluster_autoscaler_nodes_count)", "{{state}}")], width=6, height=6),
        ]),
    ]
    return dashboard("kubegrid-autoscaler", "KubeGrid / Autoscaler",
                     "Scale-ups, pending pods and node pools at their maximum.", rows)


def dashboards(spec: StackSpec) -> dict[str, dict[str, Any]]:
    """The stack's dashboards by ConfigMap name."""
    boards = {"kubegrid-dashboard-grid": grid_dashboard(spec)}
    if any(t.spark for t in spec.teams):
        boards["kubegrid-dashboard-spark"] = spark_dashboard(spec)
    if has_gpus(spec):
        boards["kubegrid-dashboard-gpus"] = gpu_dashboard(spec)
    if has_autoscaler(spec):
        boards["kubegrid-dashboard-autoscaler"] = autoscaler_dashboard(spec)
    return boards


def dashboard_config_maps(spec: StackSpec) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": name, "namespace": names.namespace(spec),
                          "labels": {**labels.standard("observability"), **names.DASHBOARD_LABEL}},
             "data": {f"{name.removeprefix('kubegrid-dashboard-')}.json": json.dumps(board, indent=1, sort_keys=True)}}
            for name, board in dashboards(spec).items()]
