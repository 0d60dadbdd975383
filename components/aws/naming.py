"""Names, ARNs and tags shared by the AWS components.

Everything here is a pure function of the spec, so that `kubegrid render`
and the tests can compute the same names the program gives AWS.
"""

from __future__ import annotations

import hashlib
import re

from ..spec import StackSpec

STACK_TAG = "kubegrid:stack"
ENVIRONMENT_TAG = "kubegrid:environment"
MANAGED_BY_TAG = "kubegrid:managed-by"


def cluster_name(spec: StackSpec) -> str:
    """The EKS cluster's name: ``kubegrid-<stack>``, fixed so that subnet tags,
    autoscaler discovery tags and IAM conditions can name it before it exists."""
    return "kubegrid-" + re.sub(r"[^A-Za-z0-9_-]", "-", spec.stack)


def partition(region: str) -> str:
    """The AWS partition of a region (aws, aws-cn or aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy(spec: StackSpec, path: str) -> str:
    """ARN of an AWS managed IAM policy, such as ``AmazonEKSWorkerNodePolicy``."""
    return f"arn:{partition(spec.region or '')}:iam::aws:policy/{path}"


def tags(spec: StackSpec, **extra: str) -> dict[str, str]:
    """The tags every taggable AWS resource of the stack carries."""
    return {STACK_TAG: spec.stack, ENVIRONMENT_TAG: spec.environment.value, MANAGED_BY_TAG: "pulumi", **extra}


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
