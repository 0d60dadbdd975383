"""`kubegrid preflight STACK`: read-only AWS calls that find what would make a first `pulumi up` fail.

Each check is one small function below, run in order; each result is a
:class:`Finding` with the config key it concerns, the numbers, and the fix.
Credentials are the AWS SDK's usual ones (environment, ``AWS_PROFILE``,
shared config and SSO, ``AWS_ENDPOINT_URL``) through a ``boto3.Session``.
A call that is not permitted (AccessDenied, UnauthorizedOperation) or not
answered (no credentials, endpoint unreachable) makes its check "could not
check" with the reason; it never raises. Only when the caller itself cannot
be resolved is that a finding, and then no other AWS call is made.

A stack in mode ``existing`` (kind, minikube, any cluster) creates nothing in
AWS: preflight says so and exits 0. The documentation-only values of
:mod:`.example_values` are refused here (`kubegrid check` can warn about them offline).

Exit codes, as the other commands: 0 no finding, 1 findings. A check that
could not run is shown, and listed in the JSON, but does not fail the run.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Any, Optional

from ..config import CapacityType, NatGateways, StackSpec
from ..config.instance_types import SHAPES, InstanceShape
from ..config.spec import IAM_ARN, same_principal

from .example_values import ECR_IMAGE, example_values, principal_keys

if TYPE_CHECKING:  # boto3 is imported only when preflight runs
    import boto3

OK, FINDING, COULD_NOT_CHECK, INFO = "ok", "finding", "could-not-check", "info"


@dataclass(frozen=True)
class Finding:
    """One result line."""

    check: str
    """Short id of the check, such as ``vcpu-quota``."""
    status: str
    """``ok``, ``finding``, ``could-not-check`` or ``info``."""
    message: str
    """What was found, with the numbers and the fix."""
    key: Optional[str] = None
    """Config key path it concerns, such as ``kubegrid:nodePools[2].maxSize``."""


@dataclass
class PreflightReport:
    stack: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No finding (checks that could not run do not count)."""
        return not any(f.status == FINDING for f in self.findings)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "ok": self.ok,
                "counts": {s: self.count(s) for s in (OK, FINDING, COULD_NOT_CHECK, INFO)},
                "findings": [asdict(f) for f in self.findings]}


# --- Service quotas --------------------------------------------------------------------------

@dataclass(frozen=True)
class Quota:
    """A Service Quotas quota: ``service-quotas get-service-quota --service-code ... --quota-code ...``."""

    service: str
    code: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({self.service} {self.code})"


