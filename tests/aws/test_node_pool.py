"""Node pools: one component each, managed node group, launch template, node role, labels, taints."""

from __future__ import annotations

import pytest

from components.aws.node_pool import NODE_POLICIES
from components.cluster.scheduling import node_labels, node_taints
from tests.support.aws import children
from tests.support.stacks import config_of
from tests.support.stacks import stack_spec

GROUP = "aws:eks/nodeGroup:NodeGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def group(run, pool: str):
    (found,) = children(run, f"kubegrid-pool-{pool}", GROUP)
    return found.inputs


def template(run, pool: str):
    (found,) = children(run, f"kubegrid-pool-{pool}", TEMPLATE)
    return found.inputs


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_one_node_pool_component_per_configured_pool(run_stack, stack):
    run = run_stack(stack)
    spec = stack_spec(stack)
    pools = [r for r in run.of_type("kubegrid:index:NodePool")]
    assert sorted(p.name for p in pools) == sorted(f"kubegrid-pool-{p.name}" for p in spec.node_pools)
    assert all(p.parent == "kubegrid" for p in pools)
    for pool in spec.node_pools:
        inputs = group(run, pool.name)
        assert inputs["instanceTypes"] == list(pool.instance_types)
        assert inputs["capacityType"] == pool.capacity_type.value
        assert inputs["scalingConfig"] == {"minSize": pool.min_size, "desiredSize": pool.desired, "maxSize": pool.max_size}
        assert inputs["amiType"] == pool.ami.value


def test_nodes_run_in_the_private_subnets(run_stack):
    run = run_stack("prod")
    private = [f"<known after apply: aws:ec2/subnet:Subnet kubegrid-network-private-eu-west-1{z}.id>" for z in "abc"]
    for pool in ("system", "general", "gpu-a10g"):
        assert group(run, pool)["subnetIds"] == private


def test_launch_template_requires_imdsv2_with_hop_limit_one(run_stack):
    run = run_stack("prod")
    for pool in ("system", "general", "gpu-a10g"):
        assert template(run, pool)["metadataOptions"] == {
            "httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled"}
        lt = [r for r in children(run, f"kubegrid-pool-{pool}", TEMPLATE)][0]
        assert group(run, pool)["launchTemplate"] == {
            "id": f"<known after apply: {TEMPLATE} {lt.name}.id>",
            "version": f"<known after apply: {TEMPLATE} {lt.name}.latestVersion>"}


def test_root_volume_is_encrypted_gp3_sized_from_config(run_stack):
    run = run_stack("prod")
    for pool, size in (("system", 100), ("general", 200), ("gpu-a10g", 100)):
        (device,) = template(run, pool)["blockDeviceMappings"]
        assert device["deviceName"] == "/dev/xvda"
        assert device["ebs"] == {"volumeSize": size, "volumeType": "gp3", "encrypted": "true",
                                 "deleteOnTermination": "true"}
        assert "diskSize" not in group(run, pool)  # the launch template owns the disk


def test_node_role_has_only_the_managed_worker_policies(run_stack):
    run = run_stack("prod")
    for pool in ("system", "gpu-a10g"):
        attached = sorted(a.inputs["policyArn"] for a in children(run, f"kubegrid-pool-{pool}",
                                                                 "aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
        assert attached == sorted(f"arn:aws:iam::aws:policy/{p}" for p in NODE_POLICIES)
        assert set(NODE_POLICIES) == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                                      "AmazonEC2ContainerRegistryPullOnly"}
        assert not children(run, f"kubegrid-pool-{pool}", "aws:iam/rolePolicy:RolePolicy")
        (role,) = children(run, f"kubegrid-pool-{pool}", "aws:iam/role:Role")
        assert group(run, pool)["nodeRoleArn"].endswith(f"<known after apply: {role.name}>")


def test_labels_and_taints_come_from_config(run_stack):
    config = config_of("dev")
    config["kubegrid:nodePools"][1]["labels"] = {"workload": "spark"}
    config["kubegrid:nodePools"][1]["taints"] = [{"key": "dedicated", "value": "spark", "effect": "NoSchedule"},
                                                 {"key": "spot", "effect": "PreferNoSchedule"}]
    run = run_stack(config=config, name="dev")
    inputs = group(run, "general")
    assert inputs["labels"] == {"workload": "spark", "kubegrid.io/pool": "general"}
    assert inputs["taints"] == [{"key": "dedicated", "value": "spark", "effect": "NO_SCHEDULE"},
                                {"key": "spot", "effect": "PREFER_NO_SCHEDULE"}]
    assert group(run_stack("dev"), "system")["labels"] == {"kubegrid.io/role": "system", "kubegrid.io/pool": "system"}
    assert "taints" not in group(run_stack("dev"), "system")


def test_gpu_pool_has_nvidia_ami_taint_labels_and_may_be_empty(run_stack):
    inputs = group(run_stack("prod"), "gpu-a10g")
    assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert inputs["labels"] == {"kubegrid.io/pool": "gpu-a10g", "kubegrid.io/gpu": "true",
                                "kubegrid.io/gpu-model": "A10G", "k8s.amazonaws.com/accelerator": "nvidia-a10g"}
    assert inputs["scalingConfig"]["minSize"] == 0 and inputs["scalingConfig"]["desiredSize"] == 0


def test_graviton_gpu_pool_gets_the_arm_nvidia_ami(run_stack):
    config = config_of("dev")
    config["kubegrid:nodePools"][2]["instanceTypes"] = ["g5g.xlarge"]
    inputs = group(run_stack(config=config, name="dev"), "gpu-l4")
    assert inputs["amiType"] == "AL2023_ARM_64_NVIDIA"
    assert inputs["labels"]["kubegrid.io/gpu-model"] == "T4G"


def test_bottlerocket_gpu_pool_sizes_its_data_volume(run_stack):
    config = config_of("dev")
    config["kubegrid:nodePools"][2]["amiFamily"] = "BOTTLEROCKET_x86_64_NVIDIA"
    run = run_stack(config=config, name="dev")
    assert group(run, "gpu-l4")["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"
    (device,) = template(run, "gpu-l4")["blockDeviceMappings"]
    assert device["deviceName"] == "/dev/xvdb" and device["ebs"]["volumeSize"] == 100


def test_spot_or_on_demand_per_pool(run_stack):
    run = run_stack("dev")
    assert [group(run, p)["capacityType"] for p in ("system", "general", "gpu-l4")] == ["ON_DEMAND", "SPOT", "SPOT"]


def test_the_autoscaler_owns_desired_size_after_creation(run_stack):
    run = run_stack("dev")
    for pool in ("system", "general", "gpu-l4"):
        options = run.named(f"kubegrid-pool-{pool}-ng")
        assert options.ignore_changes == ["scalingConfig.desiredSize"]
        assert f"kubegrid-pool-{pool}-node-role-AmazonEKSWorkerNodePolicy" in options.dependencies


def test_nodes_are_tagged_through_the_launch_template(run_stack):
    specs = template(run_stack("prod"), "general")["tagSpecifications"]
    assert [s["resourceType"] for s in specs] == ["instance", "volume", "network-interface"]
    assert all(s["tags"]["Name"] == "kubegrid-prod-general" and s["tags"]["kubegrid:stack"] == "prod" for s in specs)


def test_label_and_taint_helpers_match_the_spec():
    pool = stack_spec("prod").pool("gpu-a10g")
    assert node_labels(pool)["kubegrid.io/pool"] == "gpu-a10g"
    assert [t.toleration() for t in node_taints(pool)] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]  # any value of the GPU taint
