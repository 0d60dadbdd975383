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
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..cluster.charts import autoscaler_release, device_plugin_release
from ..cluster.storage import gp3_storage_class
from ..config import NatGateways, StackSpec
from ..k8s.apply import ClusterObjects, logical_name
from .access import ClusterAccess, ClusterAccessArgs, access_grants
from .addons import (AFTER_NODES, BEFORE_NODES, EBS_CSI_DRIVER, EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT,
                     POD_IDENTITY_AGENT, AddonRole, ClusterAddons, ClusterAddonsArgs)
from .autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from .cluster import EksCluster, EksClusterArgs
from .device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from .iam import RoleArgs, pod_identity_trust_policy, role
from .kubeconfig import kubeconfig
from .naming import aws_stack
from .network import Network, NetworkArgs
from .node_pool import NodePool, NodePoolArgs


def log_retention_days(spec: StackSpec) -> int:
    """Control-plane log retention: a year in prod (audit trail), a month elsewhere."""
    return 365 if spec.is_prod else 30


@dataclass(frozen=True)
class EksPlatformArgs:
    """Inputs of :class:`EksPlatform`."""

    spec: StackSpec
    """The validated stack spec; its cluster mode must be `eks`. The platform reads
    the cluster, the node pools, the teams' principals, the region and the environment."""
    deployer: str
    """The IAM role or user running `pulumi up` (:func:`~.access.deployer_principal`): always a cluster admin."""


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
    storage_class: pulumi.Resource
    """The default gp3 StorageClass; the grid's volumes wait for it."""

    def __init__(self, name: str, args: EksPlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:EksPlatform", name, None, opts)
        spec = args.spec
        if not spec.is_eks or spec.region is None:
            raise ValueError("EksPlatform needs a spec with cluster.mode eks and aws:region")
        stack = aws_stack(spec)
        c = spec.cluster
        version = c.kubernetes_version
        child = pulumi.ResourceOptions(parent=self)

        if c.vpc_id is None:
            self.network = Network(f"{name}-network", NetworkArgs(
                stack=stack, vpc_cidr=c.vpc_cidr, zones=c.zones, nat_per_zone=c.nat_gateways is NatGateways.PER_ZONE),
                child)
            vpc_id, private_subnets = self.network.vpc_id, self.network.private_subnet_ids
        else:
            self.network = None
            vpc_id, private_subnets = c.vpc_id, list(c.private_subnet_ids)

        self.cluster = EksCluster(f"{name}-cluster", EksClusterArgs(
            stack=stack, kubernetes_version=version, public_endpoint=c.public_endpoint,
            public_access_cidrs=c.public_access_cidrs, private_access_cidrs=c.private_access_cidrs,
            log_retention_days=log_retention_days(spec), vpc_id=vpc_id, subnet_ids=private_subnets), child)
        eks = self.cluster.cluster
        self.cluster_name = eks.name
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        access = ClusterAccess(f"{name}-access", ClusterAccessArgs(
            stack=stack, grants=access_grants(spec, args.deployer), cluster_name=eks.name), child)
        base_addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(
            stack=stack, kubernetes_version=version, cluster_name=eks.name, addons=BEFORE_NODES), child)

        self.node_pools = {
            pool.name: NodePool(f"{name}-pool-{pool.name}", NodePoolArgs(
                stack=stack, kubernetes_version=version, pool=pool, cluster_name=eks.name,
                subnet_ids=private_subnets, depends_on=[base_addons]), child)
            for pool in spec.node_pools
        }
        pools = list(self.node_pools.values())

        ebs_role = role(f"{name}-ebs-csi-role", RoleArgs(
            description=f"EBS CSI driver of EKS cluster {stack.cluster}",
            trust_policy=eks.arn.apply(
                lambda arn: pod_identity_trust_policy(arn, EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT)),
            managed_policy_arns=(stack.managed_policy("service-role/AmazonEBSCSIDriverPolicy"),),
            tags=stack.tagged()), self)
        node_addons = ClusterAddons(f"{name}-addons-on-nodes", ClusterAddonsArgs(
            stack=stack, kubernetes_version=version, cluster_name=eks.name, addons=AFTER_NODES,
            roles={EBS_CSI_DRIVER: AddonRole(EBS_CSI_SERVICE_ACCOUNT, ebs_role.role.arn)},
            depends_on=[*pools, *ebs_role.grants, base_addons.addons[POD_IDENTITY_AGENT]]), child)

        region, profile, role_arn = spec.region, spec.aws_profile, spec.aws_role_arn
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            eks.name, eks.endpoint, eks.certificate_authority.data).apply(
            lambda v: kubeconfig(v[0], v[1], v[2], region, profile, role_arn)))
        # Everything on the cluster side waits for access, nodes and the core add-ons.
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access, *pools, node_addons]))

        storage_class = gp3_storage_class(spec)
        objects = ClusterObjects(f"{name}-cluster-objects", [storage_class],
                                 pulumi.ResourceOptions(parent=self, providers=[self.provider]))
        self.storage_class = objects.resources[logical_name(storage_class)]
        ClusterAutoscaler(f"{name}-autoscaler", ClusterAutoscalerArgs(
            release=autoscaler_release(spec), region=region, cluster=stack.cluster, cluster_name=eks.name,
            cluster_arn=eks.arn, account_id=account_id, tags=stack.tagged(), provider=self.provider,
            depends_on=[*pools, base_addons.addons[POD_IDENTITY_AGENT]]), child)
        plugin = device_plugin_release(spec)
        if plugin is not None:
            NvidiaDevicePlugin(f"{name}-nvidia-device-plugin", NvidiaDevicePluginArgs(
                release=plugin, provider=self.provider, depends_on=pools), child)

        self.register_outputs({"clusterName": self.cluster_name, "clusterEndpoint": eks.endpoint})
