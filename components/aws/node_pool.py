"""One node pool: a managed node group, its launch template, node role, and
the hints the Cluster Autoscaler needs to scale it up from zero.

Nodes run in the private subnets with IMDSv2 required and a hop limit of 1
(pods cannot reach the node's instance credentials; they get AWS access
through EKS Pod Identity) and an encrypted gp3 root volume. GPU pools use an
NVIDIA AMI, carry the taint ``nvidia.com/gpu=true:NoSchedule`` and labels
naming the pool and GPU model.

Scale from zero: with no node in a pool, the autoscaler builds a template
node from the Auto Scaling group's ``k8s.io/cluster-autoscaler/node-template/*``
tags (labels, taints, GPU count, ephemeral storage) and from
``eks:DescribeNodegroup``. EKS puts the managed node group in an Auto Scaling
group whose name is known only after creation, so each hint is its own
``aws.autoscaling.Tag`` on that group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from ..cluster.scheduling import GPU_RESOURCE, node_labels, node_taints
from ..config import NodePoolSpec, TaintEffect
from .iam import Role, RoleArgs, role, service_trust_policy
from .naming import AwsStack, slug

NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
"""The AWS managed policies a node needs: join the cluster, let the VPC CNI
manage network interfaces, pull images from ECR. Nothing else: pods get AWS
access through Pod Identity, never through the node role."""

_EFFECTS = {TaintEffect.NO_SCHEDULE: "NO_SCHEDULE", TaintEffect.PREFER_NO_SCHEDULE: "PREFER_NO_SCHEDULE",
            TaintEffect.NO_EXECUTE: "NO_EXECUTE"}


def root_device(pool: NodePoolSpec) -> str:
    """The volume that holds images and pods: Bottlerocket keeps them on its data volume."""
    return "/dev/xvdb" if pool.ami.is_bottlerocket else "/dev/xvda"


def node_template_tags(pool: NodePoolSpec) -> dict[str, str]:
    """The autoscaler's scale-from-zero hints for a pool, as Auto Scaling group tags."""
    hints = {f"{NODE_TEMPLATE}/label/{k}": v for k, v in node_labels(pool).items()}
    hints.update({f"{NODE_TEMPLATE}/taint/{t.key}": f"{t.value}:{t.effect.value}" for t in node_taints(pool)})
    if pool.gpu:
        hints[f"{NODE_TEMPLATE}/resources/{GPU_RESOURCE}"] = str(pool.shape.gpus)
    hints[f"{NODE_TEMPLATE}/resources/ephemeral-storage"] = f"{pool.disk_gib}Gi"
    return hints


@dataclass(frozen=True)
class NodePoolArgs:
    """Inputs of :class:`NodePool`."""

    stack: AwsStack
    """The stack's cluster name, partition and tags."""
    kubernetes_version: str
    """Kubernetes minor version of the nodes."""
    pool: NodePoolSpec
    """The pool to create."""
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster the nodes join."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets the nodes run in."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the node group waits for (the networking add-ons, so nodes join with the managed CNI)."""


class NodePool(pulumi.ComponentResource):
    """A managed node group with launch template, node role and autoscaler hints."""

    node_group: aws.eks.NodeGroup
    """The EKS managed node group."""
    launch_template: aws.ec2.LaunchTemplate
    """The nodes' launch template (IMDSv2, encrypted gp3 root volume, tags)."""
    node_role: Role
    """The nodes' IAM role."""
    autoscaling_group_name: pulumi.Output[str]
    """Name of the Auto Scaling group EKS created for the node group."""

    def __init__(self, name: str, args: NodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:NodePool", name, None, opts)
        stack, pool = args.stack, args.pool
        cluster = stack.cluster
        child = pulumi.ResourceOptions(parent=self)

        self.node_role = role(f"{name}-node-role", RoleArgs(
            description=f"Nodes of pool {pool.name} in EKS cluster {cluster}",
            trust_policy=service_trust_policy("ec2.amazonaws.com"),
            managed_policy_arns=tuple(stack.managed_policy(p) for p in NODE_POLICIES),
            tags=stack.tagged()), self)

        node_tags = stack.tagged(Name=f"{cluster}-{pool.name}", **{"kubegrid:pool": pool.name})
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"Nodes of pool {pool.name} in EKS cluster {cluster}",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
                instance_metadata_tags="disabled"),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=root_device(pool),
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=pool.disk_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"))],
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=node_tags)
                                for kind in ("instance", "volume", "network-interface")],
            tags=stack.tagged(**{"kubegrid:pool": pool.name}),
            opts=child)

        self.node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_role_arn=self.node_role.role.arn,
            subnet_ids=list(args.subnet_ids),
            version=args.kubernetes_version,
            ami_type=pool.ami.value,
            capacity_type=pool.capacity_type.value,
            instance_types=list(pool.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size, desired_size=pool.desired, max_size=pool.max_size),
            labels=node_labels(pool),
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=_EFFECTS[t.effect])
                    for t in node_taints(pool)] or None,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            tags=stack.tagged(**{"kubegrid:pool": pool.name}),
            # The autoscaler owns the desired size once the pool exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.node_role.grants, *args.depends_on],
                                        ignore_changes=["scalingConfig.desiredSize"]))

        self.autoscaling_group_name = self.node_group.resources.apply(
            lambda resources: resources[0].autoscaling_groups[0].name)
        for key, value in node_template_tags(pool).items():
            aws.autoscaling.Tag(
                f"{name}-cas-{slug(key.removeprefix(NODE_TEMPLATE + '/'))}",
                autoscaling_group_name=self.autoscaling_group_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child)
        self.register_outputs({"nodeGroupName": self.node_group.node_group_name,
                               "autoscalingGroupName": self.autoscaling_group_name})
