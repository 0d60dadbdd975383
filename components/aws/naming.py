"""Names, ARNs and tags shared by the AWS components.

Pure functions, so that `kubegrid render` and the tests compute the same
names the program gives AWS.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Mapping

from ..config import StackSpec


def partition(region: str) -> str:
    """The AWS partition of a region (aws, aws-cn or aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy(aws_partition: str, path: str) -> str:
    """ARN of an AWS managed IAM policy, such as ``AmazonEKSWorkerNodePolicy``."""
    return f"arn:{aws_partition}:iam::aws:policy/{path}"


@dataclass(frozen=True)
class AwsStack:
    """What every AWS component knows of the stack: where it is, the cluster's
    name, the tags of its resources, and whether stateful resources are protected."""

    region: str
    """The AWS region."""
    cluster: str
    """Name of the EKS cluster, known before it exists."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags every taggable resource carries."""
    protect: bool = False
    """Protect stateful resources (the cluster, its KMS key) from deletion: prod."""

    @property
    def partition(self) -> str:
        return partition(self.region)

    def tagged(self, **extra: str) -> dict[str, str]:
        """The stack's tags plus ``extra``."""
        return {**self.tags, **extra}

    def managed_policy(self, path: str) -> str:
        return managed_policy(self.partition, path)


def aws_stack(spec: StackSpec) -> AwsStack:
    """The AWS view of a stack in mode eks."""
    if spec.region is None:
        raise ValueError("mode eks needs aws:region")
    return AwsStack(region=spec.region, cluster=spec.cluster_name, protect=spec.is_prod, tags=spec.resource_tags)


def slug(text: str) -> str:
    """A logical-name-safe form of ``text``: lower-case letters, digits and '-'."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")


def principal_slug(arn: str) -> str:
    """A readable, stable name part for an IAM principal ARN: account and resource."""
    parts = arn.split(":", 5)
    return slug(f"{parts[4]}-{parts[5]}") if len(parts) == 6 else slug(arn)


def unique_slugs(values: list[str], make=principal_slug) -> dict[str, str]:
    """``make(value)`` for each value; values whose slugs collide get a hash suffix."""
    slugs = {v: make(v) for v in values}
    counts: dict[str, int] = {}
    for s in slugs.values():
        counts[s] = counts.get(s, 0) + 1
    return {v: s if counts[s] == 1 else f"{s}-{hashlib.sha256(v.encode()).hexdigest()[:8]}"
            for v, s in slugs.items()}
