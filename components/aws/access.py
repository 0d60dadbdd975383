"""Who may use the cluster: EKS access entries (authentication mode API).

Admin principals get AmazonEKSClusterAdminPolicy for the whole cluster. Each
team's principals are mapped to the Kubernetes groups
``team_group(team, role)``, with no access policy: the tenancy objects bind
those groups with RoleBindings in the team's namespace. EKS allows one
access entry per principal, so a principal named in several places gets one
entry with every group it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from ..cluster.tenancy import ROLE_KEYS, team_group
from ..config import StackSpec
from .naming import AwsStack, unique_slugs

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


def cluster_admin_policy_arn(aws_partition: str) -> str:
    return f"arn:{aws_partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}"


@dataclass
class AccessGrant:
    """What one IAM principal gets in the cluster."""

    principal_arn: str
    groups: list[str] = field(default_factory=list)
    """Kubernetes groups, in the order first named."""
    cluster_admin: bool = False


def access_grants(spec: StackSpec) -> list[AccessGrant]:
    """One grant per principal: admin principals first, then teams in config order."""
    grants: dict[str, AccessGrant] = {}
    for arn in spec.cluster.admin_principals:
        grants.setdefault(arn, AccessGrant(arn)).cluster_admin = True
    for team in spec.teams:
        for key, role in ROLE_KEYS.items():
            for arn in getattr(team, key):
                grant = grants.setdefault(arn, AccessGrant(arn))
                group = team_group(team.name, role)
                if group not in grant.groups:
                    grant.groups.append(group)
    return list(grants.values())


@dataclass(frozen=True)
class ClusterAccessArgs:
    """Inputs of :class:`ClusterAccess`."""

    stack: AwsStack
    """The stack's partition and tags."""
    grants: Sequence[AccessGrant]
    """One grant per principal (:func:`access_grants`)."""
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster."""


class ClusterAccess(pulumi.ComponentResource):
    """Access entries (and cluster-admin policy associations) of a cluster.

    With no `adminPrincipals` in config, the identity running `pulumi up` is
    made cluster admin instead, so the stack can still apply its objects.
    """

    entries: dict[str, aws.eks.AccessEntry]
    """Access entries by principal ARN (the deployer's under ``"deployer"``)."""

    def __init__(self, name: str, args: ClusterAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:ClusterAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        grants = list(args.grants)
        names = unique_slugs([g.principal_arn for g in grants])
        self.entries = {}
        for grant in grants:
            self._grant(f"{name}-{names[grant.principal_arn]}", grant.principal_arn, grant.groups,
                        grant.cluster_admin, args, child)
        if not any(g.cluster_admin for g in grants):
            caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            issuer = aws.iam.get_session_context_output(arn=caller.arn, opts=pulumi.InvokeOutputOptions(parent=self))
            self.entries["deployer"] = self._grant(f"{name}-deployer", issuer.issuer_arn, [], True, args, child)
        self.register_outputs({})

    def _grant(self, name: str, principal: pulumi.Input[str], groups: list[str], admin: bool,
               args: ClusterAccessArgs, opts: pulumi.ResourceOptions) -> aws.eks.AccessEntry:
        entry = aws.eks.AccessEntry(name, cluster_name=args.cluster_name, principal_arn=principal, type="STANDARD",
                                    kubernetes_groups=groups or None, tags=args.stack.tagged(), opts=opts)
        if isinstance(principal, str):
            self.entries[principal] = entry
        if admin:
            aws.eks.AccessPolicyAssociation(
                f"{name}-cluster-admin", cluster_name=args.cluster_name, principal_arn=entry.principal_arn,
                policy_arn=cluster_admin_policy_arn(args.stack.partition),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"), opts=opts)
        return entry
