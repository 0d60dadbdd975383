"""`kubegrid preflight` against an emulated AWS account (moto in-process; Stubbers for Service
Quotas and EKS, which moto does not emulate). Each test arranges the account for one finding."""

from __future__ import annotations

import io
import json
import os

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from components.config import CapacityType
from components.offline.preflight import (ELASTIC_IPS, NAT_GATEWAYS_PER_ZONE, VCPU_QUOTAS, VPCS, preflight,
                                          quota_class, quotas_to_read, run, vcpu_demands)
from tests.offline.preflight_support import (ACCOUNT, REGION, admin_session, arrange_account, aws_cli, by_check,
                                             offer_everywhere, real_spec, real_values, session_for, spec_of,
                                             stack_config, user_session, plain_env)

EKS_STACKS = ("dev", "staging", "prod")


@pytest.fixture
def account(monkeypatch):
    """An empty emulated account in eu-west-1 (only its default VPC)."""
    plain_env(monkeypatch)
    with mock_aws():
        yield


@pytest.fixture
def aws_on_path(tmp_path, monkeypatch):
    """An `aws` executable on PATH, for run(), which looks it up with shutil.which."""
    cli = tmp_path / "aws"
    cli.write_text("#!/bin/sh\nexit 0\n")
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return str(cli)


def ready(monkeypatch, spec, skip=(), missing=None):
    """The account with everything the stack names (except ``skip``), every instance type offered
    in every zone (except ``missing``: type -> zones)."""
    arrange_account(spec, skip)
    offer_everywhere(monkeypatch, spec, missing=missing)


def statuses(report) -> set[str]:
    return {f.status for f in report.findings}


# --- A clean account ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", EKS_STACKS)
def test_a_ready_account_passes(account, monkeypatch, name):
    spec = real_spec(name)
    ready(monkeypatch, spec)
    session, quota_stub, eks_stub = session_for(spec)

    report = preflight(spec, session, which=aws_cli)

    assert report.ok, [f for f in report.findings if f.status != "ok"]
    assert statuses(report) == {"ok", "info"}
    assert {f.check for f in report.findings} == {"identity", "principals", "s3-buckets", "spark-images", "zones", "endpoint",
                                                  "instance-types", "network-quota", "vcpu-quota",
                                                  "kubernetes-version", "aws-cli", "example-values"}
    quota_stub.assert_no_pending_responses()
    eks_stub.assert_no_pending_responses()


def test_run_prints_text_and_exits_0_when_ready(account, monkeypatch, aws_on_path):
    spec = real_spec("staging")
    ready(monkeypatch, spec)
    out = io.StringIO()

    assert run(spec, as_json=False, out=out, session=session_for(spec)[0]) == 0
    lines = out.getvalue().splitlines()
    assert "ok               zones               zones eu-west-1a, eu-west-1b, eu-west-1c exist in eu-west-1  " \
           "[kubegrid:cluster.zones]" in lines
    assert f"ok               aws-cli             AWS CLI found at {aws_on_path}" in lines
    assert lines[-1] == "staging: no findings."


def test_json_for_ci_lists_every_result_and_exits_1_on_findings(account, monkeypatch, aws_on_path):
    config = real_values(stack_config("prod"))
    spec = spec_of(config, "prod")
    ready(monkeypatch, spec, skip={f"arn:aws:iam::{ACCOUNT}:role/risk-dev"})
    out = io.StringIO()

    code = run(spec, as_json=True, out=out, session=session_for(spec)[0])

    document = json.loads(out.getvalue())
    assert code == 1 and document["ok"] is False and document["stack"] == "prod"
    assert document["counts"] == {"ok": 20, "finding": 1, "could-not-check": 0, "info": 2}  # the caller, and the bootstrap public endpoint
    missing = next(f for f in document["findings"] if f["status"] == "finding" and f["check"] == "principals")
    assert missing == {"check": "principals", "status": "finding", "key": "kubegrid:teams[1].editors[0]",
                       "message": f"IAM role 'risk-dev' does not exist in account {ACCOUNT}, so its access entry "
                                  "cannot be created. Fix: create the role, or correct the ARN"}


