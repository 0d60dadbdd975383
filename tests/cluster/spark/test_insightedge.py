"""A team's insightedge jobs: the rules on the key, the pool they run on, their defaults, the Service
the connector resolves, the printed command. The real Spark 2.4 client runs them in
test_insightedge_e2e.py."""

from __future__ import annotations

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
from components.config.reader import ConfigError
from tests.support.objects import of_kind
from tests.support.stacks import STACK_NAMES, config_of, stack_spec


def problems(config) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_spec(config, "test")
    return [str(p) for p in caught.value.problems]


def test_insightedge_needs_spark():
    config = config_of("local")
    config["kubegrid:teams"][0]["spark"] = False
    assert problems(config) == ["kubegrid:teams[0].insightedge: only applies when spark is true"]


def test_insightedge_needs_a_pool_without_taints():
    config = config_of("dev")
    config["kubegrid:teams"][0]["nodePools"] = ["gpu-l4"]
    assert problems(config) == [
        "kubegrid:teams[0].insightedge: needs a CPU pool without taints among the team's pools (gpu-l4): the "
        "insightedge image's Spark 2.4 cannot give its pods tolerations"]
    for pool in config["kubegrid:nodePools"]:
        pool["taints"] = [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
    config["kubegrid:teams"][0]["nodePools"] = ["general"]
    assert problems(config)[0].startswith("kubegrid:teams[0].insightedge: needs a CPU pool without taints "
                                          "among the team's pools (general)")
    config["kubegrid:teams"][0]["nodePools"] = ["genral"]  # the unknown name is the one problem
    assert [p.split(":")[1] for p in problems(config)] == ["teams[0].nodePools[0]"]


def test_the_pool_is_the_untainted_cpu_pool_with_the_largest_executors():
    spec = stack_spec("dev")
    team = spec.teams[0]
    pool = insightedge_pool(spec, team)
    assert pool.name == "general" and not pool.gpu and not pool.taints
    assert all(pool_sizing(spec, p).executor.cpu_m <= pool_sizing(spec, pool).executor.cpu_m
               for p in spec.untainted_cpu_pools(team))
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


def test_the_conf_carries_no_spark_3_setting():
    """Spark 2.4 would ignore them without a word; test_insightedge_e2e checks every key against its jars."""
    for stack in ("local", "dev"):
        spec = stack_spec(stack)
        conf = insightedge_defaults(spec, spec.teams[0])
        assert not [k for k in conf if "podTemplate" in k or "dynamicAllocation" in k or "decommission" in k
                    or "rolling" in k or "resource.gpu" in k or k.startswith("spark.hadoop.fs.s3a")]
        assert conf["spark.insightedge.space.manager"] == NAMES.manager


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
