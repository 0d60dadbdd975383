"""Outputs, the Kubernetes provider built from the cluster, the StorageClass, and `local`."""

from __future__ import annotations

import json

from components.cluster.storage import gp3_storage_class
from components.aws.kubeconfig import kubeconfig
from tests.support.stacks import config_of
from tests.support.stacks import stack_spec


def test_stack_outputs_name_endpoint_secret_kubeconfig_and_pools(run_stack):
    outputs = run_stack("prod").outputs
    assert outputs["clusterName"] == "kubegrid-prod"
    assert outputs["clusterEndpoint"] == "https://<known after apply: aws:eks/cluster:Cluster kubegrid-cluster-eks.endpoint>"
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["nodePools"] == [
        {"name": "system", "instanceTypes": ["m6i.xlarge"], "capacityType": "ON_DEMAND",
         "minSize": 3, "desiredSize": 3, "maxSize": 6, "gpu": False},
        {"name": "general", "instanceTypes": ["r6i.4xlarge"], "capacityType": "ON_DEMAND",
         "minSize": 6, "desiredSize": 6, "maxSize": 30, "gpu": False},
        {"name": "gpu-a10g", "instanceTypes": ["g5.4xlarge"], "capacityType": "ON_DEMAND",
         "minSize": 0, "desiredSize": 0, "maxSize": 8, "gpu": True},
    ]


def test_kubeconfig_uses_aws_cli_exec_auth_and_holds_no_credential():
    config = json.loads(kubeconfig("kubegrid-prod", "https://example.eks", "Q0E=", "eu-west-1"))
    (cluster,) = config["clusters"]
    assert cluster["cluster"] == {"server": "https://example.eks", "certificate-authority-data": "Q0E="}
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == ["--region", "eu-west-1", "eks", "get-token", "--cluster-name",
                                            "kubegrid-prod", "--output", "json"]
    assert config["current-context"] == "kubegrid-prod"
    assert "token" not in json.dumps(user["user"]).replace("get-token", "")


def test_cluster_side_uses_a_provider_built_from_the_cluster(run_stack):
    run = run_stack("dev")
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert provider.name == "kubegrid-k8s" and provider.parent == "kubegrid"
    assert provider.inputs["kubeconfig"] == "[secret]" and "context" not in provider.inputs
    depends = set(run.named("kubegrid-k8s").dependencies)
    assert {"kubegrid-pool-system-ng", "kubegrid-addons-on-nodes-coredns",
            "kubegrid-access-111122223333-role-platform-admin"} <= depends
    for r in run.resources:
        if r.type.startswith("kubernetes:"):
            assert "::kubegrid-k8s::" in run.named(r.name).provider, r.name


def test_default_storage_class_is_encrypted_gp3(run_stack):
    (applied,) = run_stack("prod").of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    rendered = gp3_storage_class(stack_spec("prod"))
    assert {k: v for k, v in applied.inputs.items()} == rendered  # render == applied
    assert rendered["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert rendered["provisioner"] == "ebs.csi.aws.com"
    assert rendered["parameters"]["type"] == "gp3" and rendered["parameters"]["encrypted"] == "true"
    assert rendered["volumeBindingMode"] == "WaitForFirstConsumer" and rendered["reclaimPolicy"] == "Retain"
    assert gp3_storage_class(stack_spec("dev"))["reclaimPolicy"] == "Delete"


def test_local_plans_no_aws_resource(run_stack):
    run = run_stack("local")
    assert run.resources
    assert not [r for r in run.resources if r.type.startswith("aws:")]
    assert not run.of_type("kubegrid:index:EksPlatform")
    assert not [r for r in run.resources if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["name"] != "kubegrid"]
    assert "kubeconfig" not in run.outputs and "clusterName" not in run.outputs


def test_existing_mode_uses_the_configured_context(run_stack):
    config = config_of("local")
    config["kubegrid:cluster"]["context"] = "kind-kubegrid"
    (provider,) = run_stack(config=config, name="local").of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-kubegrid" and "kubeconfig" not in provider.inputs


def test_prod_plan_shows_every_part_of_the_eks_platform(run_stack):
    types = {r.type for r in run_stack("prod").resources}
    for part in ("kubegrid:index:EksPlatform", "kubegrid:index:Network", "kubegrid:index:EksCluster",
                 "kubegrid:index:ClusterAccess", "kubegrid:index:ClusterAddons", "kubegrid:index:NodePool",
                 "kubegrid:index:ClusterAutoscaler", "kubegrid:index:NvidiaDevicePlugin",
                 "aws:ec2/natGateway:NatGateway", "aws:kms/key:Key", "aws:eks/cluster:Cluster",
                 "aws:eks/accessEntry:AccessEntry", "aws:eks/addon:Addon", "aws:eks/nodeGroup:NodeGroup",
                 "aws:ec2/launchTemplate:LaunchTemplate", "aws:autoscaling/tag:Tag",
                 "aws:eks/podIdentityAssociation:PodIdentityAssociation", "kubernetes:storage.k8s.io/v1:StorageClass"):
        assert part in types, part


def test_the_token_is_asked_for_as_the_provider_s_identity():
    config = json.loads(kubeconfig("kubegrid-dev", "https://example.eks", "Q0E=", "eu-west-1", profile="platform",
                                   role_arn="arn:aws:iam::111122223333:role/deployer"))
    (user,) = config["users"]
    assert user["user"]["exec"]["args"][-2:] == ["--role-arn", "arn:aws:iam::111122223333:role/deployer"]
    assert user["user"]["exec"]["env"] == [{"name": "AWS_PROFILE", "value": "platform"}]


def test_every_volume_a_claim_creates_is_tagged_with_its_stack():
    parameters = gp3_storage_class(stack_spec("staging"))["parameters"]
    tags = sorted(v for k, v in parameters.items() if k.startswith("tagSpecification_"))
    assert tags == ["kubegrid:environment=staging", "kubegrid:managed-by=pulumi", "kubegrid:stack=staging"]