# --- Identity ------------------------------------------------------------------------------------

def test_an_assumed_role_is_resolved_to_its_role_with_path_and_found_among_admins(account, monkeypatch):
    config = real_values(stack_config("dev"))
    config["kubegrid:cluster"]["adminPrincipals"] = [f"arn:aws:iam::{ACCOUNT}:role/platform/deployer"]
    spec = spec_of(config, "dev")
    session = admin_session("deployer", path="/platform/")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec, session)[0], which=aws_cli)

    [identity] = by_check(report, "identity")
    assert identity.status == "info" and identity.key == "kubegrid:cluster.adminPrincipals[0]"
    assert identity.message == (f"caller arn:aws:iam::{ACCOUNT}:role/platform/deployer (account {ACCOUNT}) is a "
                                "cluster admin: it is listed in cluster.adminPrincipals")


def test_a_caller_outside_the_admins_is_reported_as_info(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec, user_session("ci-deployer"))[0], which=aws_cli)

    [identity] = by_check(report, "identity")
    assert identity.status == "info" and identity.key == "kubegrid:cluster.adminPrincipals"
    assert identity.message.startswith(f"caller arn:aws:iam::{ACCOUNT}:user/ci-deployer (account {ACCOUNT}) is not "
                                       "in cluster.adminPrincipals; `pulumi up` makes the identity that runs it a "
                                       "cluster admin")
    assert report.ok


def test_a_caller_that_is_not_an_iam_role_or_user_is_a_finding(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)
    # Credentials moto does not know answer as "arn:aws:sts::<account>:user/moto": no IAM role or user.
    session = boto3.Session(aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="x", region_name=REGION)

    report = preflight(spec, session_for(spec, session)[0], which=aws_cli)

    [identity] = by_check(report, "identity")
    assert identity.status == "finding"
    assert identity.message.startswith(f"the caller arn:aws:sts::{ACCOUNT}:user/moto is not an IAM role or user")


def test_without_credentials_the_caller_is_unresolved_and_nothing_else_is_called(monkeypatch):
    plain_env(monkeypatch)  # no credentials anywhere; boto3 fails before sending anything
    spec = real_spec("dev")
    out = io.StringIO()

    code = run(spec, as_json=False, out=out)

    assert code == 1
    report = preflight(spec, boto3.Session(), which=aws_cli)
    [identity] = by_check(report, "identity")
    assert identity.status == "finding"
    assert identity.message.startswith("could not resolve the caller: no AWS credentials found: set AWS_PROFILE")
    skipped = [f for f in report.findings if f.check not in ("identity", "aws-cli", "example-values")]
    assert skipped and all(f.status == "could-not-check" and f.message.startswith("not run: the caller could not "
                                                                                  "be resolved") for f in skipped)
    assert "Traceback" not in out.getvalue()


def test_an_unreachable_endpoint_from_aws_endpoint_url_is_reported_not_raised(monkeypatch):
    # Port 9 (discard) on loopback refuses the connection: the SDK honours AWS_ENDPOINT_URL.
    plain_env(monkeypatch, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_ENDPOINT_URL="http://127.0.0.1:9",
              AWS_MAX_ATTEMPTS="1")
    spec = real_spec("dev")

    report = preflight(spec, boto3.Session(), which=aws_cli)

    [identity] = by_check(report, "identity")
    assert identity.status == "finding"
    assert 'Could not connect to the endpoint URL: "http://127.0.0.1:9/"' in identity.message


def test_an_unknown_profile_is_bad_usage(monkeypatch):
    plain_env(monkeypatch, AWS_PROFILE="no-such-profile")
    err = io.StringIO()

    assert run(real_spec("dev"), as_json=False, out=io.StringIO(), err=err) == 2
    assert "The config profile (no-such-profile) could not be found" in err.getvalue()


# --- Reaching the API endpoint --------------------------------------------------------------------

def private_spec(name: str = "prod"):
    """The stack as committed: a private endpoint reached over privateRoute from privateAccessCidrs."""
    return spec_of(real_values(stack_config(name), first_run=False), name)


