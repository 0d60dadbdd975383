"""Mode eks: AWS access for a team's Spark jobs, and its history server, through EKS Pod Identity.

Each Spark team with `s3Access` gets an IAM role that only its
``spark-driver`` and ``spark-executor`` service accounts, in its namespace,
of this cluster, can assume (the session tags EKS Pod Identity sets are the
trust policy's conditions), and two Pod Identity associations that hand the
role to those accounts. The role may list, read and write objects under the
team's `s3Access` locations and nothing else. Spark's S3A connector picks
the credentials up from the Pod Identity agent (AWS SDK for Java v2).

A team's Spark history server (components/cluster/observability) gets a role
of its own that may only list and read the team's event logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from ..cluster.observability.history import history_teams
from ..cluster.observability.names import HISTORY_SERVER
from ..cluster.spark.pod_templates import event_log_dir
from ..cluster.spark.names import DRIVER_ACCOUNT, EXECUTOR_ACCOUNT
from ..config import StackSpec, TeamSpec
from .iam import RoleArgs, policy_document, pod_identity_trust_policy, role
from .naming import AwsStack

SPARK_ACCOUNTS = (DRIVER_ACCOUNT, EXECUTOR_ACCOUNT)
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                  "s3:ListMultipartUploadParts")
BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads")


def s3_locations(team: TeamSpec) -> dict[str, list[str]]:
    """Prefixes by bucket, in config order; an empty prefix is the whole bucket."""
    found: dict[str, list[str]] = {}
    for location in team.s3_access:
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        found.setdefault(bucket, [])
        if prefix not in found[bucket]:
            found[bucket].append(prefix)
    return found


def s3_policy(team: TeamSpec, aws_partition: str) -> str:
    """Read, write and list under the team's S3 locations, nothing else."""
    statements: list[dict[str, Any]] = []
    for bucket, prefixes in s3_locations(team).items():
        bucket_arn = f"arn:{aws_partition}:s3:::{bucket}"
        listing: dict[str, Any] = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
        if "" not in prefixes:
            listing["Condition"] = {"StringLike": {"s3:prefix": [v for p in prefixes for v in (p, f"{p}*")]}}
        statements += [
            listing,
            {"Effect": "Allow", "Action": list(BUCKET_ACTIONS), "Resource": bucket_arn},
            {"Effect": "Allow", "Action": list(OBJECT_ACTIONS), "Resource": [f"{bucket_arn}/{p}*" for p in prefixes]},
        ]
    return policy_document(*statements)


def event_log_policy(event_log_dir: str, aws_partition: str) -> str:
    """List and read the event logs under ``s3a://bucket/prefix/``, nothing else."""
    bucket, _, prefix = event_log_dir.removeprefix("s3a://").partition("/")
    bucket_arn = f"arn:{aws_partition}:s3:::{bucket}"
    return policy_document(
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{prefix}*"},
    )


def spark_trust_policy(cluster_arn: str, namespace: str) -> str:
    """Only the team's Spark accounts, in its namespace of this cluster, may assume the role."""
    return pod_identity_trust_policy(cluster_arn, namespace, list(SPARK_ACCOUNTS))


def s3_teams(spec: StackSpec) -> list[TeamSpec]:
    return [t for t in spec.teams if t.spark and t.s3_access] if spec.is_eks else []


def event_log_dirs(spec: StackSpec) -> dict[str, str]:
    """Mode eks: the Spark teams whose drivers write event logs to S3, with that directory."""
    dirs = {t.name: event_log_dir(spec, t) for t in s3_teams(spec)}
    return {team: where for team, where in dirs.items() if where.startswith("s3a://")}


def history_readers(spec: StackSpec) -> dict[str, str]:
    """Mode eks: the teams whose history server reads event logs from S3, with that directory."""
    readers = {t.name for t in history_teams(spec)}
    return {team: where for team, where in event_log_dirs(spec).items() if team in readers}


@dataclass(frozen=True)
class SparkS3AccessArgs:
    """Inputs of :class:`SparkS3Access`."""

    stack: AwsStack
    """The stack's partition and tags."""
    teams: Sequence[TeamSpec]
    """The Spark teams with S3 locations (:func:`s3_teams`)."""
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster."""
    cluster_arn: pulumi.Input[str]
    """ARN of the EKS cluster, for the trust policy's condition."""
    history: dict[str, str] = field(default_factory=dict)
    """Teams with a history server, by name, with the S3 directory of their event logs."""
    event_logs: dict[str, str] = field(default_factory=dict)
    """Teams whose drivers write event logs to S3, by name, with that directory (:func:`event_log_dirs`)."""


class SparkS3Access(pulumi.ComponentResource):
    """A Pod Identity role per Spark team with S3 locations, associated with its Spark accounts."""

    roles: dict[str, aws.iam.Role]
    """The roles by team name."""

    def __init__(self, name: str, args: SparkS3AccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:SparkS3Access", name, None, opts)
        stack = args.stack
        self.roles = {}
        for team in args.teams:
            created = role(f"{name}-{team.name}", RoleArgs(
                description=f"Spark jobs of team {team.name}: its S3 locations",
                trust_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                    lambda arn, ns=team.name: spark_trust_policy(arn, ns)),
                inline_policy=s3_policy(team, stack.partition),
                tags=stack.tagged(**{"kubegrid:team": team.name})), self)
            self.roles[team.name] = created.role
            for account in SPARK_ACCOUNTS:
                aws.eks.PodIdentityAssociation(
                    f"{name}-{team.name}-{account}", cluster_name=args.cluster_name, namespace=team.name,
                    service_account=account, role_arn=created.role.arn, tags=stack.tagged(**{"kubegrid:team": team.name}),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=created.grants))
        for team, directory in args.event_logs.items():
            # Spark refuses an event-log directory that does not exist, and an S3 prefix exists only
            # once an object is under it: the marker makes it exist before the team's first job.
            bucket, _, key = directory.removeprefix("s3a://").partition("/")
            aws.s3.BucketObjectv2(f"{name}-{team}-event-logs", bucket=bucket, key=key, content="",
                                  tags=stack.tagged(**{"kubegrid:team": team}),
                                  opts=pulumi.ResourceOptions(parent=self))
        for team, directory in args.history.items():
            reader = role(f"{name}-{team}-history", RoleArgs(
                description=f"Spark history server of team {team}: reads its event logs",
                trust_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                    lambda arn, ns=team: pod_identity_trust_policy(arn, ns, HISTORY_SERVER)),
                inline_policy=event_log_policy(directory, stack.partition),
                tags=stack.tagged(**{"kubegrid:team": team})), self)
            aws.eks.PodIdentityAssociation(
                f"{name}-{team}-{HISTORY_SERVER}", cluster_name=args.cluster_name, namespace=team,
                service_account=HISTORY_SERVER, role_arn=reader.role.arn, tags=stack.tagged(**{"kubegrid:team": team}),
                opts=pulumi.ResourceOptions(parent=self, depends_on=reader.grants))
        self.register_outputs({"roleArns": {team: r.arn for team, r in self.roles.items()}})
