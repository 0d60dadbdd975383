"""Scheduling decided by the real kube-scheduler, on KWOK nodes shaped like each stack's pools.

What the tests check: every grid pod is placed, and a partition's primary and backup are on
different nodes (and zones, where the stack is zone-aware); Spark executors built from the
pod templates the stack renders land on the pools they are meant for; as many executors of
the size the stack computes fit one node of each pool as its `spark` output says, and not
one more; grid pods that cannot fit stay Pending with the scheduler's reason.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterable

import pytest
import yaml

from components.cluster.daemonsets import DaemonSetRequest, stack_daemonsets
from components.cluster.quantities import parse_cpu_millis, parse_memory_mi
from components.cluster.scheduling import GPU_LABEL, GPU_RESOURCE, POOL_LABEL
from components.cluster.spark.names import CONFIG_MAP
from components.cluster.spark.pod_templates import CPU_EXECUTOR_TEMPLATE, GPU_EXECUTOR_TEMPLATE
from components.cluster.spark.sizing import cpu_pools, gpu_executor, gpu_pools
from components.cluster.spark.submit import spark_outputs
from components.config import NodePoolSpec, StackSpec
from tests.support.cluster import ClusterError, Kube
from tests.support.cluster_nodes import HOSTNAME, ZONE, pool_nodes
from tests.support import live
from tests.support.live import LiveStack

TEST_KEY = "kubegrid.io/scheduling-test"
"""Label and taint of the nodes these tests add, label of everything else they create."""
SCRATCH_NAMESPACE = "scheduling-test"
PLACE_TIMEOUT = 120.0
NODE_LOSS_TIMEOUT = 180.0
"""The pod garbage collector deletes the pods of a deleted node after 40 s of quarantine."""
STANDIN_IMAGE = "registry.k8s.io/pause:3.10"
"""Never pulled: KWOK runs no container."""


# --- reading pods --------------------------------------------------------------------------

def _condition(pod: dict[str, Any], kind: str = "PodScheduled") -> dict[str, Any] | None:
    return live.condition(pod, kind)


def _placed(pod: dict[str, Any]) -> bool:
    return bool(pod["spec"].get("nodeName")) and pod.get("status", {}).get("phase") == "Running"


def _describe(pods: Iterable[dict[str, Any]]) -> str:
    """One line per pod: where it is, its phase and what the scheduler said."""
    lines = []
    for pod in pods:
        c = _condition(pod) or {}
        said = f"; PodScheduled={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}" if c.get("status") == "False" else ""
        lines.append(f"  {pod['metadata']['namespace']}/{pod['metadata']['name']} on {pod['spec'].get('nodeName') or '-'}"
                     f", {pod.get('status', {}).get('phase')}{said}")
    return "\n".join(lines) or "  (no pods)"


def _scheduling_events(kube: Kube, namespace: str, name: str) -> list[str]:
    events = kube.json("get", "events", "-n", namespace,
                       f"--field-selector=involvedObject.name={name},reason=FailedScheduling")["items"]
    return [e.get("message", "") for e in events]


def _wait_scheduling_event(kube: Kube, namespace: str, name: str, saying: str, condition: str) -> None:
    """Until the scheduler's FailedScheduling event of pod ``name`` says ``saying`` (events are
    written after the pod's condition)."""
    _wait(f"a FailedScheduling event of {namespace}/{name} saying {saying!r} (its PodScheduled condition: {condition})",
          lambda: _scheduling_events(kube, namespace, name), lambda events: any(saying in e for e in events),
          json.dumps, timeout=30.0)


def _wait(what: str, fetch: Callable[[], Any], done: Callable[[Any], bool], describe: Callable[[Any], str],
          timeout: float = PLACE_TIMEOUT) -> Any:
    """Polls ``fetch()`` until ``done`` of it; on timeout fails with ``describe`` of the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{describe(value)}")
        time.sleep(0.5)


def _pods(kube: Kube, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    return kube.json("get", "pods", "-n", namespace, *([f"--selector={selector}"] if selector else []))["items"]


def _nodes(kube: Kube) -> dict[str, dict[str, Any]]:
    return {n["metadata"]["name"]: n for n in kube.json("get", "nodes")["items"]}


def _matches(labels: dict[str, str], match: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in match.items())


# --- the grid ------------------------------------------------------------------------------

def _grid_replicas(kube: Kube, namespace: str) -> int:
    """The pods the grid's StatefulSets and Deployments ask for."""
    owners = kube.json("get", "statefulsets,deployments", "-n", namespace)["items"]
    return sum(o["spec"].get("replicas", 1) for o in owners)


