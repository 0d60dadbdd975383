"""Scale from zero: the Cluster Autoscaler chart, its least-privilege role, and each pool's template hints."""

from __future__ import annotations

import pytest

from components.cluster.charts import AUTOSCALER_CHART_VERSION as CHART_VERSION
from components.cluster.charts import remote_releases as helm_releases
from tests.support.stacks import config_of
from tests.support.aws import children, policy
from tests.support.stacks import stack_spec

RELEASE = "kubernetes:helm.sh/v3:Release"
TAG = "aws:autoscaling/tag:Tag"
HINT = "k8s.io/cluster-autoscaler/node-template"


def release(run):
    (found,) = [r for r in run.of_type(RELEASE) if r.inputs["name"] == "cluster-autoscaler"]
    return found


def hints(run, pool: str) -> dict[str, str]:
    tags = children(run, f"kubegrid-pool-{pool}", TAG)
    return {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in tags}


def test_official_chart_pinned_with_auto_discovery(run_stack):
    inputs = release(run_stack("prod")).inputs
    assert inputs["repositoryOpts"] == {"repo": "https://kubernetes.github.io/autoscaler"}
    assert inputs["chart"] == "cluster-autoscaler" and inputs["version"] == CHART_VERSION == "9.52.1"
    assert inputs["namespace"] == "kube-system"
    values = inputs["values"]
    assert values["cloudProvider"] == "aws" and values["awsRegion"] == "eu-west-1"
    assert values["autoDiscovery"] == {"clusterName": "kubegrid-prod"}
    assert values["rbac"]["serviceAccount"] == {"create": True, "name": "cluster-autoscaler"}
    assert values["image"] == {"tag": "v1.34.2"}
    assert values["nodeSelector"] == {"kubegrid.io/pool": "system"}  # never on a pool that scales to zero
    assert values["extraArgs"]["skip-nodes-with-local-storage"] is False  # idle Spark nodes are removed


def test_rendered_release_is_exactly_what_is_applied(run_stack):
    for stack in ("dev", "prod"):
        rendered = {r["name"]: r for r in helm_releases(stack_spec(stack))}
        for applied in run_stack(stack).of_type(RELEASE):
            if applied.inputs["name"] not in rendered:
                continue  # the grid chart, rendered by the grid's own code
            want = rendered.pop(applied.inputs["name"])
            assert applied.inputs["values"] == want["values"]
            assert (applied.inputs["chart"], applied.inputs["version"], applied.inputs["namespace"],
                    applied.inputs["repositoryOpts"]["repo"]) == (want["chart"], want["version"], want["namespace"], want["repo"])
        assert rendered == {}


def test_pod_identity_role_for_the_autoscaler_service_account(run_stack):
    run = run_stack("prod")
    (association,) = children(run, "kubegrid-autoscaler", "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.inputs["namespace"] == "kube-system"
    assert association.inputs["serviceAccount"] == "cluster-autoscaler"
    assert association.inputs["clusterName"] == "kubegrid-prod"
    (role,) = children(run, "kubegrid-autoscaler", "aws:iam/role:Role")
    assert association.inputs["roleArn"].endswith(f"<known after apply: {role.name}>")
    condition = policy(role)["Statement"][0]["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/kubernetes-service-account"] == "cluster-autoscaler"
    assert condition["aws:RequestTag/eks-cluster-arn"].startswith("arn:aws:eks:")
    # the pod starts after its credentials are associated
    assert "kubegrid-autoscaler-pod-identity" in run.named("kubegrid-autoscaler-release").dependencies


def test_autoscaler_policy_is_least_privilege(run_stack):
    run = run_stack("prod")
    (inline,) = children(run, "kubegrid-autoscaler", "aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in policy(inline)["Statement"]}
    assert set(statements) == {"Read", "DescribeOwnNodeGroups", "ScaleOwnNodeGroups"}
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["Read"]["Action"])
    assert statements["DescribeOwnNodeGroups"]["Action"] == ["eks:DescribeNodegroup"]
    assert statements["DescribeOwnNodeGroups"]["Resource"] == "arn:aws:eks:eu-west-1:123456789012:nodegroup/kubegrid-prod/*/*"
    write = statements["ScaleOwnNodeGroups"]
    assert sorted(write["Action"]) == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert write["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/kubegrid-prod": "owned"}}
    every_action = [a for s in statements.values() for a in s["Action"]]
    assert not [a for a in every_action if "*" in a]
    writes = [a for a in every_action if not a.split(":")[1].startswith(("Describe", "Get"))]
    assert sorted(writes) == sorted(write["Action"])
    assert not children(run, "kubegrid-autoscaler", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_pool_carries_its_node_template_hints(run_stack, stack):
    run = run_stack(stack)
    for pool in stack_spec(stack).node_pools:
        found = hints(run, pool.name)
        assert found[f"{HINT}/label/kubegrid.io/pool"] == pool.name
        for key, value in pool.labels.items():
            assert found[f"{HINT}/label/{key}"] == value
        assert found[f"{HINT}/resources/ephemeral-storage"] == f"{pool.disk_gib}Gi"
        for tag in children(run, f"kubegrid-pool-{pool.name}", TAG):
            assert tag.inputs["tag"]["propagateAtLaunch"] is False
            (group,) = children(run, f"kubegrid-pool-{pool.name}", "aws:eks/nodeGroup:NodeGroup")
            assert tag.inputs["autoscalingGroupName"] == (
                f"<known after apply: aws:eks/nodeGroup:NodeGroup {group.name}.autoScalingGroup.name>")


def test_gpu_pool_hints_say_gpu_count_taint_and_labels(run_stack):
    found = hints(run_stack("prod"), "gpu-a10g")
    assert found == {
        f"{HINT}/label/kubegrid.io/pool": "gpu-a10g",
        f"{HINT}/label/kubegrid.io/gpu": "true",
        f"{HINT}/label/kubegrid.io/gpu-model": "A10G",
        f"{HINT}/label/k8s.amazonaws.com/accelerator": "nvidia-a10g",
        f"{HINT}/taint/nvidia.com/gpu": "true:NoSchedule",
        f"{HINT}/resources/nvidia.com/gpu": "1",
        f"{HINT}/resources/ephemeral-storage": "100Gi",
    }
    assert "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu" not in hints(run_stack("prod"), "general")


def test_multi_gpu_instance_and_config_taints_are_hinted(run_stack):
    config = config_of("dev")
    config["kubegrid:nodePools"][2].update({"instanceTypes": ["g6.12xlarge"],
                                            "taints": [{"key": "team", "value": "ml", "effect": "NoExecute"}]})
    found = hints(run_stack(config=config, name="dev"), "gpu-l4")
    assert found[f"{HINT}/resources/nvidia.com/gpu"] == "4"
    assert found[f"{HINT}/taint/team"] == "ml:NoExecute"
