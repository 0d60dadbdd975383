"""The Cluster Autoscaler: adds nodes for pending pods, removes idle ones.

Installed from its official chart (version pinned) in kube-system, with an
image matching the cluster's Kubernetes minor version, on the pool that never
scales to zero. It finds the node groups by the tags EKS puts on every
managed node group's Auto Scaling group (``k8s.io/cluster-autoscaler/enabled``
and ``k8s.io/cluster-autoscaler/<cluster>``), and scales a pool up from zero
from the template hints each pool writes on its group (see node_pool.py).

AWS access is through EKS Pod Identity. The role may read what the
autoscaler must read (Auto Scaling groups, instance types, launch template
versions, this cluster's node groups), and may change only Auto Scaling
groups tagged as owned by this cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from ..cluster.charts import AUTOSCALER_NAME, KUBE_SYSTEM
from ..k8s.helm import helm_release
from .iam import Role, RoleArgs, policy_document, role, pod_identity_trust_policy
from .naming import partition

OWNED_TAG_PREFIX = "k8s.io/cluster-autoscaler/"


def autoscaler_policy(region: str, cluster: str, account_id: str) -> str:
    """Least-privilege policy of the autoscaler's role."""
    part = partition(region)
    return policy_document(
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            "Resource": "*",  # these actions support no resource-level restriction
        },
        {
            "Sid": "DescribeOwnNodeGroups",
            "Effect": "Allow",
            "Action": ["eks:DescribeNodegroup"],
            "Resource": f"arn:{part}:eks:{region}:{account_id}:nodegroup/{cluster}/*/*",
        },
        {
            "Sid": "ScaleOwnNodeGroups",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": f"arn:{part}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{OWNED_TAG_PREFIX}{cluster}": "owned"}},
        },
    )


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    """Inputs of :class:`ClusterAutoscaler`."""

    release: dict[str, Any]
    """The chart's release (components/cluster/charts.py autoscaler_release)."""
    region: str
    """The AWS region of the cluster."""
    cluster: str
    """Name of the EKS cluster, as its IAM conditions name it."""
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster, as the cluster resource outputs it (so the role waits for the cluster)."""
    cluster_arn: pulumi.Input[str]
    """ARN of the EKS cluster (the Pod Identity trust names it)."""
    account_id: pulumi.Input[str]
    """The AWS account of the stack."""
    tags: dict[str, str]
    """Tags of the role and the Pod Identity association."""
    provider: pulumi.ProviderResource
    """Kubernetes provider of the cluster."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first: the node pools and the Pod Identity agent."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Cluster Autoscaler chart with its Pod Identity role."""

    role: Role
    """The autoscaler's IAM role."""
    release: pulumi.Resource
    """The Helm release."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = role(f"{name}-role", RoleArgs(
            description=f"Cluster Autoscaler of EKS cluster {args.cluster}",
            trust_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                lambda arn: pod_identity_trust_policy(arn, KUBE_SYSTEM, AUTOSCALER_NAME)),
            inline_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda acct: autoscaler_policy(args.region, args.cluster, acct)),
            tags=args.tags), self)
        # The association must exist before the pod starts: credentials are injected at admission.
        association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity", cluster_name=args.cluster_name, namespace=KUBE_SYSTEM,
            service_account=AUTOSCALER_NAME, role_arn=self.role.role.arn, tags=args.tags, opts=child)
        self.release = helm_release(f"{name}-release", args.release, args.provider, self,
                                    [association, *self.role.grants, *args.depends_on])
        self.register_outputs({"roleArn": self.role.role.arn})
