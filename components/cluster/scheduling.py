"""Where pods run: the labels and taints of the stack's node pools, and the
tolerations and node affinity that place pods on them.

The node pools (components/aws/node_pool.py) label and taint their nodes
with these functions; the Spark pod templates, the device plugin and the
autoscaler select and tolerate them with the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..config import NodePoolSpec, TaintEffect

POOL_LABEL = "kubegrid.io/pool"
"""Node label naming the pool a node belongs to; select pools with it."""
GPU_LABEL = "kubegrid.io/gpu"
"""Node label, ``"true"`` on GPU nodes."""
GPU_MODEL_LABEL = "kubegrid.io/gpu-model"
"""Node label with the GPU model of a GPU node, such as ``A10G``."""
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
"""The label the Cluster Autoscaler's AWS provider reads to know a node has GPUs
(it then waits for the device plugin instead of treating the node as unready)."""
GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource NVIDIA's device plugin advertises."""
GPU_TAINT_KEY = "nvidia.com/gpu"
"""Key of the taint every GPU node carries (``nvidia.com/gpu=true:NoSchedule``)."""
CRITICAL_ADDONS_ONLY = {"key": "CriticalAddonsOnly", "operator": "Exists"}
"""The toleration system add-ons carry, for nodes reserved to them."""


@dataclass(frozen=True)
class NodeTaint:
    key: str
    value: str
    effect: TaintEffect

    def toleration(self) -> dict[str, str]:
        """A toleration for this taint, as in a pod spec; any value of the GPU taint."""
        if self.value and self.key != GPU_TAINT_KEY:
            return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect.value}
        return {"key": self.key, "operator": "Exists", "effect": self.effect.value}


def node_labels(pool: NodePoolSpec) -> dict[str, str]:
    """Every label a pool's nodes get from the stack: config labels, then ours."""
    labels = {**pool.labels, POOL_LABEL: pool.name}
    if pool.gpu:
        model = pool.shape.gpu_model or "unknown"
        labels.update({GPU_LABEL: "true", GPU_MODEL_LABEL: model, ACCELERATOR_LABEL: f"nvidia-{model.lower()}"})
    return labels


def node_taints(pool: NodePoolSpec) -> list[NodeTaint]:
    """Every taint of a pool's nodes: the GPU taint first, then config taints."""
    taints = [NodeTaint(GPU_TAINT_KEY, "true", TaintEffect.NO_SCHEDULE)] if pool.gpu else []
    return taints + [NodeTaint(t.key, t.value, t.effect) for t in pool.taints]


def pool_tolerations(pools: Iterable[NodePoolSpec], *first: dict[str, str]) -> list[dict[str, str]]:
    """Tolerations for every taint of ``pools``, after ``first``, each once."""
    found: list[dict[str, str]] = list(first)
    for pool in pools:
        for taint in node_taints(pool):
            toleration = taint.toleration()
            if toleration not in found:
                found.append(toleration)
    return found


def pool_placement(pools: Sequence[NodePoolSpec]) -> dict[str, Any]:
    """The pod spec fields that place a pod on ``pools``: affinity, and tolerations when the
    pools have taints; none when there are no pools (anywhere)."""
    if not pools:
        return {}
    placement: dict[str, Any] = {"affinity": pool_affinity(pools)}
    tolerations = pool_tolerations(pools)
    if tolerations:
        placement["tolerations"] = tolerations
    return placement


def pool_affinity(pools: Iterable[NodePoolSpec]) -> dict[str, Any]:
    """Node affinity that requires one of ``pools``."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [p.name for p in pools]}]}]}}}
