"""NVIDIA device plugin: official chart, GPU nodes only, feature discovery on, not on Bottlerocket."""

from __future__ import annotations

from components.cluster.charts import DEVICE_PLUGIN_CHART_VERSION as CHART_VERSION
from components.cluster.charts import device_plugin_release
from components.config import load_spec
from tests.support.stacks import config_of

RELEASE = "kubernetes:helm.sh/v3:Release"


def plugin(run):
    return [r for r in run.of_type(RELEASE) if r.inputs["name"] == "nvidia-device-plugin"]


def pool_affinity(values) -> list[str]:
    (term,) = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    assert expression["key"] == "kubegrid.io/pool" and expression["operator"] == "In"
    return expression["values"]


def test_official_chart_pinned_on_gpu_nodes_only(run_stack):
    (release,) = plugin(run_stack("prod"))
    inputs = release.inputs
    assert inputs["repositoryOpts"] == {"repo": "https://nvidia.github.io/k8s-device-plugin"}
    assert inputs["chart"] == "nvidia-device-plugin" and inputs["version"] == CHART_VERSION == "0.17.4"
    assert pool_affinity(inputs["values"]) == ["gpu-a10g"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in inputs["values"]["tolerations"]


def test_gpu_feature_discovery_is_on_and_its_worker_reaches_gpu_nodes(run_stack):
    (release,) = plugin(run_stack("dev"))
    values = release.inputs["values"]
    assert values["gfd"] == {"enabled": True} and values["nfd"]["enabled"] is True
    worker = values["nfd"]["worker"]
    assert worker["nodeSelector"] == {"kubegrid.io/gpu": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in worker["tolerations"]


def test_plugin_tolerates_extra_taints_of_gpu_pools(run_stack):
    config = config_of("dev")
    config["kubegrid:nodePools"][2]["taints"] = [{"key": "team", "value": "ml", "effect": "NoSchedule"}]
    (release,) = plugin(run_stack(config=config, name="dev"))
    assert {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoSchedule"} in release.inputs["values"]["tolerations"]


def test_not_deployed_where_bottlerocket_ships_the_plugin(run_stack):
    config = config_of("dev")
    config["kubegrid:nodePools"][2]["amiFamily"] = "BOTTLEROCKET_x86_64_NVIDIA"
    run = run_stack(config=config, name="dev")
    assert plugin(run) == [] and not run.of_type("kubegrid:index:NvidiaDevicePlugin")
    assert device_plugin_release(load_spec(config_of("dev") | {"kubegrid:nodePools": config["kubegrid:nodePools"]}, "dev")) is None


def test_mixed_pools_only_target_the_pools_without_the_plugin(run_stack):
    config = config_of("dev")
    bottlerocket = dict(config["kubegrid:nodePools"][2], name="gpu-br", amiFamily="BOTTLEROCKET_x86_64_NVIDIA")
    config["kubegrid:nodePools"].append(bottlerocket)
    (release,) = plugin(run_stack(config=config, name="dev"))
    assert pool_affinity(release.inputs["values"]) == ["gpu-l4"]


def test_no_gpu_pool_no_plugin(run_stack):
    config = config_of("dev")
    del config["kubegrid:nodePools"][2]
    config["kubegrid:teams"][0]["quota"]["gpus"] = 0
    assert plugin(run_stack(config=config, name="dev")) == []