def test_a_private_endpoint_of_a_vpc_not_yet_created_cannot_be_reached(account, monkeypatch):
    spec = private_spec()
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    (found,) = by_check(report, "endpoint", "finding")
    assert found.key == "kubegrid:cluster.privateRoute"
    assert found.message.startswith("the API endpoint is private and the stack's VPC does not exist yet")


def connected_vpc(stack: str, route_to: str | None) -> str:
    """The stack's VPC as a first run leaves it, with a transit gateway route to ``route_to``."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{
        "ResourceType": "vpc", "Tags": [{"Key": "kubegrid:stack", "Value": stack}]}])["Vpc"]["VpcId"]
    if route_to:
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock=route_to, TransitGatewayId=tgw)
    return vpc


def test_a_private_endpoint_is_reached_from_a_network_the_vpc_routes_back_to(account, monkeypatch):
    spec = private_spec()
    ready(monkeypatch, spec)
    vpc = connected_vpc("prod", "10.100.0.0/16")

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    (ok,) = by_check(report, "endpoint")
    assert (ok.status, ok.message) == ("ok", f"VPC {vpc} routes back to 10.100.0.0/16")


def test_a_private_endpoint_without_a_route_back_is_a_finding(account, monkeypatch):
    spec = private_spec()
    ready(monkeypatch, spec)
    connected_vpc("prod", "172.16.0.0/12")

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    (found,) = by_check(report, "endpoint", "finding")
    assert found.key == "kubegrid:cluster.privateAccessCidrs[0]" and "has no route to 10.100.0.0/16" in found.message


# --- Principals and buckets ----------------------------------------------------------------------

def test_missing_principals_and_buckets_are_findings_with_their_keys(account, monkeypatch):
    spec = real_spec("staging")
    ready(monkeypatch, spec, skip={f"arn:aws:iam::{ACCOUNT}:role/risk-lead", "kubegrid-staging-analytics"})

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    assert [(f.key, f.message) for f in report.findings if f.status == "finding" and f.check != "aws-cli"] == [
        ("kubegrid:teams[1].admins[0]", f"IAM role 'risk-lead' does not exist in account {ACCOUNT}, so its access "
                                        "entry cannot be created. Fix: create the role, or correct the ARN"),
        ("kubegrid:teams[0].s3Access[0]", "S3 bucket 'kubegrid-staging-analytics' does not exist, so team 'analytics''s "
                                          "Spark jobs could not use s3://kubegrid-staging-analytics/. Fix: create the "
                                          "bucket (in eu-west-1), or correct the location"),
    ]


def test_a_user_principal_is_looked_up_as_a_user(account, monkeypatch):
    config = real_values(stack_config("dev"))
    config["kubegrid:teams"][0]["viewers"] = [f"arn:aws:iam::{ACCOUNT}:user/auditor",
                                              f"arn:aws:iam::{ACCOUNT}:user/intern"]
    spec = spec_of(config, "dev")
    ready(monkeypatch, spec, skip={f"arn:aws:iam::{ACCOUNT}:user/intern"})

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    assert [(f.status, f.key) for f in by_check(report, "principals") if "user/" in f.message or "'intern'" in f.message] == [
        ("ok", "kubegrid:teams[0].viewers[0]"), ("finding", "kubegrid:teams[0].viewers[1]")]


def test_a_principal_in_another_account_could_not_be_checked(account, monkeypatch):
    config = real_values(stack_config("dev"))
    config["kubegrid:teams"][0]["editors"] = ["arn:aws:iam::271828182845:role/analytics-dev"]
    spec = spec_of(config, "dev")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    [other] = [f for f in by_check(report, "principals") if f.key == "kubegrid:teams[0].editors[0]"]
    assert other.status == "could-not-check"
    assert other.message.startswith(f"arn:aws:iam::271828182845:role/analytics-dev is in account 271828182845, "
                                    f"the caller in {ACCOUNT}; IAM reads only the caller's own account")


# --- Zones and instance types --------------------------------------------------------------------

def test_a_zone_the_region_does_not_have_is_a_finding(account, monkeypatch):
    config = real_values(stack_config("dev"))
    config["kubegrid:cluster"]["zones"] = ["eu-west-1a", "eu-west-1z"]
    spec = spec_of(config, "dev")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    [zone] = by_check(report, "zones")
    assert (zone.status, zone.key) == ("finding", "kubegrid:cluster.zones[1]")
    assert zone.message == ("zone eu-west-1z does not exist in eu-west-1 for this account (available: eu-west-1a, "
                            "eu-west-1b, eu-west-1c). Fix: pick zones from that list")


def test_an_instance_type_not_offered_in_one_zone_is_a_finding(account, monkeypatch):
    spec = real_spec("prod")
    ready(monkeypatch, spec, missing={"g5.4xlarge": ["eu-west-1c"]})

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    [offering] = by_check(report, "instance-types")
    assert (offering.status, offering.key) == ("finding", "kubegrid:nodePools[2].instanceTypes[0]")
    assert offering.message == ("pool 'gpu-a10g': g5.4xlarge is not offered in eu-west-1c (offered in eu-west-1a, "
                                "eu-west-1b of the stack's zones), and the pool's nodes span every zone. Fix: choose a "
                                "type offered in all of eu-west-1a, eu-west-1b, eu-west-1c, or other zones")


def test_moto_s_own_offerings_lack_g6_in_eu_west_1(account):
    """Without arranging, moto's data table (an older snapshot of AWS's) has no g6.xlarge in
    eu-west-1: the dev stack's GPU pool is reported in each zone, from the emulator's own data."""
    spec = real_spec("dev")
    arrange_account(spec)

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    assert [f.key for f in by_check(report, "instance-types", "finding")] == ["kubegrid:nodePools[2].instanceTypes[0]"]


def test_an_existing_vpc_spans_the_zones_of_its_private_subnets(account, monkeypatch):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for i, zone in enumerate(("eu-west-1b", "eu-west-1c"))]
    config = real_values(stack_config("prod"))
    cluster = config["kubegrid:cluster"]
    del cluster["zones"], cluster["natGateways"]
    cluster.update(vpcId=vpc, privateSubnetIds=subnets)
    spec = spec_of(config, "prod")
    ready(monkeypatch, spec, missing={"r6i.4xlarge": ["eu-west-1a", "eu-west-1b"]})
    session, quota_stub, _ = session_for(spec)

    report = preflight(spec, session, which=aws_cli)

    assert [(f.status, f.message) for f in by_check(report, "zones")] == [
        ("ok", "the existing private subnets are in zones eu-west-1b, eu-west-1c")]
    [offering] = by_check(report, "instance-types")
    assert offering.key == "kubegrid:nodePools[1].instanceTypes[0]" and "not offered in eu-west-1b" in offering.message
    [network] = by_check(report, "network-quota")
    assert network.status == "info" and network.message.startswith(f"the stack uses the existing VPC {vpc}")
    assert VPCS not in quotas_to_read(spec)
    quota_stub.assert_no_pending_responses()


def test_private_subnets_that_do_not_exist_are_a_finding(account, monkeypatch):
    config = real_values(stack_config("dev"))
    cluster = config["kubegrid:cluster"]
    del cluster["zones"]
    cluster.update(vpcId="vpc-0123456789abcdef0", privateSubnetIds=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])
    spec = spec_of(config, "dev")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    [subnets] = by_check(report, "zones")
    assert (subnets.status, subnets.key) == ("finding", "kubegrid:cluster.privateSubnetIds")
    assert "InvalidSubnetID.NotFound" in subnets.message and subnets.message.endswith(
        "Fix: list private subnets of VPC vpc-0123456789abcdef0 in eu-west-1")


# --- Quotas --------------------------------------------------------------------------------------

def test_vcpu_quotas_are_summed_per_quota_at_maximum_size():
    prod = {d.quota.code: (d.vcpus, [text for _, text, _ in d.pools]) for d in vcpu_demands(real_spec("prod"))}
    assert prod == {
        "L-1216C47A": (6 * 4 + 30 * 16, ["system: 6 nodes x 4 vCPUs (m6i.xlarge)", "general: 30 nodes x 16 vCPUs (r6i.4xlarge)"]),
        "L-DB2E81BA": (8 * 16, ["gpu-a10g: 8 nodes x 16 vCPUs (g5.4xlarge)"]),
    }
    dev = {d.quota.code: d.vcpus for d in vcpu_demands(real_spec("dev"))}
    assert dev == {"L-1216C47A": 3 * 2, "L-34B43A08": 6 * 8, "L-3819A6DF": 2 * 4}


def test_quota_classes_follow_aws_s_quota_groups():
    assert [quota_class(t) for t in ("m6i.large", "c7g.xlarge", "r5.2xlarge", "g4dn.xlarge", "g5g.xlarge",
                                     "g6e.xlarge", "p4d.24xlarge", "p5.48xlarge", "inf2.xlarge")] == [
        "standard", "standard", "standard", "g", "g", "g", "p", "p5", None]
    assert VCPU_QUOTAS["p5", CapacityType.SPOT].code == "L-C4BD4855"
    assert VCPU_QUOTAS["p5", CapacityType.ON_DEMAND].code == VCPU_QUOTAS["p", CapacityType.ON_DEMAND].code == "L-417A185B"


def test_a_vcpu_quota_below_the_pools_maximum_is_a_finding(account, monkeypatch):
    spec = real_spec("prod")
    ready(monkeypatch, spec)
    session, quota_stub, _ = session_for(spec, quotas={"L-1216C47A": 256, "L-DB2E81BA": 0})

    report = preflight(spec, session, which=aws_cli)

    found = {f.key: f.message for f in by_check(report, "vcpu-quota", "finding")}
    assert found == {
        "kubegrid:nodePools[1].maxSize":
            "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (ec2 L-1216C47A) in eu-west-1 is 256 "
            "vCPUs; the pools need 504 at their maximum size (system: 6 nodes x 4 vCPUs (m6i.xlarge); general: 30 "
            "nodes x 16 vCPUs (r6i.4xlarge)). Fix: request at least 504 vCPUs for L-1216C47A in Service Quotas "
            "(instances already running in the region count against it too), or lower maxSize",
        "kubegrid:nodePools[2].maxSize":
            "Running On-Demand G and VT instances (ec2 L-DB2E81BA) in eu-west-1 is 0 vCPUs; the pools need 128 at "
            "their maximum size (gpu-a10g: 8 nodes x 16 vCPUs (g5.4xlarge)). Fix: request at least 128 vCPUs for "
            "L-DB2E81BA in Service Quotas (instances already running in the region count against it too), or lower maxSize",
    }
    quota_stub.assert_no_pending_responses()


def test_network_quotas_count_what_already_exists(account, monkeypatch):
    ec2 = boto3.client("ec2", region_name=REGION)
    vpcs = [ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"] for i in range(1, 5)]  # + the default VPC
    subnet = ec2.create_subnet(VpcId=vpcs[0], CidrBlock="10.1.0.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
    for _ in range(5):
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)
    spec = real_spec("prod")  # perZone: 1 VPC, 3 Elastic IPs, 1 NAT gateway in each of 3 zones
    ready(monkeypatch, spec)
    limits = {VPCS.code: 5, ELASTIC_IPS.code: 5, NAT_GATEWAYS_PER_ZONE.code: 5}

    report = preflight(spec, session_for(spec, quotas=limits)[0], which=aws_cli)

    assert [(f.status, f.message) for f in by_check(report, "network-quota")] == [
        ("finding", "VPCs per Region (vpc L-F678F1CE) in eu-west-1 is 5; 5 exist and the stack adds 1: 6 > 5. Fix: "
                    "delete unused VPCs, or use an existing VPC (cluster.vpcId), or request at least 6 in Service Quotas"),
        ("finding", "EC2-VPC Elastic IPs (ec2 L-0263D0A3) in eu-west-1 is 5; 5 exist and the stack adds 3: 8 > 5. Fix: "
                    "release unused Elastic IPs, or use natGateways: single, or request at least 8 in Service Quotas"),
        ("finding", "NAT gateways per Availability Zone (vpc L-FE5A380F) in eu-west-1a is 5; 5 exist and the stack "
                    "adds 1: 6 > 5. Fix: delete unused NAT gateways in that zone, or request at least 6 in Service Quotas"),
        ("ok", "NAT gateways per Availability Zone (vpc L-FE5A380F) in eu-west-1b is 5; 0 exist and the stack adds 1 (1 of 5)"),
        ("ok", "NAT gateways per Availability Zone (vpc L-FE5A380F) in eu-west-1c is 5; 0 exist and the stack adds 1 (1 of 5)"),
    ]
    assert {f.key for f in by_check(report, "network-quota")} == {"kubegrid:cluster.vpcId", "kubegrid:cluster.natGateways"}


def test_a_quota_service_quotas_does_not_answer_could_not_be_checked(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)
    session, quota_stub, _ = session_for(spec, quota_errors={"L-3819A6DF": "AccessDeniedException"})

    report = preflight(spec, session, which=aws_cli)

    [gpu] = [f for f in by_check(report, "vcpu-quota") if f.key == "kubegrid:nodePools[2].maxSize"]
    assert gpu.status == "could-not-check"
    assert gpu.message == ("All G and VT Spot Instance Requests (ec2 L-3819A6DF): service-quotas GetServiceQuota: "
                           "AccessDeniedException: AccessDeniedException (stubbed)")
    assert report.ok
    quota_stub.assert_no_pending_responses()


def test_moto_s_service_quotas_answers_vpc_quotas_only(account, monkeypatch):
    """Unstubbed, moto answers the VPC quotas (its defaults) and has no EC2 quota: those could not be checked."""
    from components.offline.preflight import Aws, Context, Out, check_network_quotas, check_vcpu_quotas

    spec = real_spec("dev")
    ready(monkeypatch, spec)
    ctx, findings = Context(spec, Aws(admin_session(), REGION), aws_cli), []
    check_network_quotas(ctx, Out("network-quota", findings))
    check_vcpu_quotas(ctx, Out("vcpu-quota", findings))

    assert [f.status for f in findings] == ["ok", "could-not-check", "ok", "could-not-check", "could-not-check",
                                            "could-not-check"]
    assert findings[0].message.endswith("is 5; 1 exist and the stack adds 1 (2 of 5)")
    # moto has the EC2 quotas in neither GetServiceQuota (NoSuchResourceException) nor the default's fallback.
    assert findings[1].message.startswith("EC2-VPC Elastic IPs (ec2 L-0263D0A3) in eu-west-1: service-quotas ")


# --- Permissions ---------------------------------------------------------------------------------

def test_calls_that_are_not_permitted_could_not_be_checked(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)
    session = user_session("limited", deny=["iam:GetRole", "ec2:DescribeInstanceTypeOfferings"])

    with enable_iam_authentication():
        report = preflight(spec, session_for(spec, session)[0], which=aws_cli)

    unchecked = {(f.check, f.key): f.message for f in report.findings if f.status == "could-not-check"}
    assert set(unchecked) == {("principals", "kubegrid:cluster.adminPrincipals[0]"),
                              ("principals", "kubegrid:teams[0].admins[0]"),
                              ("principals", "kubegrid:teams[0].editors[0]"),
                              ("instance-types", None)}
    assert unchecked["principals", "kubegrid:teams[0].admins[0]"].startswith(
        f"arn:aws:iam::{ACCOUNT}:role/analytics-lead: iam GetRole: AccessDenied: User: arn:aws:iam::{ACCOUNT}:user/limited "
        "is not authorized to perform: iam:GetRole")
    assert unchecked["instance-types", None] == (
        f"ec2 DescribeInstanceTypeOfferings: AccessDenied: User: arn:aws:iam::{ACCOUNT}:user/limited is not "
        "authorized to perform: ec2:DescribeInstanceTypeOfferings")
    assert by_check(report, "zones", "ok") and by_check(report, "s3-buckets", "ok")
    assert report.ok


# --- Kubernetes version, AWS CLI, example values, mode existing ----------------------------------

def test_a_kubernetes_version_eks_does_not_offer_is_a_finding(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)
    session, _, eks_stub = session_for(spec, eks_status=None)

    report = preflight(spec, session, which=aws_cli)

    [version] = by_check(report, "kubernetes-version")
    assert (version.status, version.key) == ("finding", "kubegrid:cluster.kubernetesVersion")
    assert version.message == ("EKS does not offer Kubernetes 1.34 in eu-west-1 (offered: 1.32, 1.33, 1.34). "
                               "Fix: choose an offered version")
    eks_stub.assert_no_pending_responses()


def test_a_version_in_extended_support_is_reported_as_info(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec, eks_status="EXTENDED_SUPPORT")[0], which=aws_cli)

    [version] = by_check(report, "kubernetes-version")
    assert version.status == "info" and "extended support" in version.message


def test_a_missing_aws_cli_is_a_finding(account, monkeypatch):
    spec = real_spec("dev")
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec)[0], which=lambda name: None)

    [cli] = by_check(report, "aws-cli")
    assert cli.status == "finding" and cli.message.startswith(
        "the AWS CLI (`aws`) is not on PATH; the stack's kubeconfig runs `aws eks get-token`")
    assert not report.ok


def test_documentation_values_in_the_real_dev_stack_are_refused(account, monkeypatch):
    spec = spec_of(stack_config("dev"), "dev")  # as committed: account 111122223333, 203.0.113.0/24
    ready(monkeypatch, spec)

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    assert [f.key for f in by_check(report, "example-values", "finding")] == [
        "kubegrid:cluster.adminPrincipals[0]", "kubegrid:teams[0].admins[0]", "kubegrid:teams[0].editors[0]",
        "kubegrid:cluster.publicAccessCidrs[0]", "kubegrid:teams[0].sparkImage"]
    assert {f.status for f in by_check(report, "principals")} == {"could-not-check"}  # another account than the caller's
    assert not report.ok


def test_mode_existing_has_nothing_to_check_in_aws():
    spec = spec_of(stack_config("local"), "local")
    out = io.StringIO()

    assert run(spec, as_json=True, out=out) == 0
    document = json.loads(out.getvalue())
    assert document["findings"] == [{"check": "mode", "status": "info", "key": "kubegrid:cluster.mode",
                                     "message": "cluster.mode is existing: the stack creates nothing in AWS, so "
                                                "there is nothing to check there"}]


# --- The teams' Spark images -------------------------------------------------------------------

def test_an_s3_teams_image_not_pushed_is_a_finding(account, monkeypatch):
    spec = real_spec("dev")
    image = spec.teams[0].spark_image
    ready(monkeypatch, spec, skip={image})

    report = preflight(spec, session_for(spec)[0], which=aws_cli)

    [finding] = by_check(report, "spark-images")
    assert (finding.status, finding.key) == ("finding", "kubegrid:teams[0].sparkImage")
    assert finding.message == (f"{image} is not in ECR, so team 'analytics''s Spark pods could not start. Fix: build "
                               "images/spark/Dockerfile and push it there (docs/spark.md)")


@pytest.mark.parametrize("image, why", [
    ("registry.example.com/kubegrid-spark:4.0.1-s3a", "is not in ECR: preflight cannot see whether it is pushed"),
    ("444455556666.dkr.ecr.eu-west-1.amazonaws.com/kubegrid-spark:4.0.1-s3a", "its repository policy must let the nodes pull"),
])
def test_an_image_preflight_cannot_see_is_said_so(account, monkeypatch, image, why):
    config = real_values(stack_config("dev"))
    config["kubegrid:teams"][0]["sparkImage"] = image
    spec = spec_of(config, "dev")
    ready(monkeypatch, spec, skip={image})

    [finding] = by_check(preflight(spec, session_for(spec)[0], which=aws_cli), "spark-images")
    assert finding.status == "could-not-check" and why in finding.message
