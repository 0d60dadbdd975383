"""NVIDIA's device plugin: advertises `nvidia.com/gpu` on GPU nodes.

Installed from NVIDIA's official chart (version pinned) in kube-system, with
GPU feature discovery on (labels such as ``nvidia.com/gpu.product``, through
the chart's node-feature-discovery subchart). It runs only on the stack's GPU
pools whose AMI does not already ship the plugin: node affinity on the pool
label, tolerations for the pools' taints. Bottlerocket NVIDIA AMIs run their
own device plugin, so their pools are left out, and a stack with no other GPU
pool does not install the chart at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi

from ..spec import NodePoolSpec, StackSpec
from .helm import helm_release, release_spec
from .node_pool import GPU_LABEL, POOL_LABEL, node_taints

CHART_REPO = "https://nvidia.github.io/k8s-device-plugin"
CHART = "nvidia-device-plugin"
CHART_VERSION = "0.17.4"
NAMESPACE = "kube-system"
RELEASE_NAME = "nvidia-device-plugin"


def plugin_pools(spec: StackSpec) -> list[NodePoolSpec]:
    """GPU pools that need the plugin: every GPU pool except Bottlerocket ones."""
    return [p for p in spec.node_pools if p.gpu and not p.ami.is_bottlerocket]


def _tolerations(pools: Sequence[NodePoolSpec]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    for pool in pools:
        for taint in node_taints(pool):
            toleration = taint.toleration()
            if taint.key == "nvidia.com/gpu":
                toleration = {"key": taint.key, "operator": "Exists", "effect": taint.effect.value}
            if toleration not in found:
                found.append(toleration)
    return found


def device_plugin_release(spec: StackSpec) -> Optional[dict[str, Any]]:
    """The device plugin's Helm release, or None when no pool needs it."""
    pools = plugin_pools(spec)
    if not pools:
        return None
    tolerations = _tolerations(pools)
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [p.name for p in pools]}]}]}}}
    values: dict[str, Any] = {
        "affinity": affinity,
        "tolerations": tolerations,
        "gfd": {"enabled": True},
        # GPU feature discovery hands its labels to the node-feature-discovery worker
        # on the same node, so that worker runs on GPU nodes (and only there).
        "nfd": {"enabled": True, "worker": {"nodeSelector": {GPU_LABEL: "true"}, "tolerations": tolerations}},
    }
    return release_spec(RELEASE_NAME, NAMESPACE, CHART_REPO, CHART, CHART_VERSION, values)


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    """Inputs of :class:`NvidiaDevicePlugin`."""

    spec: StackSpec
    """The validated stack spec, with at least one GPU pool that needs the plugin."""
    provider: pulumi.ProviderResource
    """Kubernetes provider of the cluster."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the node pools)."""


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """The nvidia-device-plugin chart with GPU feature discovery, on GPU nodes only."""

    release: pulumi.Resource
    """The Helm release."""

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:NvidiaDevicePlugin", name, None, opts)
        release = device_plugin_release(args.spec)
        if release is None:
            raise ValueError("no GPU pool of this stack needs the NVIDIA device plugin")
        self.release = helm_release(f"{name}-release", release, args.provider, self, args.depends_on)
        self.register_outputs({})
