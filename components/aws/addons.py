"""EKS managed add-ons.

Versions: each add-on runs the version EKS marks as the default for the
cluster's Kubernetes version, looked up at deploy time
(``aws.eks.get_addon_version``, not the most recent). Changing
`kubernetesVersion` therefore moves the add-ons to that version's defaults
in the same `pulumi up`, and no hand-kept version table goes stale.

Order: the networking add-ons (vpc-cni, kube-proxy) and the Pod Identity
agent go in before any node, so nodes join with the managed CNI; CoreDNS and
the EBS CSI driver need nodes to run on, so they go in after the node pools.

Configuration: the VPC CNI runs with network policy enforcement on (its node
agent), so the grid's and the teams' NetworkPolicies take effect; without it
EKS accepts NetworkPolicies and silently ignores them.
"""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from .naming import AwsStack

VPC_CNI = "vpc-cni"
KUBE_PROXY = "kube-proxy"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"
COREDNS = "coredns"
EBS_CSI_DRIVER = "aws-ebs-csi-driver"
BEFORE_NODES = (VPC_CNI, KUBE_PROXY, POD_IDENTITY_AGENT)
AFTER_NODES = (COREDNS, EBS_CSI_DRIVER)
EBS_CSI_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
# Add-on configuration (each add-on's `describe-addon-configuration` schema).
CONFIGURATION = {VPC_CNI: {"enableNetworkPolicy": "true"}}


@dataclass(frozen=True)
class AddonRole:
    """A Pod Identity role for one of an add-on's service accounts."""

    service_account: str
    role_arn: pulumi.Input[str]


@dataclass(frozen=True)
class ClusterAddonsArgs:
    """Inputs of :class:`ClusterAddons`."""

    stack: AwsStack
    """The stack's tags."""
    kubernetes_version: str
    """Kubernetes minor version of the cluster; each add-on runs its default version for it."""
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster."""
    addons: Sequence[str]
    """Add-on names, such as ``vpc-cni``."""
    roles: dict[str, AddonRole] = field(default_factory=dict)
    """Pod Identity roles by add-on name, for the add-ons that call AWS APIs."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What every add-on waits for (the node pools, for add-ons that run on nodes)."""


class ClusterAddons(pulumi.ComponentResource):
    """A set of EKS managed add-ons at the default versions for the cluster's Kubernetes version."""

    addons: dict[str, aws.eks.Addon]
    """The add-ons by name."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:ClusterAddons", name, None, opts)
        self.addons = {}
        for addon in args.addons:
            version = aws.eks.get_addon_version_output(
                addon_name=addon, kubernetes_version=args.kubernetes_version, most_recent=False,
                opts=pulumi.InvokeOutputOptions(parent=self))
            role = args.roles.get(addon)
            self.addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=args.cluster_name,
                addon_name=addon,
                addon_version=version.version,
                configuration_values=json.dumps(CONFIGURATION[addon]) if addon in CONFIGURATION else None,
                # The stack owns the add-ons' configuration: take over the self-managed
                # copies EKS installs at creation, and undo hand edits on update.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                    role_arn=role.role_arn, service_account=role.service_account)] if role else None,
                tags=args.stack.tagged(),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        self.register_outputs({})
