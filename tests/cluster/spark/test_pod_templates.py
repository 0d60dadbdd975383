"""Pod templates and spark-defaults.conf: valid Pods, restricted, on the right pools, reading the grid."""

from __future__ import annotations

import copy
import json
import math
import os
import stat
import subprocess

import kubernetes_validate
import pytest
import yaml

from components.cluster.grid import NAMES, grid_values, lookup_locators
from components.config.instance_types import SHAPES
from components.cluster.manifests import stack_objects as cluster_objects
from components.offline.render import render_chart
from components.cluster.grid import SPACE_NAME
from components.cluster.spark.names import CONFIG_MAP, SPARK_IMAGE, team_image
from components.cluster.spark.pod_templates import (CPU_EXECUTOR_TEMPLATE, DRIVER_TEMPLATE, GPU_DISCOVERY, GPU_DISCOVERY_SCRIPT,
                                            GPU_EXECUTOR_TEMPLATE, GPU_SCRIPT_DIR, SPARK_DEFAULTS, gpu_conf)
from components.cluster.daemonsets import EKS_ADDONS
from components.cluster.spark.sizing import ExecutorSize, gpu_executor, pool_sizing, sizing
from components.config import load_spec
from components.cluster.grid import PORTS
from tests.support.stacks import ROOT, stack_config, stack_spec
from tests.support.pod_security import restricted_violations
from tests.support.spark import parse_properties
from tests.support.objects import named

TEMPLATES = (DRIVER_TEMPLATE, CPU_EXECUTOR_TEMPLATE, GPU_EXECUTOR_TEMPLATE)


def spark_files(spec, team: str) -> dict[str, str]:
    return named(cluster_objects(spec), "ConfigMap", team, CONFIG_MAP)["data"]


def templates(spec, team: str) -> dict[str, dict]:
    files = spark_files(spec, team)
    return {name: yaml.safe_load(files[name]) for name in TEMPLATES if name in files}


