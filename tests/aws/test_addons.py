"""Managed add-ons, the EBS CSI driver's Pod Identity role, and the order they go in."""

from __future__ import annotations

import json

from tests.support.aws import policy

ADDON = "aws:eks/addon:Addon"


def addons(run) -> dict[str, dict]:
    return {a.inputs["addonName"]: a.inputs for a in run.of_type(ADDON)}


def test_the_five_managed_addons_at_the_default_version_for_the_cluster(run_stack):
    found = addons(run_stack("prod"))
    assert set(found) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    for name, inputs in found.items():
        assert inputs["clusterName"] == "kubegrid-prod"
        assert inputs["addonVersion"] == f"<known at deploy: default {name} version for Kubernetes 1.34>"
        assert inputs["resolveConflictsOnCreate"] == "OVERWRITE" and inputs["resolveConflictsOnUpdate"] == "OVERWRITE"


def test_vpc_cni_enforces_network_policies_and_the_others_keep_their_defaults(run_stack):
    for stack in ("dev", "prod"):
        found = addons(run_stack(stack))
        assert json.loads(found["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
        assert all("configurationValues" not in a for n, a in found.items() if n != "vpc-cni")


def test_ebs_csi_driver_has_its_pod_identity_role(run_stack):
    run = run_stack("prod")
    (association,) = addons(run)["aws-ebs-csi-driver"]["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name == "kubegrid-ebs-csi-role"]
    assert association["roleArn"].endswith("<known after apply: kubegrid-ebs-csi-role>")
    (statement,) = policy(role)["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] == "kube-system"
    assert statement["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == "ebs-csi-controller-sa"
    attached = [a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.name.startswith("kubegrid-ebs-csi-role")]
    assert attached == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
    # other add-ons need no role of their own
    assert all("podIdentityAssociations" not in a for n, a in addons(run).items() if n != "aws-ebs-csi-driver")


def test_networking_addons_before_nodes_coredns_and_ebs_after(run_stack):
    run = run_stack("dev")
    for pool in ("system", "general", "gpu-l4"):
        depends = run.named(f"kubegrid-pool-{pool}-ng").dependencies
        assert {"kubegrid-addons-vpc-cni", "kubegrid-addons-kube-proxy", "kubegrid-addons-eks-pod-identity-agent"} <= set(depends)
    for late in ("coredns", "aws-ebs-csi-driver"):
        depends = run.named(f"kubegrid-addons-on-nodes-{late}").dependencies
        assert {"kubegrid-pool-system-ng", "kubegrid-pool-gpu-l4-ng"} <= set(depends)
