"""Who may use the cluster: EKS access entries (authentication mode API).

Admin principals, and the identity running `pulumi up`, get
AmazonEKSClusterAdminPolicy for the whole cluster. Each
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
from ..config.spec import same_principal
from .naming import AwsStack, unique_slugs

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


def cluster_admin_policy_arn(aws_partition: str) -> str:
    return f"arn:{aws_partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}"


class DeployerError(Exception):
    """The identity running `pulumi up` cannot be made a cluster admin; says what to do."""


@dataclass
class AccessGrant:
    """What one IAM principal gets in the cluster."""

    principal_arn: str
    groups: list[str] = field(default_factory=list)
    """Kubernetes groups, in the order first named."""
    cluster_admin: bool = False
    deployer: bool = False
    """The identity running `pulumi up`, named in no other grant."""


def deployer_principal() -> str:
    """The IAM role or user running `pulumi up`, as an access entry names it.

    Asked of AWS before anything is created (with the AWS provider's own
    credentials, so `aws:profile` and `aws:assumeRoles` apply): an assumed-role
    session becomes its role (the session context's issuer), a user stays itself.
    """
    caller = aws.get_caller_identity()
    if caller.arn.endswith(":root"):
        raise DeployerError(
            f"`pulumi up` runs as the root user of account {caller.account_id}, which EKS access entries cannot "
            "name; run it as an IAM role or user (for example with aws:profile or aws:assumeRoles)")
    return aws.iam.get_session_context(arn=caller.arn).issuer_arn


def access_grants(spec: StackSpec, deployer: str) -> list[AccessGrant]:
    """One grant per principal: admin principals first, then teams in config order, then
    the deployer, always a cluster admin (merged into its own grant when it is named already)."""
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
    named = next((g for g in grants.values() if same_principal(g.principal_arn, deployer)), None)
    if named is not None:
        named.cluster_admin = True
    else:
        grants[deployer] = AccessGrant(deployer, cluster_admin=True, deployer=True)
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

    The identity running `pulumi up` is always a cluster admin, so the stack can
    apply its objects: through its own entry (``<name>-deployer``, a stable
    logical name whoever deploys), or through the entry it already has as an
    admin or team principal; never two entries for one principal.
    """

    entries: dict[str, aws.eks.AccessEntry]
    """Access entries by principal ARN."""

    def __init__(self, name: str, args: ClusterAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:ClusterAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        grants = list(args.grants)
        names = unique_slugs([g.principal_arn for g in grants if not g.deployer])
        self.entries = {}
        for grant in grants:
            suffix = "deployer" if grant.deployer else names[grant.principal_arn]
            self._grant(f"{name}-{suffix}", grant, args, child)
        self.register_outputs({})

    def _grant(self, name: str, grant: AccessGrant, args: ClusterAccessArgs,
               opts: pulumi.ResourceOptions) -> aws.eks.AccessEntry:
        entry = aws.eks.AccessEntry(name, cluster_name=args.cluster_name, principal_arn=grant.principal_arn,
                                    type="STANDARD", kubernetes_groups=grant.groups or None,
                                    tags=args.stack.tagged(), opts=opts)
        self.entries[grant.principal_arn] = entry
        if grant.cluster_admin:
            aws.eks.AccessPolicyAssociation(
                f"{name}-cluster-admin", cluster_name=args.cluster_name, principal_arn=entry.principal_arn,
                policy_arn=cluster_admin_policy_arn(args.stack.partition),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"), opts=opts)
        return entry
