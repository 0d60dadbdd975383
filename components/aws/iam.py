"""IAM roles and policy documents, written as JSON with json.dumps.

Two kinds of trust: an AWS service (EKS for the control plane, EC2 for nodes)
and EKS Pod Identity, restricted by the session tags EKS sets to one cluster,
one namespace and one service account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=False)


def service_trust_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    """Trust policy letting an AWS service assume the role."""
    return policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)})


def pod_identity_trust_policy(cluster_arn: str, namespace: str, service_account: str | list[str]) -> str:
    """Trust policy for EKS Pod Identity, limited to one cluster, one namespace and the
    service account (or any of the accounts) given: the session tags EKS sets are its conditions."""
    return policy_document({
        "Sid": "AllowEksPodIdentity",
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_SERVICE},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": cluster_arn,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }},
    })


@dataclass(frozen=True)
class RoleArgs:
    """Inputs of :func:`role`."""

    description: str
    """What the role is for (shown in the IAM console)."""
    trust_policy: pulumi.Input[str]
    """The assume-role policy document, as JSON text."""
    managed_policy_arns: Sequence[str] = ()
    """AWS managed policies attached to the role."""
    inline_policy: Optional[pulumi.Input[str]] = None
    """A policy of the role's own, as JSON text; none for no inline policy."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags of the role."""


@dataclass(frozen=True)
class Role:
    """An IAM role and the grants that must exist before it is used."""

    role: aws.iam.Role
    """The role; its name is generated (unique per account)."""
    grants: list[pulumi.Resource]
    """Managed policy attachments and the inline policy."""


def role(name: str, args: RoleArgs, parent: pulumi.Resource) -> Role:
    """Declares the role ``name`` with its attachments (``name-<policy>``) and inline policy (``name-policy``)."""
    child = pulumi.ResourceOptions(parent=parent)
    created = aws.iam.Role(name, description=args.description, assume_role_policy=args.trust_policy,
                           tags=args.tags, opts=child)
    grants: list[pulumi.Resource] = [
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=created.name, policy_arn=arn, opts=child)
        for arn in args.managed_policy_arns
    ]
    if args.inline_policy is not None:
        grants.append(aws.iam.RolePolicy(f"{name}-policy", role=created.id, policy=args.inline_policy, opts=child))
    return Role(created, grants)
