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

from ..spec import NodePoolSpec, StackSpec
from .helm import helm_release, release_spec
from .iam import Role, RoleArgs, policy_document, role, pod_identity_trust_policy
from .naming import cluster_name, partition, tags
from .node_pool import POOL_LABEL, node_taints

CHART_REPO = "https://kubernetes.github.io/autoscaler"
CHART = "cluster-autoscaler"
CHART_VERSION = "9.52.1"
"""Chart 9.52.1 ships Cluster Autoscaler 1.34.1, the release line for Kubernetes 1.34."""
IMAGE_TAGS = {"1.32": "v1.32.5", "1.33": "v1.33.3", "1.34": "v1.34.2"}
"""Latest known patch release per Kubernetes minor; other minors get ``v<minor>.0``.
The autoscaler simulates the scheduler, so its minor version follows the cluster's."""
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
RELEASE_NAME = "cluster-autoscaler"
OWNED_TAG_PREFIX = "k8s.io/cluster-autoscaler/"


def image_tag(kubernetes_version: str) -> str:
    return IMAGE_TAGS.get(kubernetes_version, f"v{kubernetes_version}.0")


def system_pool(spec: StackSpec) -> NodePoolSpec:
    """The first non-GPU pool that never scales to zero (the spec requires one):
    where the autoscaler itself runs, so it never removes its own node."""
    return next(p for p in spec.node_pools if not p.gpu and p.min_size >= 1)


def autoscaler_release(spec: StackSpec) -> dict[str, Any]:
    """The autoscaler's Helm release: chart, pinned version and exact values."""
    home = system_pool(spec)
    values: dict[str, Any] = {
        "cloudProvider": "aws",
        "awsRegion": spec.region,
        "autoDiscovery": {"clusterName": cluster_name(spec)},
        "fullnameOverride": RELEASE_NAME,
        "image": {"tag": image_tag(spec.cluster.kubernetes_version)},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
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
    return release_spec(RELEASE_NAME, NAMESPACE, CHART_REPO, CHART, CHART_VERSION, values)


def autoscaler_policy(spec: StackSpec, account_id: str) -> str:
    """Least-privilege policy of the autoscaler's role."""
    part, region, cluster = partition(spec.region or ""), spec.region, cluster_name(spec)
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

    spec: StackSpec
    """The validated stack spec (mode eks)."""
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster."""
    cluster_arn: pulumi.Input[str]
    """ARN of the EKS cluster (the Pod Identity trust names it)."""
    account_id: pulumi.Input[str]
    """The AWS account of the stack."""
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
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        self.role = role(f"{name}-role", RoleArgs(
            description=f"Cluster Autoscaler of EKS cluster {cluster_name(spec)}",
            trust_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                lambda arn: pod_identity_trust_policy(arn, NAMESPACE, SERVICE_ACCOUNT)),
            inline_policy=pulumi.Output.from_input(args.account_id).apply(lambda acct: autoscaler_policy(spec, acct)),
            tags=tags(spec)), self)
        # The association must exist before the pod starts: credentials are injected at admission.
        association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity", cluster_name=args.cluster_name, namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT, role_arn=self.role.role.arn, tags=tags(spec), opts=child)
        self.release = helm_release(f"{name}-release", autoscaler_release(spec), args.provider, self,
                                    [association, *self.role.grants, *args.depends_on])
        self.register_outputs({"roleArn": self.role.role.arn})
