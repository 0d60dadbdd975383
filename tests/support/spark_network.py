"""The connections a Spark job makes, judged by the stack's and the chart's NetworkPolicies
(tests.support.netpol): what the Spark end-to-end tests check on the pods Spark created."""

from __future__ import annotations

from typing import Any, Optional

from components.cluster.grid import PORTS
from tests.support.netpol import NAMESPACE_NAME, Address, Pod, can_connect

API_ADDRESSES = {True: [Address("172.20.0.1"), Address("10.0.12.34")], False: [Address("10.96.0.1"),
                                                                              Address("172.18.0.2")]}
"""The API server as pods reach it: its Service address and an endpoint (EKS: a control-plane ENI in the VPC;
kind: the control-plane container), by mode eks."""
API_PORTS = {True: 443, False: 6443}
DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "10.0.60.1")
S3 = Address("52.216.0.10")
POD_IDENTITY = Address("169.254.170.23")


def grid_pods(objects: list, spec) -> dict[str, Pod]:
    """The grid's pods by component, from the rendered chart's StatefulSets."""
    out = {}
    for o in objects:
        if o["kind"] == "StatefulSet" and o["metadata"].get("namespace") == spec.grid.namespace:
            labels = o["spec"]["template"]["metadata"]["labels"]
            out.setdefault(labels.get("app.kubernetes.io/component", o["metadata"]["name"]),
                           Pod(spec.grid.namespace, labels, f"10.0.50.{len(out) + 1}"))
    return out


def denied_connections(inputs: Any, team: str, driver_pods: list[dict], executor_pods: list[dict],
                       driver_ports: set[int], s3: Optional[bool] = None) -> list[str]:
    """Every connection a job with these pods makes that the policies refuse: the API (drivers), driver and
    executors both ways, executors among themselves, DNS, the grid both ways, and with ``s3`` (default:
    whether the team has S3 locations in mode eks) Pod Identity and S3."""
    spec = inputs.spec
    policies = [o for o in inputs.objects if o["kind"] == "NetworkPolicy"]
    namespaces = {o["metadata"]["name"]: {**o["metadata"].get("labels", {}), NAMESPACE_NAME: o["metadata"]["name"]}
                  for o in inputs.objects if o["kind"] == "Namespace"}
    namespaces["kube-system"] = {NAMESPACE_NAME: "kube-system"}
    drivers = [Pod(team, p["metadata"]["labels"], "10.0.70.1") for p in driver_pods]
    executors = [Pod(team, p["metadata"]["labels"], f"10.0.71.{i + 1}") for i, p in enumerate(executor_pods)]
    executor_ports = {int(p["containerPort"]) for pod in executor_pods
                      for c in pod["spec"]["containers"] for p in c.get("ports") or []}
    grid = grid_pods(inputs.objects, spec)
    lrmi = range(PORTS.lrmi_first, PORTS.lrmi_last + 1, 33)
    wanted = []
    for d in drivers:
        wanted += [(f"driver -> API {a.ip}:{API_PORTS[spec.is_eks]}", d, a, API_PORTS[spec.is_eks], "TCP")
                   for a in API_ADDRESSES[spec.is_eks]]
        for e in executors:
            wanted += [(f"executor -> driver :{p}", e, d, p, "TCP") for p in sorted(driver_ports)]
            wanted += [(f"driver -> executor :{p}", d, e, p, "TCP") for p in sorted(executor_ports)]
    for e1 in executors:
        for e2 in executors:
            if e1 is not e2:
                wanted += [(f"executor -> executor :{p} (shuffle blocks)", e1, e2, p, "TCP") for p in executor_ports]
    if s3 is None:
        s3 = spec.is_eks and bool(next(t for t in spec.teams if t.name == team).s3_access)
    for pod in drivers + executors:
        role = pod.labels.get("spark-role")
        wanted += [(f"{role} -> DNS/{proto}", pod, DNS, 53, proto) for proto in ("UDP", "TCP")]
        wanted += [(f"{role} -> grid manager :{p}", pod, grid["management"], p, "TCP") for p in (PORTS.lookup, PORTS.rest)]
        wanted += [(f"{role} -> grid partition LRMI :{p}", pod, grid["partition"], p, "TCP") for p in lrmi]
        wanted += [(f"grid partition -> {role} LRMI callback :{p}", grid["partition"], pod, p, "TCP") for p in lrmi]
        if s3:
            wanted += [(f"{role} -> Pod Identity agent :80", pod, POD_IDENTITY, 80, "TCP"),
                       (f"{role} -> S3 :443", pod, S3, 443, "TCP")]
    return [what for what, src, dst, port, proto in wanted
            if not can_connect(policies, src, dst, port, namespaces, proto)]