def pools_of(template: dict) -> list[str]:
    terms = template["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    (term,) = terms["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    assert expression["key"] == "kubegrid.io/pool" and expression["operator"] == "In"
    return expression["values"]


def test_every_template_validates_as_a_pod_and_is_restricted(each_stack):
    spec = stack_spec(each_stack)
    for team in spec.teams:
        for name, template in templates(spec, team.name).items():
            kubernetes_validate.validate(template, spec.cluster.kubernetes_version, strict=True)
            assert restricted_violations(template["spec"]) == [], name
            (container,) = template["spec"]["containers"]
            assert container["image"] == team_image(team)
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/tmp", "/opt/spark/work-dir"}


def test_only_the_driver_gets_an_api_token():
    found = templates(stack_spec("prod"), "analytics")
    assert found[DRIVER_TEMPLATE]["spec"]["serviceAccountName"] == "spark-driver"
    assert found[DRIVER_TEMPLATE]["spec"]["automountServiceAccountToken"] is True
    for name in (CPU_EXECUTOR_TEMPLATE, GPU_EXECUTOR_TEMPLATE):
        assert found[name]["spec"]["serviceAccountName"] == "spark-executor"
        assert found[name]["spec"]["automountServiceAccountToken"] is False


def test_gpu_executors_go_to_gpu_pools_with_a_gpu_and_the_discovery_script():
    spec = stack_spec("prod")
    gpu = templates(spec, "analytics")[GPU_EXECUTOR_TEMPLATE]
    assert pools_of(gpu) == ["gpu-a10g"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu["spec"]["tolerations"]
    (container,) = gpu["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    (volume,) = [v for v in gpu["spec"]["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == CONFIG_MAP and volume["configMap"]["defaultMode"] & stat.S_IXOTH
    assert volume["configMap"]["items"] == [{"key": GPU_DISCOVERY_SCRIPT, "path": GPU_DISCOVERY_SCRIPT}]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount["mountPath"] == GPU_SCRIPT_DIR and mount["readOnly"] is True
    # The GPU job names vendor and discovery script; spark-defaults.conf must not, or every CPU job of
    # the team fails at start ("You must specify an amount for gpu", found by the real Spark client).
    conf = parse_properties(spark_files(spec, "analytics")[SPARK_DEFAULTS])
    assert not [key for key in conf if key.startswith("spark.executor.resource.gpu.")]
    team = next(t for t in spec.teams if t.name == "analytics")
    extra = gpu_conf(team, gpu_executor(spec, team))
    assert extra["spark.executor.resource.gpu.discoveryScript"] == f"{GPU_SCRIPT_DIR}/{GPU_DISCOVERY_SCRIPT}"
    assert extra["spark.executor.resource.gpu.vendor"] == "nvidia.com"
    assert extra["spark.executor.resource.gpu.amount"] == "1"


def test_drivers_and_cpu_executors_stay_off_gpu_nodes():
    spec = stack_spec("prod")
    for team in spec.teams:
        found = templates(spec, team.name)
        for name in (DRIVER_TEMPLATE, CPU_EXECUTOR_TEMPLATE):
            assert pools_of(found[name]) == [p.name for p in spec.team_pools(team) if not p.gpu]
            assert "tolerations" not in found[name]["spec"]
            assert "nvidia.com/gpu" not in found[name]["spec"]["containers"][0]["resources"]["limits"]
    assert pools_of(templates(spec, "risk")[CPU_EXECUTOR_TEMPLATE]) == ["general"]


def test_templates_tolerate_the_taints_of_their_pools():
    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:nodePools"][1]["taints"] = [{"key": "dedicated", "value": "spark", "effect": "NoSchedule"}]
    found = templates(load_spec(config, "prod"), "risk")
    assert found[CPU_EXECUTOR_TEMPLATE]["spec"]["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "spark", "effect": "NoSchedule"}]


def test_no_gpu_template_where_no_gpu_pool_or_quota():
    local_files = set(spark_files(stack_spec("local"), "analytics")) - {"insightedge-defaults.conf"}
    assert local_files == {SPARK_DEFAULTS, DRIVER_TEMPLATE, CPU_EXECUTOR_TEMPLATE}
    assert GPU_EXECUTOR_TEMPLATE not in spark_files(stack_spec("prod"), "risk")
    local = templates(stack_spec("local"), "analytics")
    assert all("affinity" not in t["spec"] for t in local.values())  # no pools known: anywhere


def test_templates_carry_the_sized_resources():
    spec = stack_spec("prod")
    found = templates(spec, "analytics")
    executor = pool_sizing(spec, spec.pool("general")).executor
    resources = found[CPU_EXECUTOR_TEMPLATE]["spec"]["containers"][0]["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": f"{executor.cpu_m}m",
                                                             "memory": f"{executor.pod_memory_mi}Mi"}


def test_spark_defaults_name_namespace_accounts_templates_and_the_grid(each_stack):
    spec = stack_spec(each_stack)
    for team in spec.teams:
        files = spark_files(spec, team.name)
        conf = parse_properties(files[SPARK_DEFAULTS])
        assert conf["spark.kubernetes.namespace"] == team.name
        assert conf["spark.kubernetes.authenticate.driver.serviceAccountName"] == "spark-driver"
        assert conf["spark.kubernetes.authenticate.executor.serviceAccountName"] == "spark-executor"
        assert conf["spark.kubernetes.container.image"] == team_image(team)
        assert (team_image(team) == SPARK_IMAGE) == (not team.s3_access)  # S3 teams run the S3A image
        if team.s3_access:
            assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"] == (
                "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider")
            assert conf["spark.hadoop.fs.s3a.endpoint.region"] == spec.region
        for key, template in (("driver", DRIVER_TEMPLATE), ("executor", CPU_EXECUTOR_TEMPLATE)):
            assert conf[f"spark.kubernetes.{key}.podTemplateFile"] == f"kubegrid-{team.name}/{template}"
            assert template in files
        assert conf["spark.insightedge.space.manager"] == NAMES.manager
        assert "spark.insightedge.space.lookup.locators" not in conf  # the 16.x connector reads no locators key
        assert conf["spark.executorEnv.GS_LOOKUP_LOCATORS"] == lookup_locators(spec)
        assert conf["spark.insightedge.space.name"] == SPACE_NAME
        first, last = PORTS.lrmi_first, PORTS.lrmi_last
        assert conf["spark.executor.extraJavaOptions"] == f"-Dcom.gs.transport_protocol.lrmi.bind-port={first}-{last}"
        # CPU limits are set, so executors are admitted under the quota's limits.cpu.
        assert conf["spark.kubernetes.executor.limit.cores"] == conf["spark.kubernetes.executor.request.cores"]
        assert conf["spark.kubernetes.driver.limit.cores"] == conf["spark.kubernetes.driver.request.cores"]


def test_the_grid_contract_matches_the_chart():
    """Space name and LRMI port range: what the Spark side uses is what the chart serves."""
    values = yaml.safe_load((ROOT / "charts" / "kubegrid" / "values.yaml").read_text())
    assert values["partitions"]["spaceName"] == SPACE_NAME
    spec = stack_spec("prod")
    chart = [r.obj for r in render_chart(grid_values(spec), spec.grid.namespace)]
    lrmi = {(p["port"], p["endPort"]) for o in chart if o["kind"] == "NetworkPolicy"
            for rule in o["spec"].get("ingress", []) for p in rule.get("ports", []) if "endPort" in p}
    assert lrmi == {(PORTS.lrmi_first, PORTS.lrmi_last)}


@pytest.mark.parametrize("cores", sorted({sizing(s, EKS_ADDONS).executor.cores for s in SHAPES.values() if s.is_gpu}))
def test_task_gpu_amount_gives_every_task_slot_a_share(cores):
    amount = float(gpu_conf(stack_spec("prod").teams[0], ExecutorSize(cores, cores * 1000, 1024, 384, 1))[
        "spark.task.resource.gpu.amount"])
    assert math.floor(1.0 / amount) == cores  # Spark: tasks per GPU = floor(1 / amount)


def test_gpu_discovery_script_reports_the_gpus_nvidia_smi_lists(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/usr/bin/env bash\nprintf '0\\n 1\\n'\n")
    fake.chmod(0o755)
    script = tmp_path / GPU_DISCOVERY_SCRIPT
    script.write_text(GPU_DISCOVERY)
    script.chmod(0o755)
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True,
                         env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}).stdout
    assert json.loads(out) == {"name": "gpu", "addresses": ["0", "1"]}