def _wait_grid_placed(stack: LiveStack) -> list[dict[str, Any]]:
    """Every pod the grid's controllers ask for exists, is bound to a node and Running; a pod
    that fits no node gets one as the Cluster Autoscaler would add it (live.autoscaled_wait)."""
    namespace = stack.spec.grid.namespace
    expected = _grid_replicas(stack.kube, namespace)
    assert expected > 0, f"no StatefulSet or Deployment asks for pods in {namespace}"
    try:
        return live.autoscaled_wait(stack, f"the {expected} grid pods of {namespace} to be placed and Running",
                                    lambda: _pods(stack.kube, namespace),
                                    lambda pods: len(pods) == expected and all(_placed(p) for p in pods) and pods)
    except ClusterError as error:
        pods = _pods(stack.kube, namespace)
        raise AssertionError(f"{error}: {len(pods)} of {expected} pods exist (the scheduler's log and the audit log: "
                             f"{stack.plane.logs}):\n{_describe(pods)}") from None

def _partition_sets(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    sets = kube.json("get", "statefulsets", "-n", namespace)["items"]
    return sorted((s for s in sets if "kubegrid.io/partition" in s["metadata"].get("labels", {})),
                  key=lambda s: s["metadata"]["name"])


def _check_partitions_apart(live: LiveStack, pods: list[dict[str, Any]]) -> None:
    """Each partition's StatefulSet has its 1 + backups pods among ``pods``; the chart's
    required anti-affinity terms select exactly those, by node and (zone-aware stacks) by
    zone, and the nodes they are on differ in each term's topology label."""
    spec, kube = live.spec, live.kube
    namespace = spec.grid.namespace
    nodes = _nodes(kube)
    partitions = _partition_sets(kube, namespace)
    assert [s["metadata"]["name"] for s in partitions] == [f"kubegrid-partition-{n}" for n in range(1, spec.grid.partitions + 1)]
    keys = {HOSTNAME} | ({ZONE} if spec.grid.zone_aware else set())
    placement = "\n".join(f"  {p['metadata']['name']}: {p['spec']['nodeName']} "
                          f"({nodes[p['spec']['nodeName']]['metadata']['labels'].get(ZONE, 'no zone')})" for p in pods)
    for sts in partitions:
        name = sts["metadata"]["name"]
        members = {p["metadata"]["name"] for p in pods if _matches(p["metadata"]["labels"], sts["spec"]["selector"]["matchLabels"])}
        assert len(members) == 1 + spec.grid.backups, f"{name}: pods {sorted(members)}, expected {1 + spec.grid.backups}"
        terms = sts["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert {t["topologyKey"] for t in terms} == keys, f"{name}: the chart's required anti-affinity terms {json.dumps(terms)}"
        for term in terms:
            selected = [p for p in pods if _matches(p["metadata"]["labels"], term["labelSelector"]["matchLabels"])]
            assert {p["metadata"]["name"] for p in selected} == members, (
                f"{name}: its anti-affinity term {json.dumps(term)} selects {[p['metadata']['name'] for p in selected]}, "
                f"not the partition's pods {sorted(members)}")
            where = [nodes[p["spec"]["nodeName"]]["metadata"]["labels"][term["topologyKey"]] for p in selected]
            assert len(set(where)) == len(where), (
                f"{name}: two of its pods share {term['topologyKey']} {where}; placement:\n{placement}")


def test_every_grid_pod_is_placed_and_partitions_are_apart(applied):
    """The scheduler places every grid pod (KWOK then runs it); each partition is one
    StatefulSet, and the chart's required anti-affinity keeps its pods (primary and backup)
    on different nodes, and in zone-aware stacks in different zones: where the pods are
    shows it."""
    _check_partitions_apart(applied, _wait_grid_placed(applied))


# --- Spark executors -----------------------------------------------------------------------

def _resources(cpu: str, memory: str, overhead: str, gpus: int) -> dict[str, Any]:
    """What Spark requests for an executor pod from its settings: spark.kubernetes.executor
    .request.cores, heap plus overhead (Spark's ``m`` is MiB), and spark.executor.resource
    .gpu.amount GPUs; limits as requests."""
    amounts = {"cpu": cpu, "memory": f"{int(memory.rstrip('m')) + int(overhead.rstrip('m'))}Mi"}
    return {"requests": dict(amounts), "limits": {**amounts, **({GPU_RESOURCE: str(gpus)} if gpus else {})}}


def _conf_resources(conf: dict[str, str]) -> dict[str, Any]:
    return _resources(conf["spark.kubernetes.executor.request.cores"], conf["spark.executor.memory"],
                      conf["spark.executor.memoryOverhead"], int(conf.get("spark.executor.resource.gpu.amount", "0")))


def _figure_resources(figures: dict[str, Any]) -> dict[str, Any]:
    return _resources(figures["executorCpu"], figures["executorMemory"], figures["executorMemoryOverhead"],
                      figures["gpusPerExecutor"])


def _executor_pod(template: dict[str, Any], namespace: str, name: str, resources: dict[str, Any],
                  node: str | None = None) -> dict[str, Any]:
    """An executor pod as Spark builds it from ``template``: the template's spec with the
    settings' resources on its executor container; pinned to ``node`` when given."""
    pod = json.loads(json.dumps(template))
    pod["metadata"] = {"name": name, "namespace": namespace,
                       "labels": {**template["metadata"].get("labels", {}), TEST_KEY: "executor", "spark-role": "executor"}}
    pod["spec"]["containers"][0]["resources"] = resources
    if node is not None:
        pod["spec"]["nodeSelector"] = {HOSTNAME: node}
        pod["spec"]["tolerations"] = [*pod["spec"].get("tolerations", []),
                                      {"key": TEST_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    return pod


def _create(kube: Kube, obj: dict[str, Any]) -> dict[str, Any]:
    result = kube.create(obj)
    assert result.returncode == 0, (f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}: "
                                    f"refused by the API server: {result.stderr.strip()}")
    return json.loads(result.stdout)


def _team_templates(kube: Kube, team: str) -> dict[str, str]:
    return kube.json("get", "configmap", CONFIG_MAP, "-n", team)["data"]


def test_executors_land_on_their_pools(applied):
    """Executor pods from each team's rendered templates, as Spark builds them (the
    template's spec, the requests of the team's `spark` output): the GPU executor lands on a
    node of the team's GPU pools, which has GPUs; the CPU executor on the team's CPU pools,
    never a GPU node. A team without GPU pools has no GPU template."""
    spec, kube = applied.spec, applied.kube
    outputs = spark_outputs(spec)
    assert outputs, f"stack {spec.stack} has no Spark team"
    cases = []
    created: list[tuple[str, str]] = []
    try:
        for team in (t for t in spec.teams if t.spark):
            files = _team_templates(kube, team.name)
            out = outputs[team.name]
            has_gpu = gpu_executor(spec, team) is not None
            assert (GPU_EXECUTOR_TEMPLATE in files) == has_gpu, (
                f"team {team.name}: GPU pools {[p.name for p in gpu_pools(spec, team)]}, ConfigMap files {sorted(files)}")
            kinds = [("cpu", CPU_EXECUTOR_TEMPLATE, out["cpuExecutor"], cpu_pools(spec, team))]
            if has_gpu:
                kinds.append(("gpu", GPU_EXECUTOR_TEMPLATE, out["gpuExecutor"], gpu_pools(spec, team)))
            for kind, file, conf, pools in kinds:
                template = yaml.safe_load(files[file])
                resources = _conf_resources(conf)
                assert template["spec"]["containers"][0]["resources"] == resources, (
                    f"team {team.name}: {file} requests {template['spec']['containers'][0]['resources']}, "
                    f"its Spark settings {resources}")
                name = f"sched-{kind}-executor"
                _create(kube, _executor_pod(template, team.name, name, resources))
                created.append((team.name, name))
                cases.append((team.name, name, kind, pools))

        def fetch():
            return [kube.json("get", "pod", name, "-n", ns) for ns, name in created]
        pods = _wait("the executors to be placed or found unschedulable", fetch,
                     lambda ps: all(_placed(p) or live.unschedulable(p) for p in ps), _describe)
        assert all(_placed(p) for p in pods), f"executors not placed:\n{_describe(pods)}"
        nodes = _nodes(kube)
        for (team, name, kind, pools), pod in zip(cases, pods):
            node = nodes[pod["spec"]["nodeName"]]
            labels, gpus = node["metadata"]["labels"], int(node["status"]["allocatable"].get(GPU_RESOURCE, "0"))
            where = f"team {team}'s {kind} executor on {node['metadata']['name']} (pool {labels.get(POOL_LABEL)}, {gpus} GPUs)"
            if not pools:  # mode existing: the stack knows no pools and places executors anywhere
                assert not spec.is_eks and "affinity" not in pod["spec"], where
                continue
            assert labels.get(POOL_LABEL) in {p.name for p in pools}, f"{where}; its pools: {[p.name for p in pools]}"
            if kind == "gpu":
                assert labels.get(GPU_LABEL) == "true" and gpus > 0, where
            else:
                assert GPU_LABEL not in labels and gpus == 0, where
    finally:
        for ns, name in created:
            kube.run("delete", "pod", name, "-n", ns, "--wait=false", check=False)
        for ns, name in created:
            kube.run("wait", "--for=delete", f"pod/{name}", "-n", ns, "--timeout=60s", check=False)


def _standin_daemonset(d: DaemonSetRequest) -> dict[str, Any]:
    """A DaemonSet that stands for the one ``d`` describes: an EKS add-on's (aws-node,
    kube-proxy, ...) or a remote chart's (NVIDIA device plugin, node-exporter, DCGM exporter),
    none of which is installed on the test control plane. Its pod requests what ``d`` says,
    on the pools ``d`` runs on (node affinity on the pool label), tolerating every taint, as
    node agents do; and only on the nodes these tests add."""
    requests = {k: v for k, v in (("cpu", f"{d.cpu_m}m" if d.cpu_m else None),
                                  ("memory", f"{d.memory_mi}Mi" if d.memory_mi else None)) if v}
    match = [{"key": TEST_KEY, "operator": "Exists"}]
    if d.pools is not None:
        match.append({"key": POOL_LABEL, "operator": "In", "values": list(d.pools)})
    labels = {TEST_KEY: "daemonset", "app.kubernetes.io/name": f"standin-{d.name}"}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": f"standin-{d.name}", "namespace": "kube-system", "labels": labels},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "tolerations": [{"operator": "Exists"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": match}]}}},
                "containers": [{"name": "agent", "image": STANDIN_IMAGE,
                                **({"resources": {"requests": requests}} if requests else {})}]}}}}


