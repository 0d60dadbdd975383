"""The DaemonSets the stack runs on its nodes, with what each pod requests.

Executor sizing (components/cluster/spark/sizing.py) takes them off every
node's allocatable resources before it cuts executors, pool by pool: each
entry says which pools it runs on. The charts' DaemonSets are read from the
releases the stack installs (the pools their affinity selects); the EKS
managed add-ons' requests are the add-ons' own, with their source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import NodePoolSpec, StackSpec
from .charts import device_plugin_pools, device_plugin_release


@dataclass(frozen=True)
class DaemonSetRequest:
    """What one DaemonSet's pod requests on each node it runs on."""

    name: str
    cpu_m: int
    memory_mi: int
    source: str
    pools: Optional[tuple[str, ...]] = None
    """The pools it runs on; None: every pool."""

    def runs_on(self, pool: NodePoolSpec) -> bool:
        return self.pools is None or pool.name in self.pools


EKS_ADDONS: tuple[DaemonSetRequest, ...] = (
    DaemonSetRequest("aws-node", 50, 0, "vpc-cni add-on: aws-node and aws-eks-nodeagent containers, 25m each"),
    DaemonSetRequest("kube-proxy", 100, 0, "kube-proxy add-on"),
    DaemonSetRequest("eks-pod-identity-agent", 0, 0, "eks-pod-identity-agent add-on; sets no requests"),
    DaemonSetRequest("ebs-csi-node", 30, 120, "aws-ebs-csi-driver add-on: three containers, 10m and 40Mi each"),
)
"""The managed add-ons' DaemonSets (components/aws/addons.py installs them on every node)."""


def device_plugin_daemonsets(spec: StackSpec) -> tuple[DaemonSetRequest, ...]:
    """NVIDIA's device plugin, GPU feature discovery and the node-feature-discovery worker,
    on the pools the device plugin's release selects; none when it is not installed."""
    if device_plugin_release(spec) is None:
        return ()
    pools = tuple(p.name for p in device_plugin_pools(spec))
    return (
        DaemonSetRequest("nvidia-device-plugin", 0, 0, "nvidia-device-plugin chart; sets no requests", pools),
        DaemonSetRequest("gpu-feature-discovery", 0, 0, "nvidia-device-plugin chart (gfd); sets no requests", pools),
        DaemonSetRequest("node-feature-discovery-worker", 5, 64, "node-feature-discovery subchart worker", pools),
    )


def stack_daemonsets(spec: StackSpec) -> tuple[DaemonSetRequest, ...]:
    """Every DaemonSet the stack deploys on its node pools (mode eks; none otherwise)."""
    if not spec.is_eks:
        return ()
    # Imported here: observability's history servers build on Spark, whose sizing imports this module.
    from .observability import observability_daemonsets

    return EKS_ADDONS + device_plugin_daemonsets(spec) + tuple(observability_daemonsets(spec))


def pool_daemonsets(spec: StackSpec, pool: NodePoolSpec) -> tuple[DaemonSetRequest, ...]:
    """The DaemonSets on each node of ``pool``."""
    return tuple(d for d in stack_daemonsets(spec) if d.runs_on(pool))
