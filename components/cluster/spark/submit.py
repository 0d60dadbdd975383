"""What a team needs to run Spark, as the `spark` stack output: executor
sizes per pool, and ready commands to fetch the team's Spark files and to
submit a CPU and a GPU job (Spark's SparkPi example from the image; replace
the class and jar with your application), and for a team with ``insightedge``
a job on the insightedge image that writes to the grid (GigaSpaces' SaveRdd).

The commands run where `kubectl` reaches the cluster and a Spark
distribution of the image's version provides spark-submit; the API server
address comes from the kubeconfig, so the same command serves every stack.
"""

from __future__ import annotations

import shlex
from typing import Any, Optional

from ...config import StackSpec, TeamSpec
from ..grid import NAMES, SPACE_NAME, insightedge_image, lookup_locators
from . import insightedge as ie
from .names import CONFIG_MAP, EXAMPLES_JAR, SPARK_VERSION, team_image
from .pod_templates import (CPU_EXECUTOR_TEMPLATE, DRIVER_TEMPLATE, GPU_EXECUTOR_TEMPLATE, SPARK_DEFAULTS,
                            executor_conf, gpu_conf, local_dir, standing_use)
from .sizing import (DRIVER, ExecutorSize, Sizing, cpu_executor, cpu_pools, cpu_sizing, executors_in_quota, gpu_executor,
                     gpu_pools, gpu_sizing, pool_sizing)

EXAMPLE_CLASS = "org.apache.spark.examples.SparkPi"


def kubectl(spec: StackSpec) -> str:
    return f"kubectl --context {shlex.quote(spec.cluster.context)}" if spec.cluster.context else "kubectl"


def fetch_command(spec: StackSpec, team: TeamSpec) -> str:
    """Copies the team's spark-defaults.conf and pod templates from its ConfigMap into ./kubegrid-<team>/."""
    files = [SPARK_DEFAULTS, DRIVER_TEMPLATE, CPU_EXECUTOR_TEMPLATE]
    if gpu_executor(spec, team) is not None:
        files.append(GPU_EXECUTOR_TEMPLATE)
    if team.insightedge:
        files.append(ie.INSIGHTEDGE_DEFAULTS)
    d = local_dir(team)
    return (f"mkdir -p {d} && for f in {' '.join(files)}; do {kubectl(spec)} -n {team.name} get configmap "
            f"{CONFIG_MAP} -o \"go-template={{{{index .data \\\"$f\\\"}}}}\" > \"{d}/$f\"; done")


def instances(spec: StackSpec, team: TeamSpec, size: ExecutorSize, target: Optional[Sizing]) -> int:
    """Executors of a printed job: as many as one node of ``target`` holds and the quota allows."""
    return max(1, min(target.per_node if target else 1, executors_in_quota(team, size, standing_use(spec, team))))


def cluster_submit(spec: StackSpec, program: str, name: str, defaults: str, conf: dict[str, str],
                   app: list[str]) -> str:
    """``program`` (a spark-submit) in cluster mode against the kubeconfig's API server."""
    server = f"$({kubectl(spec)} config view --minify -o jsonpath='{{.clusters[0].cluster.server}}')"
    return " ".join([program, f"--master \"k8s://{server}\"", "--deploy-mode cluster", f"--name {name}",
                     f"--properties-file {defaults}", *(f"--conf {key}={value}" for key, value in conf.items()),
                     *app])


def submit_command(spec: StackSpec, team: TeamSpec, size: ExecutorSize, extra: dict[str, str], kind: str) -> str:
    """spark-submit of the SparkPi example with ``size`` executors, as many as one node holds and the quota allows."""
    target = (gpu_sizing if size.gpus else cpu_sizing)(spec, team)
    conf = {"spark.executor.instances": str(instances(spec, team, size, target)), **extra}
    if spec.cluster.context:
        conf["spark.kubernetes.context"] = shlex.quote(spec.cluster.context)
    return cluster_submit(spec, "spark-submit", f"{team.name}-{kind}-pi", f"{local_dir(team)}/{SPARK_DEFAULTS}",
                          conf, [f"--class {EXAMPLE_CLASS}", EXAMPLES_JAR, "1000"])


def insightedge_submit_command(spec: StackSpec, team: TeamSpec) -> str:
    """insightedge-submit of GigaSpaces' SaveRdd example (writes products to the grid's space) on the
    insightedge image. Spark 2.4 has no ``spark.kubernetes.context``: with a context, the command first
    writes that context's kubeconfig (owner-only) next to the team's files and points KUBECONFIG at it."""
    size = ie.insightedge_executor(spec, team)
    conf = {"spark.executor.instances": str(instances(spec, team, size, ie.insightedge_sizing(spec, team)))}
    command = cluster_submit(spec, ie.SUBMIT, f"{team.name}-grid-save-rdd", f"{local_dir(team)}/{ie.INSIGHTEDGE_DEFAULTS}",
                             conf, [f"--class {ie.SAVE_RDD_CLASS}", ie.INSIGHTEDGE_EXAMPLES_JAR])
    if not spec.cluster.context:
        return command
    kubeconfig = f"{local_dir(team)}/kubeconfig"
    return (f"(umask 077 && {kubectl(spec)} config view --minify --flatten > {kubeconfig}) && "
            f"KUBECONFIG={kubeconfig} {command}")


def team_output(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    """A Spark team's entry in the `spark` stack output."""
    cpu = cpu_executor(spec, team)
    out: dict[str, Any] = {
        "namespace": team.name, "image": team_image(team), "sparkVersion": SPARK_VERSION, "configMap": CONFIG_MAP,
        "grid": {"space": SPACE_NAME, "manager": NAMES.manager, "lookupLocators": lookup_locators(spec)},
        "driver": {"cores": DRIVER.cores, "memory": f"{DRIVER.memory_mi}m", "memoryOverhead": f"{DRIVER.overhead_mi}m"},
        "pools": {p.name: pool_sizing(spec, p).figures() for p in cpu_pools(spec, team) + gpu_pools(spec, team)},
        "cpuExecutor": executor_conf(cpu),
        "fetchFiles": fetch_command(spec, team),
        "sparkSubmitCpu": submit_command(spec, team, cpu, {}, "cpu"),
    }
    gpu = gpu_executor(spec, team)
    if gpu is not None:
        extra = gpu_conf(team, gpu, standing_use(spec, team))
        out["gpuExecutor"] = extra
        out["sparkSubmitGpu"] = submit_command(spec, team, gpu, extra, "gpu")
    if team.insightedge:
        pool = ie.insightedge_pool(spec, team)
        out["insightedge"] = {"image": insightedge_image(spec), "sparkVersion": ie.INSIGHTEDGE_SPARK_VERSION,
                              "defaultsFile": ie.INSIGHTEDGE_DEFAULTS, "pool": pool.name if pool else None,
                              "executor": executor_conf(ie.insightedge_executor(spec, team)),
                              "submit": insightedge_submit_command(spec, team)}
    return out


def spark_outputs(spec: StackSpec) -> dict[str, Any]:
    """The `spark` stack output: one entry per team with Spark on."""
    return {team.name: team_output(spec, team) for team in spec.teams if team.spark}
