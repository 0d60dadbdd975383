"""A stack's cluster side on the real control plane: nodes shaped like its pools, volumes
for its claims, the CRDs of its custom resources, then every object it applies.

Used by the tests under tests/live/ (through their conftest) and by nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
import yaml

from components.cluster.scheduling import POOL_LABEL, node_taints
from components.cluster.storage import gp3_storage_class
from components.config import NodePoolSpec, StackSpec
from components.offline.render import StackRender, render_stack

from . import engines
from .cluster import ControlPlane, Kube
from .cluster_nodes import kind_storage_class, pool_nodes, stack_nodes, static_volumes
from .stacks import stack_spec

CRD_DIR = "example/prometheus-operator-crd"
CRD_GROUP = "monitoring.coreos.com"


def require_engines() -> Path:
    """The directory of the control plane's binaries, built when missing. Without a Go
    toolchain the calling test skips, saying why, unless KUBEGRID_REQUIRE_ENGINES is set (CI):
    then it fails. A failed build is an error, never a skip."""
    if shutil.which("go") is None:
        if os.environ.get("KUBEGRID_REQUIRE_ENGINES"):
            pytest.fail("KUBEGRID_REQUIRE_ENGINES is set (CI) but no Go toolchain is on PATH")
        pytest.skip("no Go toolchain on PATH: the control plane's binaries are built from Go modules "
                    "(python -m tests.support.engines bin)")
    return engines.bin_dir()


@dataclass
class LiveStack:
    """One stack applied to one running control plane."""

    name: str
    spec: StackSpec
    plane: ControlPlane
    render: StackRender
    nodes: list[dict[str, Any]]
    applied: list[dict[str, Any]] = field(default_factory=list)
    nodes_of: StackSpec | None = None
    """The stack whose pools the nodes are, when not ``spec`` (an eks stack's cluster side in
    mode existing)."""

    @property
    def pools(self) -> StackSpec:
        """The spec of the node pools (``nodes_of``, else ``spec``)."""
        return self.nodes_of or self.spec

    @property
    def kube(self) -> Kube:
        return self.plane.kube()

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """The rendered objects of ``kind`` (in ``namespace``)."""
        return [r.obj for r in self.render.objects if r.obj["kind"] == kind
                and (namespace is None or r.obj["metadata"].get("namespace") == namespace)]

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        args = ["get", "pods", "-n", namespace] + ([f"--selector={selector}"] if selector else [])
        return self.kube.json(*args)["items"]


class _CrdLoader(yaml.SafeLoader):
    """YAML 1.1's "=" (the value key type) is a plain string in the CRDs' enums (`- =`)."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def crds_for(render: StackRender) -> list[dict[str, Any]]:
    """The Prometheus Operator CRDs of the custom resources among ``render``'s objects."""
    kinds = {r.obj["kind"] for r in render.objects if r.obj["apiVersion"].startswith(f"{CRD_GROUP}/")}
    if not kinds:
        return []
    directory = engines.source("prometheus-operator") / CRD_DIR
    crds = []
    for path in sorted(directory.glob(f"{CRD_GROUP}_*.yaml")):
        crd = yaml.load(path.read_text(), Loader=_CrdLoader)
        if crd["spec"]["names"]["kind"] in kinds:
            crds.append(crd)
    return crds