def _test_node(spec: StackSpec, pool: NodePoolSpec) -> dict[str, Any]:
    """A node of ``pool`` as the fixture's nodes are, besides: the test's label, and its
    taint, so that only the test's pods (which tolerate it) use the node."""
    node = pool_nodes(spec, pool, start=90, count=1)[0]
    node["metadata"]["labels"][TEST_KEY] = "node"
    node["spec"]["taints"] = [*node["spec"].get("taints", []), {"key": TEST_KEY, "value": "true", "effect": "NoSchedule"}]
    return node


def _pools_to_size(spec: StackSpec) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """pool -> (a team that uses it, the template file its executors come from, the pool's
    figures in the `spark` output)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    outputs = spark_outputs(spec)
    for team in (t for t in spec.teams if t.spark):
        gpu = {p.name for p in gpu_pools(spec, team)}
        for pool, figures in outputs[team.name]["pools"].items():
            if pool in found:
                assert found[pool][2] == figures, f"pool {pool}: teams' outputs differ: {found[pool][2]} and {figures}"
                continue
            found[pool] = (team.name, GPU_EXECUTOR_TEMPLATE if pool in gpu else CPU_EXECUTOR_TEMPLATE, figures)
    return found


def _cleanup(kube: Kube, nodes: Iterable[str]) -> list[str]:
    """Deletes what the per-node test created, pods before nodes; the errors met."""
    errors = []
    steps = [("delete", "namespace", SCRATCH_NAMESPACE, "--ignore-not-found", "--timeout=120s"),
             ("delete", "daemonsets", "-n", "kube-system", f"--selector={TEST_KEY}=daemonset", "--timeout=60s"),
             ("wait", "--for=delete", "pods", "-n", "kube-system", f"--selector={TEST_KEY}=daemonset", "--timeout=60s"),
             *(("delete", "node", name, "--ignore-not-found", "--timeout=60s") for name in nodes)]
    for step in steps:
        result = kube.run(*step, check=False)
        if result.returncode != 0 and "no matching resources" not in result.stderr:
            errors.append(f"kubectl {' '.join(step)}: {result.stderr.strip()}")
    return errors


def test_executors_per_node_match_the_spark_output(applied):
    """On a fresh node of each pool with stand-ins for the DaemonSets the sizing counts
    (components/cluster/daemonsets.py `stack_daemonsets`: the EKS add-ons, the device plugin's
    and the observability charts' DaemonSets, none of which runs here), exactly
    `executorsPerNode` executors of the pool's size fit, and one more stays Pending because
    the node has too little CPU or memory left, in the scheduler's words.

    The executors go to a namespace of the test's own, with the team namespace's Pod
    Security labels and the template's service account: the team's ResourceQuota is not the
    scheduler's business (a dev team's quota holds a single GPU executor)."""
    spec, kube, plane = applied.spec, applied.kube, applied.plane
    if not spec.is_eks:
        pytest.skip(f"stack {spec.stack} (mode {spec.cluster.mode.value}) has no node pools: its `spark` output sizes none")
    pools = _pools_to_size(spec)
    assert pools, f"stack {spec.stack}: no pool in the `spark` output"
    by_name = {p.name: p for p in spec.node_pools}
    nodes = {name: _test_node(spec, by_name[name]) for name in pools}
    daemonsets = stack_daemonsets(spec)
    try:
        plane.add_nodes(list(nodes.values()))  # waits until the new nodes are untainted too
        some_team = next(iter(pools.values()))[0]
        team_ns = kube.json("get", "namespace", some_team)["metadata"]["labels"]
        _create(kube, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SCRATCH_NAMESPACE, "labels": {
            TEST_KEY: "namespace", **{k: v for k, v in team_ns.items() if k.startswith("pod-security.kubernetes.io/")}}}})
        accounts = set()
        for d in daemonsets:
            _create(kube, _standin_daemonset(d))

        for pool_name, (team, file, figures) in pools.items():
            pool, node = by_name[pool_name], nodes[pool_name]["metadata"]["name"]
            expected = [d for d in daemonsets if d.runs_on(pool)]

            def agents():
                return [p for p in _pods(kube, "kube-system", f"{TEST_KEY}=daemonset") if p["spec"].get("nodeName") == node]
            placed = _wait(f"the {len(expected)} stand-in DaemonSet pods on {node}", agents,
                           lambda ps: len(ps) == len(expected) and all(_placed(p) for p in ps), _describe)
            for resource, parse, zero in (("cpu", parse_cpu_millis, "0m"), ("memory", parse_memory_mi, "0Mi")):
                taken = sum(parse(c.get("resources", {}).get("requests", {}).get(resource, zero))
                            for p in placed for c in p["spec"]["containers"])
                alloc, free = figures["nodeAllocatable"][resource], figures["freeForExecutors"][resource]
                assert taken == parse(alloc) - parse(free), (
                    f"{node}: the stand-in DaemonSets' pods request {taken} of {resource}; the sizing counts "
                    f"{alloc} allocatable less {free} free for executors")

            template = yaml.safe_load(_team_templates(kube, team)[file])
            account = template["spec"]["serviceAccountName"]
            if account not in accounts:
                _create(kube, {"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": account, "namespace": SCRATCH_NAMESPACE}})
                accounts.add(account)
            resources = _figure_resources(figures)
            per_node = figures["executorsPerNode"]
            names = [f"{pool_name}-executor-{i}" for i in range(per_node)]
            for name in names:
                _create(kube, _executor_pod(template, SCRATCH_NAMESPACE, name, resources, node))

            def executors():
                return [kube.json("get", "pod", name, "-n", SCRATCH_NAMESPACE) for name in names]
            fit = _wait(f"{per_node} executors of pool {pool_name} on {node} to be placed or found unschedulable",
                        executors, lambda ps: all(_placed(p) or live.unschedulable(p) for p in ps), _describe)
            assert all(_placed(p) for p in fit), (
                f"{node} does not take the {per_node} executors of {json.dumps(resources['requests'])} the `spark` "
                f"output says fit a {figures['instanceType']} node:\n{_describe(fit)}")

            extra = f"{pool_name}-executor-{per_node}"
            _create(kube, _executor_pod(template, SCRATCH_NAMESPACE, extra, resources, node))
            pod = _wait(f"executor {per_node + 1} of pool {pool_name} on {node} to be found unschedulable",
                        lambda: kube.json("get", "pod", extra, "-n", SCRATCH_NAMESPACE),
                        lambda p: _placed(p) or live.unschedulable(p), lambda p: _describe([p]))
            assert not _placed(pod), (f"{node} took {per_node + 1} executors of {json.dumps(resources['requests'])}; "
                                      f"the `spark` output says {per_node} per node:\n{_describe(executors() + [pod])}")
            message = _condition(pod)["message"]
            assert "Insufficient cpu" in message or "Insufficient memory" in message, (
                f"executor {per_node + 1} on {node} is Pending for another reason than the node's CPU or memory: {message}")
            _wait_scheduling_event(kube, SCRATCH_NAMESPACE, extra, "Insufficient", message)
    finally:
        errors = _cleanup(kube, [n["metadata"]["name"] for n in nodes.values()])
    assert not errors, "cleaning up:\n" + "\n".join(errors)


# --- too few nodes -------------------------------------------------------------------------

@pytest.mark.parametrize("fresh", ["dev"], indirect=True)
def test_grid_pods_that_cannot_fit_stay_pending(fresh):
    """dev loses its `general` node: the pod garbage collector deletes that node's grid pods
    and their StatefulSets make them again, but the two `system` nodes (m6i.large) have room
    for one grid pod each and the GPU node's taint keeps grid pods off: the rest stay
    Pending, the scheduler saying why (PodScheduled=False, a FailedScheduling event). A new
    `general` node takes them, partitions still apart."""
    spec, kube = fresh.spec, fresh.kube
    namespace = spec.grid.namespace
    before = _wait_grid_placed(fresh)
    general = next(p for p in spec.node_pools if p.name == "general")
    lost = {n["metadata"]["name"] for n in fresh.nodes if n["metadata"]["labels"][POOL_LABEL] == general.name}
    displaced = {p["metadata"]["name"] for p in before if p["spec"]["nodeName"] in lost}
    assert displaced, f"no grid pod on {sorted(lost)} to displace:\n{_describe(before)}"
    for name in sorted(lost):
        kube.run("delete", "node", name)

    expected = len(before)

    def settled(pods):
        return (len(pods) == expected and not any(p["spec"].get("nodeName") in lost for p in pods)
                and all(_placed(p) or live.unschedulable(p) for p in pods))
    pods = _wait(f"the grid pods of the lost nodes {sorted(lost)} to be made again and scheduled or found unschedulable",
                 lambda: _pods(kube, namespace), settled, _describe, NODE_LOSS_TIMEOUT)
    pending = [p for p in pods if not _placed(p)]
    assert {p["metadata"]["name"] for p in pending} == displaced, (
        f"Pending: {[p['metadata']['name'] for p in pending]}, expected the lost node's pods {sorted(displaced)}:\n{_describe(pods)}")
    for pod in pending:
        name, message = pod["metadata"]["name"], _condition(pod)["message"]
        assert "Insufficient cpu" in message and "untolerated taint" in message, f"{name}: {message}"
        _wait_scheduling_event(kube, namespace, name, "Insufficient cpu", message)

    time.sleep(2)  # still Pending a while later: the scheduler's retries find no room either
    again = [kube.json("get", "pod", p["metadata"]["name"], "-n", namespace) for p in pending]
    assert not any(p["spec"].get("nodeName") for p in again), _describe(again)

    fresh.plane.add_nodes(pool_nodes(spec, general, start=len(lost), count=1))
    _check_partitions_apart(fresh, _wait_grid_placed(fresh))
