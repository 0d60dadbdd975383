"""An emulated AWS account for the preflight tests: moto in-process, plus botocore's Stubber
for the calls moto does not emulate.

moto (5.2) emulates STS, IAM, S3 and EC2 (zones, VPCs, addresses, NAT gateways, and
instance type offerings from a data table per region, which :func:`offer` replaces).
Service Quotas it knows only for service code ``vpc``, and EKS's DescribeClusterVersions
not at all: those two clients are botocore Stubbers, answered in the order preflight asks
(:func:`components.offline.preflight.quotas_to_read`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterable, Optional

import boto3
from botocore.stub import Stubber
from moto.ec2.models import instance_types as moto_instance_types

from components.config import StackSpec, load_spec, read_stack_file
from components.offline.preflight import quotas_to_read

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "314159265358"
"""The emulated account (not one of the documentation accounts preflight refuses)."""
OFFICE = "100.20.30.0/24"
"""Stands in for the documentation range of dev's publicAccessCidrs."""
AMPLE = 100000.0


def stack_config(name: str) -> dict[str, Any]:
    return read_stack_file(ROOT / "stacks" / f"Pulumi.{name}.yaml")


def real_values(config: dict[str, Any], first_run: bool = True) -> dict[str, Any]:
    """The stack file with the documentation account and address range replaced by the emulated ones.

    ``first_run``: a private stack whose VPC the run creates opens its public endpoint to the
    deployer's network for that run, as docs/aws.md says (nothing routes to a VPC before it exists).
    """
    text = json.dumps(config).replace("111122223333", ACCOUNT).replace("203.0.113.0/24", OFFICE)
    config = json.loads(text)
    cluster = config["kubegrid:cluster"]
    if first_run and cluster.get("mode") == "eks" and not cluster.get("publicEndpoint") and not cluster.get("vpcId"):
        cluster.update(publicEndpoint=True, publicAccessCidrs=[OFFICE])
    return config


def spec_of(config: dict[str, Any], name: str) -> StackSpec:
    return load_spec(copy.deepcopy(config), name)


def real_spec(name: str) -> StackSpec:
    return spec_of(real_values(stack_config(name)), name)


def plain_env(monkeypatch, **extra: str) -> None:
    """An environment with nothing of the developer's AWS setup, and no way to instance metadata."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def admin_session(role: str = "platform-admin", path: str = "/") -> boto3.Session:
    """A session that assumed ``role`` (created if missing), as `aws sso login` or a CI role gives."""
    iam = boto3.client("iam", region_name=REGION)
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    creds = boto3.client("sts", region_name=REGION).assume_role(RoleArn=arn, RoleSessionName="preflight")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)


def user_session(name: str, deny: Iterable[str] = ()) -> boto3.Session:
    """A session of IAM user ``name``, allowed everything except the ``deny`` actions."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    if deny:
        statements.append({"Effect": "Deny", "Action": list(deny), "Resource": "*"})
    iam.put_user_policy(UserName=name, PolicyName="preflight",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         region_name=REGION)


def arrange_account(spec: StackSpec, skip: Iterable[str] = ()) -> None:
    """Creates every IAM role and user the stack names, and every team bucket, except those in ``skip``."""
    skip = set(skip)
    iam, s3 = boto3.client("iam", region_name=REGION), boto3.client("s3", region_name=REGION)
    principals = {*spec.cluster.admin_principals,
                  *(arn for team in spec.teams for arn in (*team.admins, *team.editors, *team.viewers))}
    for arn in sorted(principals - skip):
        kind, _, name = arn.split(":", 5)[5].partition("/")
        if kind == "role":
            try:
                iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
            except iam.exceptions.EntityAlreadyExistsException:
                pass
        else:
            iam.create_user(UserName=name)
    buckets = {loc.removeprefix("s3://").split("/")[0] for team in spec.teams for loc in team.s3_access}
    for bucket in sorted(buckets - skip):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for image in sorted({team.spark_image for team in spec.teams if team.spark_image} - skip):
        push_image(image)


