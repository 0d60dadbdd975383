"""The `spark` stack output: sizes and ready commands, shown by `kubegrid plan`."""

from __future__ import annotations

import copy

from components.offline import cli
from components.cluster.spark.names import EXAMPLES_JAR
from components.cluster.spark.pod_templates import executor_conf
from components.cluster.spark.sizing import pool_sizing
from tests.support.stacks import stack_config, stack_spec


def test_every_spark_team_gets_sizes_and_commands(run_stack, each_stack):
    outputs = run_stack(each_stack).outputs["spark"]
    spec = stack_spec(each_stack)
    assert set(outputs) == {t.name for t in spec.teams if t.spark}
    for team in spec.teams:
        out = outputs[team.name]
        for pool in spec.team_pools(team):
            if not pool.gpu or team.quota.gpus:
                assert out["pools"][pool.name] == pool_sizing(spec, pool).figures()
        assert out["sparkSubmitCpu"].startswith("spark-submit --master \"k8s://$(kubectl config view --minify")
        assert f"--properties-file kubegrid-{team.name}/spark-defaults.conf" in out["sparkSubmitCpu"]
        assert out["sparkSubmitCpu"].endswith(f"{EXAMPLES_JAR} 1000")
        assert f"-n {team.name} get configmap kubegrid-spark" in out["fetchFiles"]


def test_prod_figures_and_commands():
    from components.cluster.spark.submit import spark_outputs

    spec = stack_spec("prod")
    out = spark_outputs(spec)
    general = pool_sizing(spec, spec.pool("general"))
    assert out["risk"]["cpuExecutor"] == executor_conf(general.executor)
    assert "--conf spark.executor.instances=4 " in out["risk"]["sparkSubmitCpu"]  # one node's worth
    assert "sparkSubmitGpu" not in out["risk"]
    gpu = out["analytics"]["sparkSubmitGpu"]
    for flag in ("spark.executor.resource.gpu.amount=1", "spark.task.resource.gpu.amount=0.0625",
                 "spark.kubernetes.executor.podTemplateFile=kubegrid-analytics/executor-gpu-template.yaml",
                 "spark.executor.instances=1", "spark.executor.cores=16"):
        assert f"--conf {flag} " in gpu
    assert "executor-gpu-template.yaml" in out["analytics"]["fetchFiles"]


def test_instances_are_capped_by_the_quota():
    from components.cluster.spark.submit import spark_outputs
    from components.config import load_spec

    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:teams"][1]["quota"].update(cpu=10, memoryGiB=200)  # room for 2 executors of 3.92 CPU
    out = spark_outputs(load_spec(config, "prod"))
    assert "--conf spark.executor.instances=2 " in out["risk"]["sparkSubmitCpu"]


def test_a_kubeconfig_context_is_used_everywhere():
    from components.cluster.spark.submit import spark_outputs
    from components.config import load_spec

    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:cluster"]["context"] = "kind-kubegrid"
    out = spark_outputs(load_spec(config, "local"))["analytics"]
    assert "kubectl --context kind-kubegrid config view" in out["sparkSubmitCpu"]
    assert "--conf spark.kubernetes.context=kind-kubegrid " in out["sparkSubmitCpu"]
    assert "kubectl --context kind-kubegrid -n analytics" in out["fetchFiles"]


def test_plan_shows_the_spark_output(capsys):
    assert cli.main(["plan", "local"]) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert "sparkSubmitCpu: spark-submit" in text and "executorMemoryOverhead" not in text  # no pools locally
    assert "spark.executor.memory: 2048m" in text


def test_the_output_says_which_space_and_manager_a_job_uses():
    from components.cluster.grid import NAMES, SPACE_NAME, lookup_locators
    from components.cluster.spark.submit import spark_outputs

    spec = stack_spec("prod")
    for entry in spark_outputs(spec).values():
        assert entry["grid"] == {"space": SPACE_NAME, "manager": NAMES.manager, "lookupLocators": lookup_locators(spec)}
