"""A team's insightedge jobs: the rules on the key, the pool they run on, their defaults, the Service
the connector resolves, the printed command. The real Spark 2.4 client runs them in
test_insightedge_e2e.py."""

from __future__ import annotations

import re

import pytest

from components.cluster.grid import NAMES, insightedge_image
from components.cluster.manifests import stack_objects
from components.cluster.scheduling import POOL_LABEL
from components.cluster.spark.config_map import spark_files
from components.cluster.spark.insightedge import (INSIGHTEDGE_DEFAULTS, insightedge_defaults, insightedge_pool,
                                                  locator_service)
from components.cluster.spark.sizing import pool_sizing
from components.cluster.spark.submit import spark_outputs
from components.config import load_spec
from tests.support.objects import of_kind
from tests.support.stacks import STACK_NAMES, config_of, config_problems, stack_spec


def test_insightedge_needs_spark():
    config = config_of("local")
    config["kubegrid:teams"][0]["spark"] = False
    assert config_problems(config) == ["kubegrid:teams[0].insightedge: only applies when spark is true"]


def test_insightedge_needs_a_pool_without_taints():
    config = config_of("dev")
    config["kubegrid:teams"][0]["nodePools"] = ["gpu-l4"]
    assert config_problems(config) == [
        "kubegrid:teams[0].insightedge: needs a CPU pool without NoSchedule or NoExecute taints among the team's "
        "pools (gpu-l4): the insightedge image's Spark 2.4 cannot give its pods tolerations"]
    for pool in config["kubegrid:nodePools"]:
        pool["taints"] = [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
    config["kubegrid:teams"][0]["nodePools"] = ["general"]
    assert config_problems(config)[0].startswith("kubegrid:teams[0].insightedge: needs a CPU pool without NoSchedule "
                                          "or NoExecute taints among the team's pools (general)")
    config["kubegrid:nodePools"][1]["taints"][0]["effect"] = "PreferNoSchedule"  # only a preference: allowed
    assert load_spec(config, "test").open_cpu_pools(load_spec(config, "test").teams[0])[0].name == "general"
    config["kubegrid:teams"][0]["nodePools"] = ["genral"]  # the unknown name is the one problem
    assert [p.split(":")[1] for p in config_problems(config)] == ["teams[0].nodePools[0]"]


def test_the_pool_is_the_untainted_cpu_pool_with_the_largest_executors():
    spec = stack_spec("dev")
    team = spec.teams[0]
    pool = insightedge_pool(spec, team)
    assert pool.name == "general" and not pool.gpu and not pool.taints
    assert all(pool_sizing(spec, p).executor.cpu_m <= pool_sizing(spec, pool).executor.cpu_m
               for p in spec.open_cpu_pools(team))
    conf = insightedge_defaults(spec, team)
    assert conf[f"spark.kubernetes.node.selector.{POOL_LABEL}"] == "general"
    assert conf["spark.executor.memory"] == f"{pool_sizing(spec, pool).executor.memory_mi}m"
    assert insightedge_pool(stack_spec("local"), stack_spec("local").teams[0]) is None  # mode existing: no pools


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_only_teams_with_insightedge_get_its_files_service_and_baseline(stack):
    spec = stack_spec(stack)
    objects = stack_objects(spec)
    outputs = spark_outputs(spec)
    for team in spec.teams:
        services = [s["metadata"]["name"] for s in of_kind(objects, "Service", team.name)]
        files = spark_files(spec, team) if team.spark else {}
        assert (NAMES.spark_locator_service in services) == team.insightedge
        assert (INSIGHTEDGE_DEFAULTS in files) == team.insightedge
        assert ("insightedge" in outputs.get(team.name, {})) == team.insightedge
        if team.insightedge:
            assert INSIGHTEDGE_DEFAULTS in outputs[team.name]["fetchFiles"]
            assert outputs[team.name]["insightedge"]["image"] == insightedge_image(spec)


SPARK_24_CONF = {
    "spark.kubernetes.namespace", "spark.kubernetes.container.image",
    "spark.kubernetes.authenticate.driver.serviceAccountName", "spark.driver.cores", "spark.driver.memory",
    "spark.driver.memoryOverhead", "spark.kubernetes.driver.limit.cores", "spark.executor.cores",
    "spark.kubernetes.executor.request.cores", "spark.kubernetes.executor.limit.cores", "spark.executor.memory",
    "spark.executor.memoryOverhead", "spark.kubernetes.driverEnv.SPARK_USER", "spark.executorEnv.SPARK_USER",
    "spark.insightedge.space.name", "spark.insightedge.space.manager", "spark.kubernetes.driverEnv.GS_LOOKUP_LOCATORS",
    "spark.executorEnv.GS_LOOKUP_LOCATORS", "spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions",
    f"spark.kubernetes.node.selector.{POOL_LABEL}",
}
"""Every key insightedge-defaults.conf may carry besides the pods' labels: none of Spark 3's (pod templates,
request cores of the driver, executor accounts, dynamic allocation, decommissioning, rolling event logs,
GPUs, the UI's Prometheus endpoint, contexts). test_insightedge_e2e checks each against Spark 2.4.8's jars."""


def test_the_conf_carries_only_spark_24_settings():
    for stack in ("local", "dev"):
        spec = stack_spec(stack)
        conf = insightedge_defaults(spec, spec.teams[0])
        labels = {k for k in conf if re.fullmatch(r"spark\.kubernetes\.(driver|executor)\.label\..+", k)}
        assert set(conf) - labels <= SPARK_24_CONF, set(conf) - labels - SPARK_24_CONF
        assert conf["spark.kubernetes.driver.label.kubegrid.io/spark-runtime"] == "insightedge"
        assert conf["spark.insightedge.space.manager"] == NAMES.manager
        assert not any(k.startswith("spark.eventLog") for k in conf)  # gs_user cannot share the Spark 4 claim


def test_the_locator_alias_names_the_grid_service_across_namespaces():
    spec = stack_spec("dev")
    svc = locator_service(spec, spec.teams[0])
    assert svc["metadata"] == {**svc["metadata"], "name": NAMES.spark_locator_service, "namespace": "analytics"}
    assert svc["spec"]["externalName"] == f"{NAMES.spark_locator_service}.{spec.grid.namespace}.svc.cluster.local"


def test_with_a_context_the_command_writes_that_contexts_kubeconfig_first():
    """Spark 2.4 has no spark.kubernetes.context: the command minifies the context into an owner-only file."""
    config = config_of("local")
    config["kubegrid:cluster"]["context"] = "kind-kubegrid"
    spec = load_spec(config, "local")
    command = spark_outputs(spec)["analytics"]["insightedge"]["submit"]
    assert command.startswith("(umask 077 && kubectl --context kind-kubegrid config view --minify --flatten > "
                              "kubegrid-analytics/kubeconfig) && KUBECONFIG=kubegrid-analytics/kubeconfig "
                              "insightedge-submit --master \"k8s://$(kubectl --context kind-kubegrid config view")
    plain = spark_outputs(stack_spec("local"))["analytics"]["insightedge"]["submit"]
    assert plain.startswith("insightedge-submit --master ")
    assert plain.endswith("--class org.insightedge.examples.basic.SaveRdd "
                          "local:///opt/gigaspaces/insightedge/examples/jars/insightedge-examples.jar")


def test_docs_show_the_printed_command_and_the_grid_properties():
    """docs/spark.md shows dev's insightedge command byte for byte (line continuations joined), and the
    grid properties of spark-defaults.conf as the stacks set them."""
    from components.cluster.grid import lookup_locators, rest_url
    from components.cluster.spark.pod_templates import spark_defaults
    from tests.support.stacks import ROOT
    text = (ROOT / "docs" / "spark.md").read_text()
    block = text.split("<!-- insightedge-submit -->\n```bash\n", 1)[1].split("```", 1)[0]
    spec = stack_spec("dev")
    assert block.replace("\\\n  ", "").strip() == spark_outputs(spec)["analytics"]["insightedge"]["submit"]
    conf = spark_defaults(spec, spec.teams[0])
    for key in ("spark.insightedge.space.name", "spark.insightedge.space.manager", "spark.driver.extraJavaOptions"):
        assert f"| `{key}`" in text and f"`{conf[key]}`" in text, key
    assert f"`{lookup_locators(stack_spec('local'))}`" in text
    assert f"`{rest_url(spec)}/v2/info`" in text


def test_the_image_follows_the_grid_mirror_when_the_grid_runs_insightedge():
    config = config_of("dev")
    config["kubegrid:grid"].update(product="insightedge", imageRepository="registry.example.com/gs/insightedge")
    spec = load_spec(config, "dev")
    assert insightedge_defaults(spec, spec.teams[0])["spark.kubernetes.container.image"] == \
        "registry.example.com/gs/insightedge:16.4.0"
    assert insightedge_image(stack_spec("dev")) == "gigaspaces/insightedge-enterprise:16.4.0"  # smart-cache grid


def test_the_spark_pod_monitor_leaves_out_insightedge_drivers():
    """Spark 2.4's UI has no /metrics/executors/prometheus: scraping it would show the drivers as down."""
    from components.cluster.observability.monitors import spark_monitor
    from tests.support.netpol import matches as matches_selector
    selector = spark_monitor(stack_spec("dev"))["spec"]["selector"]
    spec = stack_spec("dev")
    conf = insightedge_defaults(spec, spec.teams[0])
    prefix = "spark.kubernetes.driver.label."
    driver = {k.removeprefix(prefix): v for k, v in conf.items() if k.startswith(prefix)} | {"spark-role": "driver"}
    assert not matches_selector(selector, driver)
    assert matches_selector(selector, {k: v for k, v in driver.items() if k != "kubegrid.io/spark-runtime"})
