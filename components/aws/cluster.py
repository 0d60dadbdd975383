"""The EKS control plane: its IAM role, KMS key, log group and API access.

Secrets are envelope-encrypted with a customer managed KMS key (rotated
yearly); all five control-plane log types go to a log group the stack owns
(so its retention is set); authentication is by access entries only (mode
API), with no implicit admin for whoever created the cluster. The private
endpoint is always on; the public one only when the stack says so, and then
only for the configured CIDRs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from .iam import RoleArgs, policy_document, role as iam_role, service_trust_policy
from .naming import AwsStack

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every control-plane log type EKS can send to CloudWatch."""
API_PORT = 443


@dataclass(frozen=True)
class EksClusterArgs:
    """Inputs of :class:`EksCluster`."""

    stack: AwsStack
    """The stack's region, cluster name, tags and protection."""
    kubernetes_version: str
    """Kubernetes minor version of the control plane."""
    public_endpoint: bool
    """Expose the API endpoint publicly (the private endpoint is always on)."""
    public_access_cidrs: Sequence[str]
    """With ``public_endpoint``: the CIDRs allowed to reach it."""
    private_access_cidrs: Sequence[str]
    """CIDRs allowed to reach the private endpoint on 443, besides the nodes."""
    log_retention_days: int
    """Retention of the control-plane logs."""
    vpc_id: pulumi.Input[str]
    """The VPC of the cluster."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets for the control plane's network interfaces (at least two zones)."""


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with encrypted secrets, full control-plane logs and API-only auth."""

    cluster: aws.eks.Cluster
    """The EKS cluster."""
    kms_key: aws.kms.Key
    """The key that envelope-encrypts Kubernetes Secrets."""
    api_security_group: aws.ec2.SecurityGroup
    """Extra security group of the control plane: port 443 from `privateAccessCidrs`."""

    def __init__(self, name: str, args: EksClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:EksCluster", name, None, opts)
        stack = args.stack
        cluster = stack.cluster
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=stack.protect)

        self.kms_key = aws.kms.Key(
            f"{name}-secrets-key", description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {cluster}",
            enable_key_rotation=True, deletion_window_in_days=30, tags=stack.tagged(Name=f"{cluster}-secrets"),
            opts=stateful)
        aws.kms.Alias(f"{name}-secrets-key-alias", name=f"alias/{cluster}-secrets", target_key_id=self.kms_key.key_id,
                      opts=child)

        role = iam_role(f"{name}-role", RoleArgs(
            description=f"EKS control plane of {cluster}",
            trust_policy=service_trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")),
            managed_policy_arns=(stack.managed_policy("AmazonEKSClusterPolicy"),),
            inline_policy=self.kms_key.arn.apply(lambda arn: policy_document({
                "Sid": "SecretsEncryption", "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": arn})),
            tags=stack.tagged()), self)

        # EKS would create this group itself, with logs kept forever; owning it sets the retention.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/eks/{cluster}/cluster", retention_in_days=args.log_retention_days,
            tags=stack.tagged(), opts=child)

        self.api_security_group = aws.ec2.SecurityGroup(
            f"{name}-api", vpc_id=args.vpc_id, description=f"Access to the private API endpoint of {cluster}",
            tags=stack.tagged(Name=f"{cluster}-api"), opts=child)
        for cidr in args.private_access_cidrs:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{cidr.replace('/', '-').replace('.', '-')}",
                security_group_id=self.api_security_group.id, ip_protocol="tcp", from_port=API_PORT,
                to_port=API_PORT, cidr_ipv4=cidr, description="Kubernetes API from a private network",
                tags=stack.tagged(), opts=child)

        vpc_config = aws.eks.ClusterVpcConfigArgs(
            subnet_ids=list(args.subnet_ids),
            security_group_ids=[self.api_security_group.id],
            endpoint_private_access=True,
            endpoint_public_access=args.public_endpoint,
            public_access_cidrs=list(args.public_access_cidrs) if args.public_endpoint else None,
        )
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster,
            version=args.kubernetes_version,
            role_arn=role.role.arn,
            vpc_config=vpc_config,
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn)),
            enabled_cluster_log_types=list(LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            deletion_protection=stack.protect,
            tags=stack.tagged(Name=cluster),
            opts=pulumi.ResourceOptions(parent=self, protect=stack.protect,
                                        depends_on=[*role.grants, log_group]))
        self.register_outputs({"name": self.cluster.name, "endpoint": self.cluster.endpoint})