def storage_for(spec: StackSpec, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The storage class a claim of the stack gets on its cluster, and volumes standing in
    for that class's provisioner. In mode eks the stack brings its class (gp3)."""
    if spec.is_eks:
        return static_volumes(gp3_storage_class(spec)["metadata"]["name"], nodes, zonal=True)
    return [kind_storage_class(), *static_volumes(kind_storage_class()["metadata"]["name"], nodes, zonal=False)]


def apply_established(kube: Kube, crds: Iterable[dict[str, Any]]) -> None:
    crds = list(crds)
    kube.apply(crds)
    for crd in crds:
        kube.run("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}")


def start(name: str, directory: Path, bin_dir: Path, own_pods: str | None = None,
          spec: StackSpec | None = None, nodes_of: StackSpec | None = None) -> LiveStack:
    """A control plane in ``directory`` with stack ``name``'s nodes; nothing of the stack yet.
    ``own_pods``: pods whose status the caller reports, not KWOK (see ControlPlane).
    ``spec``: the stack's spec when it is not the stack file's; ``nodes_of``: the stack whose
    nodes the cluster has (an eks stack's pools, for its cluster side in mode existing)."""
    spec = spec or stack_spec(name)
    plane = ControlPlane(directory, bin_dir, own_pods=own_pods)
    nodes = stack_nodes(nodes_of or spec)
    try:
        plane.start()
        plane.add_nodes(nodes)
        plane.kube().apply(storage_for(spec, nodes), manager="kubegrid-test")
    except BaseException:
        plane.stop()
        raise
    return LiveStack(name, spec, plane, render_stack(spec), nodes, nodes_of=nodes_of)


def apply_stack(live: LiveStack) -> None:
    """CRDs first (the monitoring chart installs them before the program creates custom
    resources), then every object in the order the program applies them."""
    apply_established(live.kube, crds_for(live.render))
    objects = [r.obj for r in live.render.objects]
    live.kube.apply(objects)
    live.applied = objects


def live_objects(kube: Kube, objects: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """kind/namespace/name -> the server's copy of each of ``objects`` (managed fields kept)."""
    listed = kube.json("get", "-f", "-", "--show-managed-fields",
                       input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    items = listed["items"] if listed.get("kind") == "List" else [listed]
    return {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o for o in items}


def applied_fields(kube: Kube, objects: Iterable[dict[str, Any]], manager: str = "kubegrid") -> dict[str, Any]:
    """kind/namespace/name -> ``manager``'s field ownership (its fields and the time of its last
    write). An apply that changes nothing leaves it as it was; a controller's own writes (a
    claim's status, say) do not touch it."""
    return {key: [(f["time"], f["fieldsV1"]) for f in o["metadata"].get("managedFields", []) if f["manager"] == manager]
            for key, o in live_objects(kube, objects).items()}


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)


def condition(pod: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The pod's status condition of type ``kind`` (PodScheduled, Ready), if it has one."""
    return next((c for c in pod.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def ready(pod: dict[str, Any]) -> bool:
    """Ready and not being deleted."""
    found = condition(pod, "Ready")
    return not pod["metadata"].get("deletionTimestamp") and bool(found) and found["status"] == "True"


def unschedulable(pod: dict[str, Any]) -> bool:
    """Not bound, and the scheduler has said it fits no node."""
    found = condition(pod, "PodScheduled")
    return (not pod["spec"].get("nodeName") and bool(found) and found["status"] == "False"
            and found.get("reason") == "Unschedulable")


def next_node(stack: LiveStack, pool: NodePoolSpec) -> dict[str, Any]:
    """A new node of ``pool``, named after the pool's next index never used (a node that went
    away keeps its name: a new node of that name would take its pods back), recorded in
    ``stack.nodes``."""
    taken = {n["metadata"]["name"] for n in stack.kube.json("get", "nodes")["items"]} | {
        n["metadata"]["name"] for n in stack.nodes}
    index = next(i for i in range(10_000) if f"{pool.name}-{i}" not in taken)
    node = pool_nodes(stack.pools, pool, start=index, count=1)[0]
    stack.nodes.append(node)
    return node


def scale_out_pool(spec: StackSpec) -> NodePoolSpec | None:
    """The pool the autoscaler stand-in grows: the untainted pool of the largest nodes (the
    grid's pods tolerate no taint); none in mode existing."""
    untainted = [p for p in spec.node_pools if not node_taints(p)]
    return max(untainted, key=lambda p: (p.shape.vcpu, p.shape.memory_gib), default=None)


def autoscaled_wait(stack: LiveStack, what: str, pods: Callable[[], list[dict[str, Any]]],
                    done: Callable[[list[dict[str, Any]]], Any], timeout: float = 180.0) -> Any:
    """Waits until ``done(pods())`` is true, and meanwhile plays the Cluster Autoscaler, which
    does not run here: while one of ``pods()`` is unschedulable, a node of
    :func:`scale_out_pool` is added (one at a time, up to the pool's maxSize), as the
    autoscaler would add one. The scheduler is greedy: on minimum nodes that could hold the
    grid in some placement (dev's), it may pick one that leaves a pod without room."""
    pool = scale_out_pool(stack.pools)
    last_added = [float("-inf")]

    def check() -> Any:
        found = pods()
        if pool is not None and any(unschedulable(p) for p in found) and time.monotonic() - last_added[0] > 5:
            nodes = stack.kube.json("get", "nodes", f"--selector={POOL_LABEL}={pool.name}")["items"]
            if len(nodes) < pool.max_size:
                stack.plane.add_nodes([next_node(stack, pool)])
                last_added[0] = time.monotonic()
                return False
        return done(found)
    return stack.kube.wait_for(what, check, timeout)
