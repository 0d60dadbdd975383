"""The team's Spark files in one ConfigMap (:data:`~.names.CONFIG_MAP`):
spark-defaults.conf, the pod templates and the GPU discovery script of its
Spark 4 jobs, and for a team with ``insightedge`` the insightedge image's
``insightedge-defaults.conf``. spark-submit users fetch them
(:func:`~.submit.fetch_command`)."""

from __future__ import annotations

from typing import Any

from ...config import StackSpec, TeamSpec
from .. import labels, yaml_text
from .insightedge import INSIGHTEDGE_DEFAULTS, insightedge_defaults
from .names import CONFIG_MAP
from .pod_templates import (CPU_EXECUTOR_TEMPLATE, DRIVER_TEMPLATE, GPU_DISCOVERY, GPU_DISCOVERY_SCRIPT,
                            GPU_EXECUTOR_TEMPLATE, RAPIDS_OPTION, SPARK_DEFAULTS, cpu_executor_template,
                            driver_template, gpu_executor_template, local_dir, spark_defaults)


def properties_text(header: str, conf: dict[str, str]) -> str:
    width = max(len(key) for key in conf)
    return header + "".join(f"{key:<{width}}  {value}\n" for key, value in conf.items())


def spark_files(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """The ConfigMap's files by name."""
    gpu_template = gpu_executor_template(spec, team)
    header = (f"# Spark defaults of team {team.name} (KubeGrid stack {spec.stack}); generated from the stack.\n"
              f"# Pod templates are read from ./{local_dir(team)}/ where spark-submit runs.\n")
    if gpu_template is not None:
        header += RAPIDS_OPTION
    files = {
        SPARK_DEFAULTS: properties_text(header, spark_defaults(spec, team)),
        DRIVER_TEMPLATE: yaml_text.dump(driver_template(spec, team), sort_keys=False),
        CPU_EXECUTOR_TEMPLATE: yaml_text.dump(cpu_executor_template(spec, team), sort_keys=False),
    }
    if gpu_template is not None:
        files[GPU_EXECUTOR_TEMPLATE] = yaml_text.dump(gpu_template, sort_keys=False)
        files[GPU_DISCOVERY_SCRIPT] = GPU_DISCOVERY
    if team.insightedge:
        files[INSIGHTEDGE_DEFAULTS] = properties_text(
            f"# Spark defaults of team {team.name}'s jobs on the insightedge image (Spark 2.4, for insightedge-submit;\n"
            f"# KubeGrid stack {spec.stack}); generated from the stack. Spark 2.4 takes no pod templates.\n",
            insightedge_defaults(spec, team))
    return files


def spark_config_map(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": team.name, "labels": labels.standard("spark")},
        "data": spark_files(spec, team),
    }