# vCPU quotas of running instances, by instance class and capacity type. Source: Amazon EC2
# documentation, "Amazon EC2 instance type quotas" (On-Demand Instance quotas and Spot Instance
# quotas tables; https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html).
# On-Demand P5 instances count against "Running On-Demand P instances"; Spot P5 has its own quota.
VCPU_QUOTAS: dict[tuple[str, CapacityType], Quota] = {
    ("standard", CapacityType.ON_DEMAND): Quota("ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    ("standard", CapacityType.SPOT): Quota("ec2", "L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
    ("g", CapacityType.ON_DEMAND): Quota("ec2", "L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("g", CapacityType.SPOT): Quota("ec2", "L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("p", CapacityType.ON_DEMAND): Quota("ec2", "L-417A185B", "Running On-Demand P instances"),
    ("p", CapacityType.SPOT): Quota("ec2", "L-7212CCBC", "All P4, P3 and P2 Spot Instance Requests"),
    ("p5", CapacityType.ON_DEMAND): Quota("ec2", "L-417A185B", "Running On-Demand P instances"),
    ("p5", CapacityType.SPOT): Quota("ec2", "L-C4BD4855", "All P5 Spot Instance Requests"),
}
# Network quotas. Sources: Amazon VPC User Guide, "Amazon VPC quotas" (VPCs per Region; NAT
# gateways per Availability Zone; https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html)
# and Amazon EC2 User Guide, "Elastic IP address quota" (EC2-VPC Elastic IPs, service code ec2).
VPCS = Quota("vpc", "L-F678F1CE", "VPCs per Region")
ELASTIC_IPS = Quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs")
NAT_GATEWAYS_PER_ZONE = Quota("vpc", "L-FE5A380F", "NAT gateways per Availability Zone")

_STANDARD_LETTERS = set("acdhimrtz")


def quota_class(instance_type: str) -> Optional[str]:
    """The vCPU quota class of an instance type (``standard``, ``g``, ``p``, ``p5``), or None."""
    family = instance_type.split(".")[0]
    letters = re.match(r"[a-z]*", family).group()
    if letters in _STANDARD_LETTERS:
        return "standard"
    if letters in ("g", "vt"):
        return "g"
    if letters == "p":
        return "p5" if family.startswith("p5") else "p"
    return None


@dataclass(frozen=True)
class VcpuDemand:
    """The vCPUs the pools would run, at their maximum size, against one quota."""

    quota: Quota
    vcpus: int
    pools: tuple[tuple[int, str, int], ...]
    """(pool index, "name: maxSize x vCPUs (type)", vCPUs) of each pool counted."""


def vcpu_demands(spec: StackSpec) -> list[VcpuDemand]:
    """vCPUs per quota: each pool's largest type of that quota's class times its maxSize, summed."""
    parts: dict[Quota, list[tuple[int, str, int]]] = {}
    for i, pool in enumerate(spec.node_pools):
        by_class: dict[str, InstanceShape] = {}
        for name in pool.instance_types:
            cls, shape = quota_class(name), SHAPES.get(name)
            if cls and shape and (cls not in by_class or shape.vcpu > by_class[cls].vcpu):
                by_class[cls] = shape
        for cls, shape in by_class.items():
            vcpus = pool.max_size * shape.vcpu
            text = f"{pool.name}: {pool.max_size} nodes x {shape.vcpu} vCPUs ({shape.name})"
            parts.setdefault(VCPU_QUOTAS[cls, pool.capacity_type], []).append((i, text, vcpus))
    return [VcpuDemand(q, sum(v for _, _, v in p), tuple(p)) for q, p in parts.items()]


def quotas_to_read(spec: StackSpec) -> list[Quota]:
    """Every quota preflight reads, in the order it reads them: the network's, then the vCPU quotas."""
    network = [] if spec.cluster.vpc_id else [VPCS, ELASTIC_IPS, NAT_GATEWAYS_PER_ZONE]
    return list(dict.fromkeys(network + [d.quota for d in vcpu_demands(spec)]))


# --- Calling AWS -----------------------------------------------------------------------------

class Unanswered(Exception):
    """A call that was not permitted or not answered; the text says which and why."""

    def __init__(self, reason: str, code: str = ""):
        super().__init__(reason)
        self.code = code


class Aws:
    """Clients of one session and region; every error becomes :class:`Unanswered`."""

    def __init__(self, session: "boto3.Session", region: str):
        self._session, self.region = session, region
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20)
            with _Guard(service, "(creating a client)"):
                self._clients[service] = self._session.client(service, region_name=self.region, config=config)
        return self._clients[service]

    def __call__(self, service: str, operation: str, missing: tuple[str, ...] = (), **params: Any) -> Any:
        """``client.operation(**params)``; None when the error code is one of ``missing``."""
        with _Guard(service, operation, missing):
            return getattr(self.client(service), operation)(**params)
        return None

    def items(self, service: str, operation: str, key: str, **params: Any) -> list[Any]:
        """Every item under ``key`` across all pages."""
        with _Guard(service, operation):
            pages = self.client(service).get_paginator(operation).paginate(**params)
            return [item for page in pages for item in page.get(key, [])]


class _Guard:
    """Turns botocore's errors into :class:`Unanswered` (or no answer, for an expected ``missing`` code)."""

    def __init__(self, service: str, operation: str, missing: tuple[str, ...] = ()):
        self.service, self.operation, self.missing = service, operation, missing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            return False
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if isinstance(error, ClientError):
            info = error.response.get("Error", {})
            code = str(info.get("Code", ""))
            if code in self.missing:
                return True
            parts = (f"{self.service} {error.operation_name}", code, str(info.get("Message") or ""))
            raise Unanswered(": ".join(p for p in parts if p), code) from error
        if isinstance(error, NoCredentialsError):
            raise Unanswered("no AWS credentials found: set AWS_PROFILE (and run `aws sso login` for an SSO profile), "
                             "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from error
        if isinstance(error, BotoCoreError):
            raise Unanswered(f"{self.service} {self.operation}: {error}") from error
        if isinstance(error, Exception):  # an SDK or endpoint failure of another kind: still an answer-less call
            raise Unanswered(f"{self.service} {self.operation}: {type(error).__name__}: {error}") from error
        return False


# --- The checks ------------------------------------------------------------------------------

@dataclass
class Context:
    """What the checks share: the spec, AWS, and what earlier checks learned."""

    spec: StackSpec
    aws: Aws
    which: Callable[[str], Optional[str]]
    account: Optional[str] = None
    stopped: Optional[str] = None
    """Why no further AWS call is made (the caller could not be resolved)."""
    zones: list[str] = field(default_factory=list)
    """The zones the pools span: cluster.zones, or those of the existing private subnets."""
    quotas: dict[str, Any] = field(default_factory=dict)
    """Quota code -> value, or the :class:`Unanswered` that reading it raised."""

    def quota(self, quota: Quota) -> float:
        """A quota's value in the region; the first call reads every quota the stack needs."""
        if not self.quotas:
            _read_quotas(self)
        value = self.quotas.get(quota.code)
        if isinstance(value, Unanswered):
            raise value
        if value is None:
            raise Unanswered(f"{quota} was not read")
        return value


class Out:
    """Adds one check's results to the report."""

    def __init__(self, check: str, findings: list[Finding]):
        self.check, self._findings = check, findings

    def add(self, status: str, message: str, key: Optional[str] = None) -> None:
        self._findings.append(Finding(self.check, status, message, key))

    def ok(self, message: str, key: Optional[str] = None) -> None:
        self.add(OK, message, key)

    def finding(self, message: str, key: Optional[str] = None) -> None:
        self.add(FINDING, message, key)

    def unchecked(self, reason: str, key: Optional[str] = None) -> None:
        self.add(COULD_NOT_CHECK, reason, key)

    def info(self, message: str, key: Optional[str] = None) -> None:
        self.add(INFO, message, key)


Check = Callable[[Context, Out], None]
AWS_CHECKS: list[tuple[str, Check]] = []
LOCAL_CHECKS: list[tuple[str, Check]] = []


def check(name: str, local: bool = False) -> Callable[[Check], Check]:
    """Registers a check under its id; checks run in the order they are defined."""

    def register(fn: Check) -> Check:
        (LOCAL_CHECKS if local else AWS_CHECKS).append((name, fn))
        return fn

    return register


def _name(arn: str) -> str:
    """The last part of a role or user ARN (its name, without the path)."""
    return arn.rsplit("/", 1)[-1]


def _iam_principal(ctx: Context, arn: str) -> tuple[Optional[str], str]:
    """The IAM role or user ARN behind the caller's ARN, and a note; None if it is neither."""
    match = IAM_ARN.fullmatch(arn)
    if match is None:
        return None, ""
    resource = match["resource"]
    if match["service"] == "iam" and resource.startswith("user/"):
        return arn, ""
    if match["service"] == "sts" and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        try:
            found = ctx.aws("iam", "get_role", RoleName=role)
        except Unanswered as error:
            return (f"arn:{match['partition']}:iam::{match['account']}:role/{role}",
                    f" (the role's path could not be read: {error})")
        return found["Role"]["Arn"], ""
    return None, ""


@check("identity")
def check_identity(ctx: Context, out: Out) -> None:
    """Who the caller is, and whether it will be a cluster admin."""
    try:
        who = ctx.aws("sts", "get_caller_identity")
    except Unanswered as error:
        ctx.stopped = str(error)
        out.finding(f"could not resolve the caller: {error}. Fix: make AWS credentials for the target account "
                    "available to the AWS SDK, then run preflight again")
        return
    ctx.account = who["Account"]
    principal, note = _iam_principal(ctx, who["Arn"])
    if principal is None:
        out.finding(f"the caller {who['Arn']} is not an IAM role or user (an account root user or a federated "
                    "user), so it cannot get an EKS access entry. Fix: run preflight and `pulumi up` as an IAM "
                    "role or user, listed in cluster.adminPrincipals", "kubegrid:cluster.adminPrincipals")
        return
    admins = ctx.spec.cluster.admin_principals
    at = next((i for i, arn in enumerate(admins) if same_principal(arn, principal)), None)
    if at is not None:
        out.info(f"caller {principal} (account {ctx.account}){note} is a cluster admin: it is listed in "
                 "cluster.adminPrincipals", f"kubegrid:cluster.adminPrincipals[{at}]")
    else:
        out.info(f"caller {principal} (account {ctx.account}){note} is not in cluster.adminPrincipals; "
                 "`pulumi up` makes the identity that runs it a cluster admin through its own access entry",
                 "kubegrid:cluster.adminPrincipals")


@check("principals")
def check_principals(ctx: Context, out: Out) -> None:
    """Every admin and team principal exists (IAM reads only the caller's own account)."""
    seen: set[str] = set()
    for key, arn in principal_keys(ctx.spec):
        if arn in seen:
            continue
        seen.add(arn)
        match = IAM_ARN.fullmatch(arn)
        kind = match["resource"].split("/")[0] if match else ""
        if kind not in ("role", "user"):
            out.unchecked(f"{arn} is not an IAM role or user ARN", key)
        elif match["account"] != ctx.account:
            out.unchecked(f"{arn} is in account {match['account']}, the caller in {ctx.account}; IAM reads only "
                          "the caller's own account: check it there, or run preflight with that account's credentials", key)
        else:
            _check_principal(ctx, out, key, arn, kind)


def _check_principal(ctx: Context, out: Out, key: str, arn: str, kind: str) -> None:
    operation, param, answer = ("get_role", "RoleName", "Role") if kind == "role" else ("get_user", "UserName", "User")
    try:
        found = ctx.aws("iam", operation, missing=("NoSuchEntity",), **{param: _name(arn)})
    except Unanswered as error:
        out.unchecked(f"{arn}: {error}", key)
        return
    if found is None:
        out.finding(f"IAM {kind} {_name(arn)!r} does not exist in account {ctx.account}, so its access entry "
                    f"cannot be created. Fix: create the {kind}, or correct the ARN", key)
    elif found[answer]["Arn"] != arn:
        out.finding(f"IAM {kind} {_name(arn)!r} exists as {found[answer]['Arn']}, not {arn}. Fix: use that ARN", key)
    else:
        out.ok(f"IAM {kind} {arn} exists", key)


@check("s3-buckets")
def check_buckets(ctx: Context, out: Out) -> None:
    """Every team's S3 location is in a bucket that exists."""
    seen: set[str] = set()
    for t, team in enumerate(ctx.spec.teams):
        for i, location in enumerate(team.s3_access):
            bucket = location.removeprefix("s3://").split("/", 1)[0]
            key = f"kubegrid:teams[{t}].s3Access[{i}]"
            if bucket in seen:
                continue
            seen.add(bucket)
            try:
                found = ctx.aws("s3", "head_bucket", missing=("404", "NoSuchBucket", "NotFound"), Bucket=bucket)
            except Unanswered as error:
                hint = "; the bucket exists, but the caller may not read it (or another account owns it)" \
                    if error.code in ("403", "AccessDenied") else ""
                out.unchecked(f"s3://{bucket}: {error}{hint}", key)
                continue
            if found is None:
                out.finding(f"S3 bucket {bucket!r} does not exist, so team {team.name!r}'s Spark jobs could not "
                            f"use {location}. Fix: create the bucket (in {ctx.aws.region}), or correct the location", key)
            else:
                out.ok(f"S3 bucket {bucket!r} exists", key)


@check("spark-images")
def check_spark_images(ctx: Context, out: Out) -> None:
    """Every team's own Spark image (the S3A image of teams with S3) is pushed, when it is in ECR."""
    for t, team in enumerate(ctx.spec.teams):
        if not team.spark_image:
            continue
        key = f"kubegrid:teams[{t}].sparkImage"
        image = ECR_IMAGE.match(team.spark_image)
        if image is None:
            out.unchecked(f"{team.spark_image} is not in ECR: preflight cannot see whether it is pushed; the "
                          "nodes must be able to pull it", key)
            continue
        if image["account"] != ctx.account or image["region"] != ctx.aws.region:
            out.unchecked(f"{team.spark_image} is in account {image['account']}, region {image['region']}, not the "
                          f"stack's ({ctx.account}, {ctx.aws.region}): its repository policy must let the nodes pull", key)
            continue
        wanted = {"imageTag": image["tag"]} if image["tag"] else {"imageDigest": image["digest"]}
        found = ctx.aws("ecr", "describe_images", missing=("RepositoryNotFoundException", "ImageNotFoundException"),
                        registryId=image["account"], repositoryName=image["repository"], imageIds=[wanted])
        if found is None:
            out.finding(f"{team.spark_image} is not in ECR, so team {team.name!r}'s Spark pods could not start. "
                        "Fix: build images/spark/Dockerfile and push it there (docs/spark.md)", key)
        else:
            out.ok(f"{team.spark_image} is pushed", key)


@check("zones")
def check_zones(ctx: Context, out: Out) -> None:
    """The zones exist in the region; with an existing VPC, the zones of its private subnets."""
    c = ctx.spec.cluster
    if c.vpc_id:
        _existing_subnet_zones(ctx, out)
        return
    zones = {z["ZoneName"]: z.get("State") for z in
             ctx.aws("ec2", "describe_availability_zones")["AvailabilityZones"]}
    available = sorted(z for z, state in zones.items() if state == "available")
    for i, zone in enumerate(c.zones):
        if zones.get(zone) == "available":
            ctx.zones.append(zone)
        else:
            what = "is not available" if zone in zones else "does not exist"
            out.finding(f"zone {zone} {what} in {ctx.aws.region} for this account (available: {', '.join(available)}). "
                        "Fix: pick zones from that list", f"kubegrid:cluster.zones[{i}]")
    if len(ctx.zones) == len(c.zones):
        out.ok(f"zones {', '.join(c.zones)} exist in {ctx.aws.region}", "kubegrid:cluster.zones")


def _existing_subnet_zones(ctx: Context, out: Out) -> None:
    c = ctx.spec.cluster
    key = "kubegrid:cluster.privateSubnetIds"
    try:
        subnets = ctx.aws("ec2", "describe_subnets", SubnetIds=list(c.private_subnet_ids))["Subnets"]
    except Unanswered as error:
        if error.code != "InvalidSubnetID.NotFound":
            raise
        out.finding(f"{error}. Fix: list private subnets of VPC {c.vpc_id} in {ctx.aws.region}", key)
        return
    other = [s["SubnetId"] for s in subnets if s["VpcId"] != c.vpc_id]
    if other:
        out.finding(f"subnets {', '.join(other)} are not in cluster.vpcId {c.vpc_id}. Fix: list that VPC's private subnets", key)
    ctx.zones = list(dict.fromkeys(s["AvailabilityZone"] for s in sorted(
        subnets, key=lambda s: c.private_subnet_ids.index(s["SubnetId"]))))
    out.ok(f"the existing private subnets are in zones {', '.join(ctx.zones)}", key)


PRIVATE_ROUTE_TARGETS = ("TransitGatewayId", "VpcPeeringConnectionId", "CoreNetworkArn")
"""Route targets that carry traffic back to a private network; a virtual private gateway (VPN,
Direct Connect) shows as a GatewayId starting with vgw-."""


def _routes_back(route: dict[str, Any]) -> bool:
    return any(route.get(k) for k in PRIVATE_ROUTE_TARGETS) or str(route.get("GatewayId", "")).startswith("vgw-")


@check("endpoint")
def check_endpoint(ctx: Context, out: Out) -> None:
    """`pulumi up` can reach the API endpoint: the public one from its CIDRs, or the private
    one from a network the VPC routes back to."""
    c = ctx.spec.cluster
    if c.public_endpoint:
        out.info(f"the API endpoint is public for {', '.join(c.public_access_cidrs)}: run `pulumi up` from one of "
                 "these networks", "kubegrid:cluster.publicAccessCidrs")
        return
    filters = ([{"Name": "vpc-id", "Values": [c.vpc_id]}] if c.vpc_id else
               [{"Name": "tag:kubegrid:stack", "Values": [ctx.spec.stack]}])
    vpcs = ctx.aws("ec2", "describe_vpcs", Filters=filters)["Vpcs"]
    if not vpcs:
        out.finding("the API endpoint is private and the stack's VPC does not exist yet, so nothing routes to it "
                    "from where `pulumi up` runs: the first run would create the cluster and then fail to reach it. "
                    "Fix: for the first run set publicEndpoint: true with publicAccessCidrs of this network (close it "
                    "once the VPC is connected), or deploy into an existing VPC your network reaches (vpcId)",
                    "kubegrid:cluster.privateRoute")
        return
    vpc = vpcs[0]["VpcId"]
    tables = ctx.aws.items("ec2", "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    routed = [r["DestinationCidrBlock"] for table in tables for r in table.get("Routes", [])
              if r.get("DestinationCidrBlock") and _routes_back(r)]
    for i, cidr in enumerate(c.private_access_cidrs):
        network = ipaddress.ip_network(cidr)
        if not any(network.subnet_of(ipaddress.ip_network(dest)) for dest in routed):
            out.finding(f"VPC {vpc} has no route to {cidr} through a transit gateway, VPN gateway or peering, so the "
                        "private endpoint cannot answer `pulumi up` from there. Fix: route that network to the VPC, or "
                        "use the public endpoint with publicAccessCidrs", f"kubegrid:cluster.privateAccessCidrs[{i}]")
            return
    out.ok(f"VPC {vpc} routes back to {', '.join(c.private_access_cidrs)}", "kubegrid:cluster.privateAccessCidrs")


@check("instance-types")
def check_instance_offerings(ctx: Context, out: Out) -> None:
    """Every pool's instance types are offered in every zone the pools span."""
    if not ctx.zones or not ctx.spec.node_pools:
        return
    types = sorted({t for pool in ctx.spec.node_pools for t in pool.instance_types})
    offers = ctx.aws.items("ec2", "describe_instance_type_offerings", "InstanceTypeOfferings",
                           LocationType="availability-zone",
                           Filters=[{"Name": "instance-type", "Values": types}, {"Name": "location", "Values": ctx.zones}])
    offered = {(o["InstanceType"], o["Location"]) for o in offers}
    missing_any = False
    for p, pool in enumerate(ctx.spec.node_pools):
        for i, name in enumerate(pool.instance_types):
            missing = [z for z in ctx.zones if (name, z) not in offered]
            if missing:
                missing_any = True
                has = [z for z in ctx.zones if z not in missing]
                out.finding(f"pool {pool.name!r}: {name} is not offered in {', '.join(missing)} "
                            f"(offered in {', '.join(has) or 'none'} of the stack's zones), and the pool's nodes span "
                            f"every zone. Fix: choose a type offered in all of {', '.join(ctx.zones)}, or other zones",
                            f"kubegrid:nodePools[{p}].instanceTypes[{i}]")
    if not missing_any:
        out.ok(f"{', '.join(types)} are offered in {', '.join(ctx.zones)}", "kubegrid:nodePools")


def _read_quotas(ctx: Context) -> None:
    """Reads every quota the stack needs, in the order of :func:`quotas_to_read`."""
    for quota in quotas_to_read(ctx.spec):
        try:
            answer = ctx.aws("service-quotas", "get_service_quota", missing=("NoSuchResourceException",),
                             ServiceCode=quota.service, QuotaCode=quota.code)
            if answer is None:  # never changed from the default in this account
                answer = ctx.aws("service-quotas", "get_aws_default_service_quota",
                                 ServiceCode=quota.service, QuotaCode=quota.code)
            ctx.quotas[quota.code] = answer["Quota"]["Value"]
        except Unanswered as error:
            ctx.quotas[quota.code] = error


def _compare(ctx: Context, out: Out, quota: Quota, count: Callable[[], int], adding: int, key: str, fix: str,
             scope: str = "") -> None:
    """One network quota against what exists plus what the stack adds."""
    try:
        used, limit = count(), ctx.quota(quota)
    except Unanswered as error:
        out.unchecked(f"{quota} in {scope or ctx.aws.region}: {error}", key)
        return
    need = used + adding
    numbers = f"{quota} in {scope or ctx.aws.region} is {limit:g}; {used} exist and the stack adds {adding}"
    if need > limit:
        out.finding(f"{numbers}: {need} > {limit:g}. Fix: {fix}, or request at least {need} in Service Quotas", key)
    else:
        out.ok(f"{numbers} ({need} of {limit:g})", key)


@check("network-quota")
def check_network_quotas(ctx: Context, out: Out) -> None:
    """VPC, Elastic IP and NAT gateway quotas cover the network the stack creates, counting what exists."""
    c = ctx.spec.cluster
    if c.vpc_id:
        out.info(f"the stack uses the existing VPC {c.vpc_id}: it creates no VPC, NAT gateway or Elastic IP",
                 "kubegrid:cluster.vpcId")
        return
    nat_zones = list(c.zones) if c.nat_gateways is NatGateways.PER_ZONE else list(c.zones[:1])
    _compare(ctx, out, VPCS, lambda: len(ctx.aws.items("ec2", "describe_vpcs", "Vpcs")), 1,
             "kubegrid:cluster.vpcId", "delete unused VPCs, or use an existing VPC (cluster.vpcId)")
    _compare(ctx, out, ELASTIC_IPS, lambda: len(ctx.aws("ec2", "describe_addresses")["Addresses"]), len(nat_zones),
             "kubegrid:cluster.natGateways", "release unused Elastic IPs, or use natGateways: single")
    try:
        per_zone = _nat_gateways_per_zone(ctx)
    except Unanswered as error:
        out.unchecked(f"{NAT_GATEWAYS_PER_ZONE}: {error}", "kubegrid:cluster.natGateways")
        return
    for zone in nat_zones:
        _compare(ctx, out, NAT_GATEWAYS_PER_ZONE, lambda: per_zone.get(zone, 0), 1, "kubegrid:cluster.natGateways",
                 "delete unused NAT gateways in that zone", zone)


def _nat_gateways_per_zone(ctx: Context) -> dict[str, int]:
    gateways = ctx.aws.items("ec2", "describe_nat_gateways", "NatGateways",
                             Filter=[{"Name": "state", "Values": ["pending", "available"]}])
    subnet_ids = sorted({g["SubnetId"] for g in gateways})
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in
               ctx.aws("ec2", "describe_subnets", SubnetIds=subnet_ids)["Subnets"]} if subnet_ids else {}
    counts: dict[str, int] = {}
    for g in gateways:
        zone = zone_of.get(g["SubnetId"], "")
        counts[zone] = counts.get(zone, 0) + 1
    return counts


@check("vcpu-quota")
def check_vcpu_quotas(ctx: Context, out: Out) -> None:
    """EC2 vCPU quotas cover every pool at its maximum size, summed per quota."""
    for p, pool in enumerate(ctx.spec.node_pools):
        for i, name in enumerate(pool.instance_types):
            if quota_class(name) is None or name not in SHAPES:
                out.unchecked(f"pool {pool.name!r}: no vCPU quota is known for {name}",
                              f"kubegrid:nodePools[{p}].instanceTypes[{i}]")
    for demand in vcpu_demands(ctx.spec):
        biggest = max(demand.pools, key=lambda part: part[2])[0]
        key = f"kubegrid:nodePools[{biggest}].maxSize"
        try:
            limit = ctx.quota(demand.quota)
        except Unanswered as error:
            out.unchecked(f"{demand.quota}: {error}", key)
            continue
        pools = "; ".join(text for _, text, _ in demand.pools)
        if demand.vcpus > limit:
            out.finding(f"{demand.quota} in {ctx.aws.region} is {limit:g} vCPUs; the pools need {demand.vcpus} at their "
                        f"maximum size ({pools}). Fix: request at least {demand.vcpus} vCPUs for {demand.quota.code} in "
                        "Service Quotas (instances already running in the region count against it too), or lower maxSize", key)
        else:
            out.ok(f"{demand.quota}: {demand.vcpus} of {limit:g} vCPUs at maximum size ({pools})", key)


@check("kubernetes-version")
def check_kubernetes_version(ctx: Context, out: Out) -> None:
    """EKS offers the Kubernetes version in the region.

    eks DescribeClusterVersions (in the botocore we pin) answers exactly that, with the version's
    support status; DescribeAddonVersions for vpc-cni would only infer it from add-on
    compatibility, which says nothing of extended support. An older botocore without the
    operation makes this check "could not check"."""
    version, key = ctx.spec.cluster.kubernetes_version, "kubegrid:cluster.kubernetesVersion"
    if not hasattr(ctx.aws.client("eks"), "describe_cluster_versions"):
        out.unchecked("this botocore has no eks DescribeClusterVersions; upgrade boto3", key)
        return
    found = ctx.aws("eks", "describe_cluster_versions", clusterVersions=[version])["clusterVersions"]
    status = next((v.get("versionStatus") for v in found if v.get("clusterVersion") == version), None)
    if status in (None, "UNSUPPORTED"):
        offered = sorted({v["clusterVersion"] for v in ctx.aws.items("eks", "describe_cluster_versions", "clusterVersions")},
                         key=lambda v: tuple(int(n) for n in v.split(".")))
        out.finding(f"EKS does not offer Kubernetes {version} in {ctx.aws.region} (offered: {', '.join(offered)}). "
                    "Fix: choose an offered version", key)
    elif status == "EXTENDED_SUPPORT":
        out.info(f"Kubernetes {version} is in extended support in {ctx.aws.region}: EKS charges more per cluster-hour. "
                 "Consider a version in standard support", key)
    else:
        out.ok(f"EKS offers Kubernetes {version} in {ctx.aws.region} ({status})", key)


@check("aws-cli", local=True)
def check_aws_cli(ctx: Context, out: Out) -> None:
    """The kubeconfig authenticates with `aws eks get-token`, so the AWS CLI must be on PATH."""
    path = ctx.which("aws")
    if path is None:
        out.finding("the AWS CLI (`aws`) is not on PATH; the stack's kubeconfig runs `aws eks get-token` to reach the "
                    "cluster. Fix: install AWS CLI v2")
    else:
        out.ok(f"AWS CLI found at {path}")


@check("example-values", local=True)
def check_example_values(ctx: Context, out: Out) -> None:
    """No value copied from documentation (example accounts, TEST-NET ranges)."""
    found = example_values(ctx.spec)
    for value in found:
        out.finding(f"{value.value}: {value.why}", value.key)
    if not found:
        out.ok("no example account numbers or documentation address ranges")


def preflight(spec: StackSpec, session: "boto3.Session", which: Callable[[str], Optional[str]] = shutil.which) -> PreflightReport:
    """Every check, in order; read-only calls only."""
    report = PreflightReport(spec.stack)
    if not spec.is_eks:
        report.findings.append(Finding("mode", INFO, "cluster.mode is existing: the stack creates nothing in AWS, "
                                       "so there is nothing to check there", "kubegrid:cluster.mode"))
        return report
    region = spec.region or session.region_name
    ctx = Context(spec, Aws(session, region), which)
    for name, fn in AWS_CHECKS:
        out = Out(name, report.findings)
        if ctx.stopped:
            out.unchecked(f"not run: the caller could not be resolved ({ctx.stopped})")
            continue
        try:
            fn(ctx, out)
        except Unanswered as error:
            out.unchecked(str(error))
    for name, fn in LOCAL_CHECKS:
        fn(ctx, Out(name, report.findings))
    return report


# --- Output ----------------------------------------------------------------------------------

_LABELS = {OK: "ok", FINDING: "FINDING", COULD_NOT_CHECK: "could not check", INFO: "info"}


def format_text(report: PreflightReport) -> Iterator[str]:
    for f in report.findings:
        yield f"{_LABELS[f.status]:<16} {f.check:<19} {f.message}" + (f"  [{f.key}]" if f.key else "")
    findings, unchecked = report.count(FINDING), report.count(COULD_NOT_CHECK)
    if findings:
        yield f"{report.stack}: {findings} finding(s) would make `pulumi up` fail; fix them first."
    else:
        yield f"{report.stack}: no findings." + (f" {unchecked} check(s) could not run: see above." if unchecked else "")


def deployer_session(spec: StackSpec, base: "boto3.Session") -> "boto3.Session":
    """The session `pulumi up` acts with: the stack's aws:profile, then its assumed role
    (aws:assumeRoles), as the AWS provider does. A role that cannot be assumed is left to the
    identity check to report, with the base session's identity."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    base.region_name  # reads the profile: a missing one fails here
    if not spec.aws_role_arn:
        return base
    try:
        creds = base.client("sts").assume_role(RoleArn=spec.aws_role_arn, RoleSessionName="kubegrid-preflight")
    except (BotoCoreError, ClientError):
        return base
    c = creds["Credentials"]
    return boto3.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                         aws_session_token=c["SessionToken"], region_name=base.region_name)


def run(spec: StackSpec, as_json: bool, out: Optional[IO[str]] = None, err: Optional[IO[str]] = None,
        session: "Optional[boto3.Session]" = None) -> int:
    """Prints the report (text, or JSON for CI); 0 without findings, 1 with, 2 for an unusable AWS profile."""
    out, err = out or sys.stdout, err or sys.stderr
    if session is None and spec.is_eks:
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            session = deployer_session(spec, boto3.Session(profile_name=spec.aws_profile))
        except ProfileNotFound as error:
            print(f"kubegrid preflight: {error}; set AWS_PROFILE (or aws:profile) to a profile of ~/.aws/config",
                  file=err)
            return 2
    report = preflight(spec, session)
    if as_json:
        json.dump(report.as_dict(), out, indent=2)
        out.write("\n")
    else:
        out.writelines(line + "\n" for line in format_text(report))
    return 0 if report.ok else 1
