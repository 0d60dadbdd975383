"""The remote charts' releases as plain data: pinned versions, placement and tolerations."""

from __future__ import annotations

from components.cluster.charts import (AUTOSCALER_NAME, CRITICAL_ADDONS_ONLY, DEVICE_PLUGIN_NAME, autoscaler_image_tag,
                                       autoscaler_release, device_plugin_release, remote_releases, system_pool)
from components.config import load_spec
from tests.support.stacks import config_of, stack_spec


def test_image_follows_the_kubernetes_minor_version():
    assert autoscaler_image_tag("1.34") == "v1.34.2" and autoscaler_image_tag("1.33") == "v1.33.3"
    assert autoscaler_image_tag("1.36") == "v1.36.0"


def test_autoscaler_tolerates_the_taints_of_its_home_pool():
    config = config_of("dev")
    config["kubegrid:nodePools"][0]["taints"] = [{"key": "CriticalAddonsOnly", "effect": "NoSchedule"}]
    values = autoscaler_release(load_spec(config, "dev"))["values"]
    assert values["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]


def test_the_autoscaler_lives_on_a_pool_that_never_scales_to_zero():
    for stack in ("dev", "staging", "prod"):
        spec = stack_spec(stack)
        home = system_pool(spec)
        assert not home.gpu and home.min_size >= 1
        assert autoscaler_release(spec)["values"]["nodeSelector"] == {"kubegrid.io/pool": home.name}


def test_device_plugin_tolerates_critical_addons_and_any_gpu_taint_value():
    values = device_plugin_release(stack_spec("prod"))["values"]
    assert values["tolerations"][0] == CRITICAL_ADDONS_ONLY
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]


def test_remote_releases_in_install_order_and_none_outside_eks():
    assert [r["name"] for r in remote_releases(stack_spec("prod"))] == [
        AUTOSCALER_NAME, DEVICE_PLUGIN_NAME, "kube-prometheus-stack", "dcgm-exporter"]  # prod has monitoring on
    assert remote_releases(stack_spec("local")) == []
