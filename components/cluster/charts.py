"""The remote Helm charts a stack installs, as plain data: name, namespace,
repository, chart, pinned version and the exact values handed to Helm.

`kubegrid render` lists these releases (they cannot be fetched offline);
components/k8s/helm.py installs them unchanged.
"""

from __future__ import annotations

from typing import Any, Optional

from ..config import NodePoolSpec, StackSpec
from .scheduling import CRITICAL_ADDONS_ONLY, GPU_LABEL, POOL_LABEL, node_taints, pool_affinity, pool_tolerations

KUBE_SYSTEM = "kube-system"

AUTOSCALER_REPO = "https://kubernetes.github.io/autoscaler"
AUTOSCALER_CHART = "cluster-autoscaler"
AUTOSCALER_CHART_VERSION = "9.52.1"
"""Chart 9.52.1 ships Cluster Autoscaler 1.34.1, the release line for Kubernetes 1.34."""
AUTOSCALER_IMAGE_TAGS = {"1.32": "v1.32.5", "1.33": "v1.33.3", "1.34": "v1.34.2"}
"""Latest known patch release per Kubernetes minor; other minors get ``v<minor>.0``.
The autoscaler simulates the scheduler, so its minor version follows the cluster's."""
AUTOSCALER_NAME = "cluster-autoscaler"
"""The autoscaler's release, fullname and service account."""

DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
DEVICE_PLUGIN_CHART_VERSION = "0.17.4"
DEVICE_PLUGIN_NAME = "nvidia-device-plugin"


def release_spec(name: str, namespace: str, repo: str, chart: str, version: str,
                 values: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "repo": repo, "chart": chart, "version": version, "values": values}


def autoscaler_image_tag(kubernetes_version: str) -> str:
    return AUTOSCALER_IMAGE_TAGS.get(kubernetes_version, f"v{kubernetes_version}.0")


def system_pool(spec: StackSpec) -> NodePoolSpec:
    """The first non-GPU pool that never scales to zero (the spec requires one):
    where the autoscaler itself runs, so it never removes its own node."""
    return next(p for p in spec.node_pools if not p.gpu and p.min_size >= 1)


def autoscaler_release(spec: StackSpec) -> dict[str, Any]:
    """The Cluster Autoscaler's release. It finds the node groups by the tags EKS puts on
    their Auto Scaling groups, and runs on the pool that never scales to zero."""
    home = system_pool(spec)
    values: dict[str, Any] = {
        "cloudProvider": "aws",
        "awsRegion": spec.region,
        "autoDiscovery": {"clusterName": spec.cluster_name},
        "fullnameOverride": AUTOSCALER_NAME,
        "image": {"tag": autoscaler_image_tag(spec.cluster.kubernetes_version)},
        "rbac": {"serviceAccount": {"create": True, "name": AUTOSCALER_NAME}},
        "replicaCount": 2 if spec.is_prod else 1,  # leader election keeps one active
        "nodeSelector": {POOL_LABEL: home.name},
        "tolerations": [t.toleration() for t in node_taints(home)],
        "resources": {"requests": {"cpu": "100m", "memory": "600Mi"}, "limits": {"memory": "600Mi"}},
        "extraArgs": {
            "expander": "least-waste",
            "balance-similar-node-groups": True,
            # Spark executors keep scratch data in emptyDir volumes; that must not pin idle nodes.
            "skip-nodes-with-local-storage": False,
            "scale-down-unneeded-time": "10m",
            "scale-down-delay-after-add": "10m",
        },
    }
    return release_spec(AUTOSCALER_NAME, KUBE_SYSTEM, AUTOSCALER_REPO, AUTOSCALER_CHART, AUTOSCALER_CHART_VERSION,
                        values)


def device_plugin_pools(spec: StackSpec) -> list[NodePoolSpec]:
    """GPU pools that need NVIDIA's device plugin: every GPU pool except Bottlerocket
    ones, whose AMI runs its own."""
    return [p for p in spec.node_pools if p.gpu and not p.ami.is_bottlerocket]


def device_plugin_release(spec: StackSpec) -> Optional[dict[str, Any]]:
    """NVIDIA's device plugin with GPU feature discovery, on the GPU pools that need it;
    None when no pool does."""
    pools = device_plugin_pools(spec)
    if not pools:
        return None
    tolerations = pool_tolerations(pools, CRITICAL_ADDONS_ONLY)
    values: dict[str, Any] = {
        "affinity": pool_affinity(pools),
        "tolerations": tolerations,
        "gfd": {"enabled": True},
        # GPU feature discovery hands its labels to the node-feature-discovery worker
        # on the same node, so that worker runs on GPU nodes (and only there).
        "nfd": {"enabled": True, "worker": {"nodeSelector": {GPU_LABEL: "true"}, "tolerations": tolerations}},
    }
    return release_spec(DEVICE_PLUGIN_NAME, KUBE_SYSTEM, DEVICE_PLUGIN_REPO, DEVICE_PLUGIN_CHART,
                        DEVICE_PLUGIN_CHART_VERSION, values)


def remote_releases(spec: StackSpec) -> list[dict[str, Any]]:
    """Every remote chart of the stack, in install order: mode eks's autoscaler and device plugin,
    then (any mode) the observability releases."""
    from .observability import observability_releases  # imported here: it imports this module

    if not spec.is_eks:
        return observability_releases(spec)
    plugin = device_plugin_release(spec)
    return [autoscaler_release(spec)] + ([plugin] if plugin is not None else []) + observability_releases(spec)
