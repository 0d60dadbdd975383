"""The control plane: IAM role, version, KMS envelope encryption, logs, endpoint access, protection."""

from __future__ import annotations

import pytest

from components.aws.cluster import LOG_TYPES
from tests.support.stacks import config_of
from tests.support.aws import policy

CLUSTER = "aws:eks/cluster:Cluster"


def the_cluster(run):
    (cluster,) = run.of_type(CLUSTER)
    return cluster


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_cluster_at_the_configured_version_with_a_role(run_stack, stack):
    run = run_stack(stack)
    cluster = the_cluster(run)
    assert cluster.inputs["name"] == f"kubegrid-{stack}" and cluster.inputs["version"] == "1.34"
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name == "kubegrid-cluster-role"]
    assert cluster.inputs["roleArn"].endswith("<known after apply: kubegrid-cluster-role>")
    statement = policy(role)["Statement"][0]
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    attached = [a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.parent == "kubegrid-cluster"]
    assert attached == ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]


def test_kubernetes_version_follows_config(run_stack):
    config = config_of("dev")
    config["kubegrid:cluster"]["kubernetesVersion"] = "1.33"
    run = run_stack(config=config, name="dev")
    assert the_cluster(run).inputs["version"] == "1.33"
    assert {g.inputs["version"] for g in run.of_type("aws:eks/nodeGroup:NodeGroup")} == {"1.33"}
    assert {a.inputs["addonVersion"] for a in run.of_type("aws:eks/addon:Addon")} == {
        f"<known at deploy: default {a.inputs['addonName']} version for Kubernetes 1.33>"
        for a in run.of_type("aws:eks/addon:Addon")}


def test_secrets_are_envelope_encrypted_with_a_rotating_key(run_stack):
    run = run_stack("prod")
    (key,) = run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    encryption = the_cluster(run).inputs["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"].endswith(f"<known after apply: {key.name}>")
    # the control plane's role may use that key, and only that key
    (inline,) = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.parent == "kubegrid-cluster"]
    (statement,) = policy(inline)["Statement"]
    assert statement["Resource"] == encryption["provider"]["keyArn"]
    assert set(statement["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}


def test_all_five_control_plane_log_types_with_retention(run_stack):
    run = run_stack("prod")
    assert the_cluster(run).inputs["enabledClusterLogTypes"] == list(LOG_TYPES)
    assert set(LOG_TYPES) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    (logs,) = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == "/aws/eks/kubegrid-prod/cluster" and logs.inputs["retentionInDays"] == 365
    (dev_logs,) = run_stack("dev").of_type("aws:cloudwatch/logGroup:LogGroup")
    assert dev_logs.inputs["retentionInDays"] == 30


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_private_endpoint_only_in_staging_and_prod(run_stack, stack):
    vpc = the_cluster(run_stack(stack)).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_dev_public_endpoint_limited_to_configured_cidrs(run_stack):
    vpc = the_cluster(run_stack("dev")).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_open_endpoint_only_when_the_stack_lists_it(run_stack, each_stack):
    for cluster in run_stack(each_stack).of_type(CLUSTER):
        assert "0.0.0.0/0" not in (cluster.inputs["vpcConfig"].get("publicAccessCidrs") or [])
    config = config_of("dev")
    config["kubegrid:cluster"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    vpc = the_cluster(run_stack(config=config, name="dev")).inputs["vpcConfig"]
    assert vpc["publicAccessCidrs"] == ["0.0.0.0/0"]


def test_private_access_cidrs_open_port_443_on_the_api_security_group(run_stack):
    config = config_of("prod")
    config["kubegrid:cluster"]["privateAccessCidrs"] = ["10.100.0.0/16", "192.168.10.0/24"]
    run = run_stack(config=config, name="prod")
    (sg,) = run.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert the_cluster(run).inputs["vpcConfig"]["securityGroupIds"] == [f"<known after apply: aws:ec2/securityGroup:SecurityGroup {sg.name}.id>"]
    rules = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(r.inputs["cidrIpv4"] for r in rules) == ["10.100.0.0/16", "192.168.10.0/24"]
    assert all((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"]) == (443, 443, "tcp") for r in rules)
    (vpn,) = run_stack("prod").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert vpn.inputs["cidrIpv4"] == "10.100.0.0/16"  # the VPN range the prod stack file names


def test_authentication_by_access_entries_only(run_stack):
    access = the_cluster(run_stack("prod")).inputs["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}


def test_cluster_and_key_are_protected_in_prod_only(run_stack):
    prod = run_stack("prod")
    assert prod.named("kubegrid-cluster-eks").protect and prod.named("kubegrid-cluster-secrets-key").protect
    assert the_cluster(prod).inputs["deletionProtection"] is True
    dev = run_stack("dev")
    assert not dev.named("kubegrid-cluster-eks").protect and not dev.named("kubegrid-cluster-secrets-key").protect
    assert the_cluster(dev).inputs["deletionProtection"] is False


def test_cluster_waits_for_its_role_grants_and_log_group(run_stack):
    run = run_stack("dev")
    depends = run.named("kubegrid-cluster-eks").dependencies
    assert "kubegrid-cluster-logs" in depends
    assert "kubegrid-cluster-role-AmazonEKSClusterPolicy" in depends and "kubegrid-cluster-role-policy" in depends


UNTAGGABLE = {"aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy",
              "aws:ec2/route:Route", "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:kms/alias:Alias",
              "aws:autoscaling/tag:Tag", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_aws_resource_is_tagged(run_stack, stack):
    run = run_stack(stack)
    aws_resources = [r for r in run.resources if r.type.startswith("aws:")]
    assert aws_resources
    for r in aws_resources:
        if r.type in UNTAGGABLE:
            continue
        assert r.inputs.get("tags", {}).get("kubegrid:stack") == stack, r.name
        assert r.inputs["tags"]["kubegrid:environment"] == stack, r.name
