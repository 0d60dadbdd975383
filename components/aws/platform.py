"""The EKS side of a stack (`kubegrid:cluster.mode: eks`), as one component.

Order of creation: network, control plane, access entries, networking
add-ons and the Pod Identity agent, node pools, CoreDNS and the EBS CSI
driver; then, through a Kubernetes provider built from the cluster's outputs
(it waits for all of that), the default StorageClass, the Cluster Autoscaler
and the NVIDIA device plugin. Every cluster-side component of the stack uses
that provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..k8s_apply import ClusterObjects
from ..spec import StackSpec
from .access import ClusterAccess, ClusterAccessArgs
from .addons import (AFTER_NODES, BEFORE_NODES, EBS_CSI_DRIVER, EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT,
                     POD_IDENTITY_AGENT, AddonRole, ClusterAddons, ClusterAddonsArgs)
from .autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from .cluster import EksCluster, EksClusterArgs
from .device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs, device_plugin_release
from .iam import RoleArgs, pod_identity_trust_policy, role
from .kubeconfig import kubeconfig
from .naming import cluster_name, managed_policy, tags
from .network import Network, NetworkArgs
from .node_pool import NodePool, NodePoolArgs
from .storage import gp3_storage_class


def node_pool_outputs(spec: StackSpec) -> list[dict[str, Any]]:
    """The `nodePools` stack output: each pool's name, types and sizes."""
    return [{"name": p.name, "instanceTypes": list(p.instance_types), "capacityType": p.capacity_type.value,
             "minSize": p.min_size, "desiredSize": p.desired, "maxSize": p.max_size, "gpu": p.gpu}
            for p in spec.node_pools]


@dataclass(frozen=True)
class EksPlatformArgs:
    """Inputs of :class:`EksPlatform`."""

    spec: StackSpec
    """The validated stack spec; its cluster mode must be `eks`."""


class EksPlatform(pulumi.ComponentResource):
    """Network, EKS cluster, node pools, add-ons, autoscaler and GPU device plugin."""

    provider: k8s.Provider
    """Kubernetes provider of the new cluster, for every cluster-side component."""
    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    cluster: EksCluster
    """The control plane."""
    network: Optional[Network]
    """The VPC the stack created; None with an existing `vpcId`."""
    node_pools: dict[str, NodePool]
    """Node pools by name."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (secret)."""

    def __init__(self, name: str, args: EksPlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:EksPlatform", name, None, opts)
        spec = self._spec = args.spec
        if not spec.is_eks or spec.region is None:
            raise ValueError("EksPlatform needs a spec with cluster.mode eks and aws:region")
        c = spec.cluster
        child = pulumi.ResourceOptions(parent=self)

        if c.vpc_id is None:
            self.network = Network(f"{name}-network", NetworkArgs(spec=spec), child)
            vpc_id, private_subnets = self.network.vpc_id, self.network.private_subnet_ids
        else:
            self.network = None
            vpc_id, private_subnets = c.vpc_id, list(c.private_subnet_ids)

        self.cluster = EksCluster(f"{name}-cluster", EksClusterArgs(spec=spec, vpc_id=vpc_id,
                                                                      subnet_ids=private_subnets), child)
        eks = self.cluster.cluster
        self.cluster_name = eks.name
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        access = ClusterAccess(f"{name}-access", ClusterAccessArgs(spec=spec, cluster_name=eks.name), child)
        base_addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(
            spec=spec, cluster_name=eks.name, addons=BEFORE_NODES), child)

        self.node_pools = {
            pool.name: NodePool(f"{name}-pool-{pool.name}", NodePoolArgs(
                spec=spec, pool=pool, cluster_name=eks.name, subnet_ids=private_subnets,
                depends_on=[base_addons]), child)
            for pool in spec.node_pools
        }
        pools = list(self.node_pools.values())

        ebs_role = role(f"{name}-ebs-csi-role", RoleArgs(
            description=f"EBS CSI driver of EKS cluster {cluster_name(spec)}",
            trust_policy=eks.arn.apply(
                lambda arn: pod_identity_trust_policy(arn, EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT)),
            managed_policy_arns=(managed_policy(spec, "service-role/AmazonEBSCSIDriverPolicy"),),
            tags=tags(spec)), self)
        node_addons = ClusterAddons(f"{name}-addons-on-nodes", ClusterAddonsArgs(
            spec=spec, cluster_name=eks.name, addons=AFTER_NODES,
            roles={EBS_CSI_DRIVER: AddonRole(EBS_CSI_SERVICE_ACCOUNT, ebs_role.role.arn)},
            depends_on=[*pools, *ebs_role.grants, base_addons.addons[POD_IDENTITY_AGENT]]), child)

        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            eks.name, eks.endpoint, eks.certificate_authority.data).apply(
            lambda v: kubeconfig(v[0], v[1], v[2], spec.region)))
        # Everything on the cluster side waits for access, nodes and the core add-ons.
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access, *pools, node_addons]))

        ClusterObjects(f"{name}-cluster-objects", cluster_objects_of(spec),
                       pulumi.ResourceOptions(parent=self, providers=[self.provider]))
        ClusterAutoscaler(f"{name}-autoscaler", ClusterAutoscalerArgs(
            spec=spec, cluster_name=eks.name, cluster_arn=eks.arn, account_id=account_id, provider=self.provider,
            depends_on=[*pools, base_addons.addons[POD_IDENTITY_AGENT]]), child)
        if device_plugin_release(spec) is not None:
            NvidiaDevicePlugin(f"{name}-nvidia-device-plugin", NvidiaDevicePluginArgs(
                spec=spec, provider=self.provider, depends_on=pools), child)

        self.register_outputs({"clusterName": self.cluster_name, "clusterEndpoint": eks.endpoint})

    def stack_outputs(self) -> dict[str, Any]:
        """Cluster name, endpoint, kubeconfig (secret) and the node pools."""
        return {
            "clusterName": self.cluster_name,
            "clusterEndpoint": self.cluster.cluster.endpoint,
            "kubeconfig": self.kubeconfig,
            "nodePools": node_pool_outputs(self._spec),
        }


def cluster_objects_of(spec: StackSpec) -> list[dict[str, Any]]:
    """Plain manifests the EKS side applies itself (the default StorageClass)."""
    return [gp3_storage_class(spec)]
