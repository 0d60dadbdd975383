"""Nodes for the test control plane, shaped like a stack's node pools (KWOK runs them).

For an eks stack: ``desiredSize`` nodes of each pool (``minSize`` unless set; at least one,
so that a pool that scales from zero can be tested), each with the allocatable CPU, memory,
pods and GPUs that executor sizing assumes for the pool's first instance type, the pool's
labels and taints, the labels EKS and the kubelet put on a node, and zones round-robin over
the stack's zones, as a managed node group's Auto Scaling group balances them. For any
other stack: one node like kind's single node.

Volumes: no CSI driver runs without a kubelet, so each storage class the stack's claims
use gets static PersistentVolumes; binding them (WaitForFirstConsumer, node affinity) is
the real scheduler's and PV controller's work.
"""

from __future__ import annotations

from typing import Any

from components.cluster.scheduling import GPU_RESOURCE, node_labels, node_taints
from components.cluster.spark.sizing import node_budget
from components.config import NodePoolSpec, StackSpec
from components.config.instance_types import Arch

KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
"""KWOK manages the nodes that carry it (and only those)."""
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
KIND_NODE = "kind-control-plane"
KIND_SHAPE = {"cpu": "8", "memory": "16Gi", "pods": "110"}
"""kind's node reports its host's CPUs and memory and the kubelet's default 110 pods; the
test node is that of an 8-core, 16 GiB machine, so results do not depend on the CI host."""
KIND_STORAGE_CLASS = "standard"
"""kind's default StorageClass (rancher's local-path provisioner, WaitForFirstConsumer)."""
VOLUME_SIZE = "1Ti"
VOLUMES_PER_NODE = 8


def _node(name: str, labels: dict[str, str], capacity: dict[str, str], allocatable: dict[str, str],
          taints: list[dict[str, str]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {HOSTNAME: name, "kubernetes.io/os": "linux", **labels},
                         "annotations": dict(KWOK_ANNOTATION)},
            "spec": {"taints": taints} if taints else {},
            "status": {"capacity": dict(capacity), "allocatable": dict(allocatable)}}


def pool_resources(pool: NodePoolSpec) -> tuple[dict[str, str], dict[str, str]]:
    """(capacity, allocatable) a kubelet on the pool's first instance type reports, as executor
    sizing computes them (the DaemonSets' share is theirs to take)."""
    shape = pool.shape
    budget = node_budget(shape, ())
    extra = {"pods": str(shape.max_pods), "ephemeral-storage": f"{pool.disk_gib}Gi"}
    if shape.gpus:
        extra[GPU_RESOURCE] = str(shape.gpus)
    capacity = {"cpu": f"{budget.capacity_cpu_m}m", "memory": f"{budget.capacity_memory_mi}Mi", **extra}
    allocatable = {"cpu": f"{budget.allocatable_cpu_m}m", "memory": f"{budget.allocatable_memory_mi}Mi", **extra}
    return capacity, allocatable


def pool_nodes(spec: StackSpec, pool: NodePoolSpec, start: int = 0, count: int | None = None) -> list[dict[str, Any]]:
    """Nodes ``start`` .. of ``pool``: ``count`` of them, or the pool's desired size (at least one)."""
    count = max(1, pool.desired) if count is None else count
    zones = spec.cluster.zones
    region = zones[0][:-1]
    arch = "arm64" if pool.shape.arch is Arch.ARM_64 else "amd64"
    nodes = []
    for index in range(start, start + count):
        zone = zones[index % len(zones)]
        labels = {**node_labels(pool), ZONE: zone, "topology.kubernetes.io/region": region,
                  "node.kubernetes.io/instance-type": pool.instance_types[0], "kubernetes.io/arch": arch,
                  "eks.amazonaws.com/nodegroup": pool.name, "eks.amazonaws.com/capacityType": pool.capacity_type.value}
        taints = [{"key": t.key, "value": t.value, "effect": t.effect.value} for t in node_taints(pool)]
        nodes.append(_node(f"{pool.name}-{index}", labels, *pool_resources(pool), taints))
    return nodes


def stack_nodes(spec: StackSpec) -> list[dict[str, Any]]:
    if not spec.is_eks:
        shape = dict(KIND_SHAPE, **{"ephemeral-storage": "100Gi"})
        return [_node(KIND_NODE, {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/arch": "amd64"},
                      shape, shape, [])]
    return [node for pool in spec.node_pools for node in pool_nodes(spec, pool)]


def kind_storage_class() -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": KIND_STORAGE_CLASS,
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": "Delete"}


def static_volumes(storage_class: str, nodes: list[dict[str, Any]], zonal: bool) -> list[dict[str, Any]]:
    """PersistentVolumes of ``storage_class`` standing in for its provisioner: bound to a
    zone (like EBS) when ``zonal``, to one node (like local-path) otherwise."""
    volumes = []
    for node in nodes:
        labels = node["metadata"]["labels"]
        key = ZONE if zonal else HOSTNAME
        for index in range(VOLUMES_PER_NODE):
            volumes.append({"apiVersion": "v1", "kind": "PersistentVolume",
                            "metadata": {"name": f"{storage_class}-{node['metadata']['name']}-{index}"},
                            "spec": {"capacity": {"storage": VOLUME_SIZE}, "accessModes": ["ReadWriteOnce"],
                                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": storage_class,
                                     "hostPath": {"path": f"/var/lib/kubegrid-test/{node['metadata']['name']}/{index}"},
                                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                         {"key": key, "operator": "In", "values": [labels[key]]}]}]}}}})
    return volumes