def push_image(image: str) -> None:
    """An ECR repository holding ``image`` (``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG``)."""
    repository, _, tag = image.split("/", 1)[1].partition(":")
    ecr = boto3.client("ecr", region_name=REGION)
    try:
        ecr.create_repository(repositoryName=repository)
    except ecr.exceptions.RepositoryAlreadyExistsException:
        pass
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                           "digest": "sha256:" + "0" * 64}, "layers": []}
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def offer(monkeypatch, offerings: dict[str, Iterable[str]], region: str = REGION) -> None:
    """Replaces moto's table of instance type offerings by zone for ``region``: type -> zones."""
    table = [{"InstanceType": t, "Location": z, "LocationType": "availability-zone"}
             for t, zones in offerings.items() for z in zones]
    by_region = dict(moto_instance_types.INSTANCE_TYPE_OFFERINGS["availability-zone"], **{region: table})
    monkeypatch.setitem(moto_instance_types.INSTANCE_TYPE_OFFERINGS, "availability-zone", by_region)


def offer_everywhere(monkeypatch, spec: StackSpec, zones: Iterable[str] = ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
                     missing: Optional[dict[str, Iterable[str]]] = None) -> None:
    """Every instance type of the stack offered in every zone, except ``missing``: type -> zones."""
    missing = {t: set(z) for t, z in (missing or {}).items()}
    types = sorted({t for pool in spec.node_pools for t in pool.instance_types})
    offer(monkeypatch, {t: [z for z in zones if z not in missing.get(t, ())] for t in types})


class StubbedSession:
    """A boto3 Session whose clients for some services are given (Stubbers); the rest are the real session's."""

    def __init__(self, session: boto3.Session, **clients: Any):
        self._session, self._clients = session, {name.replace("_", "-"): c for name, c in clients.items()}
        self.region_name = session.region_name

    def client(self, service: str, **kwargs: Any) -> Any:
        return self._clients.get(service) or self._session.client(service, **kwargs)


def stubbed(client: Any) -> Stubber:
    stubber = Stubber(client)
    stubber.activate()
    return stubber


def quota_client(spec: StackSpec, values: Optional[dict[str, float]] = None, errors: Optional[dict[str, str]] = None):
    """A Service Quotas client answering GetServiceQuota for the stack's quotas, in preflight's order:
    ``values[code]`` (default: ample), or the error code ``errors[code]``."""
    values, errors = values or {}, errors or {}
    client = boto3.client("service-quotas", region_name=REGION, aws_access_key_id="stub", aws_secret_access_key="stub")
    stubber = stubbed(client)
    for quota in quotas_to_read(spec):
        params = {"ServiceCode": quota.service, "QuotaCode": quota.code}
        if quota.code in errors:
            stubber.add_client_error("get_service_quota", errors[quota.code], f"{errors[quota.code]} (stubbed)",
                                     expected_params=params)
        else:
            stubber.add_response("get_service_quota", {"Quota": {**params, "QuotaName": quota.name,
                                                                 "Value": values.get(quota.code, AMPLE)}}, params)
    return client, stubber


def eks_client(version: str, status: Optional[str] = "STANDARD_SUPPORT", offered: Iterable[str] = ("1.32", "1.33", "1.34")):
    """An EKS client answering DescribeClusterVersions: ``version`` with ``status``, or (None) not offered."""
    client = boto3.client("eks", region_name=REGION, aws_access_key_id="stub", aws_secret_access_key="stub")
    stubber = stubbed(client)
    found = [{"clusterVersion": version, "versionStatus": status}] if status else []
    stubber.add_response("describe_cluster_versions", {"clusterVersions": found}, {"clusterVersions": [version]})
    if status in (None, "UNSUPPORTED"):
        stubber.add_response("describe_cluster_versions",
                             {"clusterVersions": [{"clusterVersion": v, "versionStatus": "STANDARD_SUPPORT"} for v in offered]}, {})
    return client, stubber


def session_for(spec: StackSpec, session: Optional[boto3.Session] = None, quotas: Optional[dict[str, float]] = None,
                quota_errors: Optional[dict[str, str]] = None, eks_status: Optional[str] = "STANDARD_SUPPORT"):
    """The emulated account's session (default: an assumed platform-admin role) with stubbed
    Service Quotas and EKS clients; returns the session and both stubbers."""
    quota, quota_stub = quota_client(spec, quotas, quota_errors)
    eks, eks_stub = eks_client(spec.cluster.kubernetes_version, eks_status)
    return StubbedSession(session or admin_session(), service_quotas=quota, eks=eks), quota_stub, eks_stub


def by_check(report, check: str, status: Optional[str] = None) -> list:
    return [f for f in report.findings if f.check == check and (status is None or f.status == status)]


def aws_cli(_: str) -> str:
    return "/usr/local/bin/aws"
