"""A team's Spark 4 files: pod templates, spark-defaults.conf and the GPU
discovery script (the ConfigMap that holds them: :mod:`.config_map`).

Spark builds its driver and executor pods from these templates, keeping what
it does not set itself: the security context (non-root uid 185, no
privilege escalation, no capabilities, the runtime's seccomp profile, a
read-only root filesystem with writable ``/tmp`` and work directory), node
affinity to the team's pools, and for GPU executors the GPU taint's
toleration, the ``nvidia.com/gpu`` limit and the discovery script. So
Spark's pods pass the namespace's ``restricted`` Pod Security level.

spark-submit reads the files on the submitting machine: they are fetched
into ``kubegrid-<team>/`` (see :func:`~.submit.fetch_command`), and
spark-defaults.conf names the templates by that relative path.
"""

from __future__ import annotations

from typing import Any, Optional


from ...config import CapacityType, NodePoolSpec, StackSpec, TeamSpec
from .. import labels
from ..grid import NAMES, PORTS, SPACE_NAME, lookup_locators
from ..pod_security import container_security_context, pod_security_context
from ..quantities import cpu_millis
from ..scheduling import GPU_RESOURCE, pool_placement
from .names import (CONFIG_MAP, DRIVER_ACCOUNT, DRIVER_CONTAINER, EVENT_LOG_MOUNT, EVENT_LOG_SUBDIR, EVENT_LOG_VOLUME,
                    EXECUTOR_ACCOUNT, EXECUTOR_CONTAINER, SPARK_UID, SPARK_USER, team_image)
from .sizing import (DRIVER, HISTORY_SERVER_USE, NOTHING_STANDING, ExecutorSize, QuotaUse, cpu_executor, cpu_pools,
                     executors_in_quota, gpu_executor, gpu_pools)

SPARK_DEFAULTS = "spark-defaults.conf"
DRIVER_TEMPLATE = "driver-template.yaml"
CPU_EXECUTOR_TEMPLATE = "executor-cpu-template.yaml"
GPU_EXECUTOR_TEMPLATE = "executor-gpu-template.yaml"
GPU_DISCOVERY_SCRIPT = "gpu-discovery.sh"
GPU_SCRIPT_DIR = "/opt/kubegrid/gpu"
WRITABLE_DIRS = {"tmp": "/tmp", "work-dir": "/opt/spark/work-dir"}
"""emptyDir volumes for the paths Spark, the JVM and Python write to outside Spark's own local dirs:
the JVM's and Spark's temporary files in /tmp, and the working directory, where the driver copies a
``local://`` application jar before it runs it (the real Spark client showed both)."""
DECOMMISSION_GRACE_SECONDS = 120
"""How long a decommissioning executor on a spot node has to move its blocks (spot's notice is 120 s)."""

GPU_DISCOVERY = """#!/usr/bin/env bash
# Spark's GPU discovery script: prints the GPUs this container was given,
# as {"name": "gpu", "addresses": ["0", ...]}.
set -euo pipefail
addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader | sed -e 's/ //g' -e 's/.*/"&"/' | paste -sd, -)
echo "{\\"name\\": \\"gpu\\", \\"addresses\\": [${addresses}]}"
"""

RAPIDS_OPTION = """# RAPIDS Accelerator (optional): add the rapids-4-spark jar to the image (or --jars) and set
#   spark.plugins                        com.nvidia.spark.SQLPlugin
#   spark.rapids.sql.concurrentGpuTasks  2
#   spark.rapids.memory.pinnedPool.size  2g
"""


def local_dir(team: TeamSpec) -> str:
    """Where spark-submit users keep the team's Spark files (relative to where they run spark-submit)."""
    return f"kubegrid-{team.name}"


def writable_volumes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts) of the writable directories."""
    return ([{"name": name, "emptyDir": {}} for name in WRITABLE_DIRS],
            [{"name": name, "mountPath": path} for name, path in WRITABLE_DIRS.items()])


def resources(size: ExecutorSize) -> dict[str, Any]:
    """Requests equal to limits, as Spark sets them from spark-defaults.conf."""
    amounts: dict[str, Any] = {"cpu": cpu_millis(size.cpu_m), "memory": f"{size.pod_memory_mi}Mi"}
    limits = {**amounts, GPU_RESOURCE: str(size.gpus)} if size.gpus else amounts
    return {"requests": amounts, "limits": limits}


ROLES = {
    "driver": {"account": DRIVER_ACCOUNT, "container": DRIVER_CONTAINER, "mount_token": True},
    "executor": {"account": EXECUTOR_ACCOUNT, "container": EXECUTOR_CONTAINER, "mount_token": False},
}
"""Per Spark role: its account, container name, and whether the token is mounted (only drivers call the API)."""


def pod_template(team: TeamSpec, role: str, size: ExecutorSize, pools: tuple[NodePoolSpec, ...],
                 extra_volumes: Optional[list] = None, extra_mounts: Optional[list] = None,
                 env: Optional[list] = None) -> dict[str, Any]:
    """A Spark pod template for ``role``: hardened, placed on ``pools`` (anywhere when there are none)."""
    r = ROLES[role]
    volumes, mounts = writable_volumes()
    main: dict[str, Any] = {"name": r["container"], "image": team_image(team), "imagePullPolicy": "IfNotPresent",
                            "securityContext": container_security_context(), "resources": resources(size),
                            "volumeMounts": mounts + (extra_mounts or [])}
    if env:
        main["env"] = env
    spec: dict[str, Any] = {
        "serviceAccountName": r["account"],
        "automountServiceAccountToken": r["mount_token"],
        "securityContext": pod_security_context(SPARK_UID),
        "containers": [main],
        "volumes": volumes + (extra_volumes or []),
    }
    spec.update(pool_placement(pools))
    if role == "executor" and any(p.capacity_type is CapacityType.SPOT for p in pools):
        spec["terminationGracePeriodSeconds"] = DECOMMISSION_GRACE_SECONDS
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": labels.standard(f"spark-{role}", **{labels.TEAM_LABEL: team.name})},
            "spec": spec}


def driver_template(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    """The driver's template; outside mode eks it mounts the team's event log volume."""
    if spec.is_eks:
        return pod_template(team, "driver", DRIVER, cpu_pools(spec, team))
    volume = {"name": EVENT_LOG_VOLUME, "persistentVolumeClaim": {"claimName": EVENT_LOG_VOLUME}}
    return pod_template(team, "driver", DRIVER, cpu_pools(spec, team), extra_volumes=[volume],
                        extra_mounts=[{"name": EVENT_LOG_VOLUME, "mountPath": EVENT_LOG_MOUNT}])


def cpu_executor_template(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    return pod_template(team, "executor", cpu_executor(spec, team), cpu_pools(spec, team))


def gpu_executor_template(spec: StackSpec, team: TeamSpec) -> Optional[dict[str, Any]]:
    """The GPU executor template; None when the team may use no GPU pool (or has no GPU quota)."""
    size = gpu_executor(spec, team)
    if size is None:
        return None
    item = {"key": GPU_DISCOVERY_SCRIPT, "path": GPU_DISCOVERY_SCRIPT}
    script = {"name": "gpu-discovery", "configMap": {"name": CONFIG_MAP, "defaultMode": 0o555, "items": [item]}}
    return pod_template(
        team, "executor", size, gpu_pools(spec, team), extra_volumes=[script],
        extra_mounts=[{"name": "gpu-discovery", "mountPath": GPU_SCRIPT_DIR, "readOnly": True}],
        env=[{"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"}])


def executor_conf(size: ExecutorSize) -> dict[str, str]:
    """The Spark properties that give executors ``size``."""
    cpu = cpu_millis(size.cpu_m)
    return {
        "spark.executor.cores": str(size.cores),
        "spark.kubernetes.executor.request.cores": cpu,
        "spark.kubernetes.executor.limit.cores": cpu,
        "spark.executor.memory": f"{size.memory_mi}m",
        "spark.executor.memoryOverhead": f"{size.overhead_mi}m",
    }


def gpu_conf(team: TeamSpec, size: ExecutorSize, standing: QuotaUse = NOTHING_STANDING) -> dict[str, str]:
    """What a GPU job sets on top of spark-defaults.conf: the GPU template, one GPU per
    executor shared by all its task slots, how Spark finds it (vendor, discovery script in
    the template), the GPU executor's size, and at most the GPU executors the quota holds.
    None of these may be in spark-defaults.conf: Spark refuses a GPU vendor or discovery
    script without an amount, so CPU jobs would fail to start."""
    return {
        "spark.kubernetes.executor.podTemplateFile": f"{local_dir(team)}/{GPU_EXECUTOR_TEMPLATE}",
        "spark.executor.resource.gpu.amount": str(size.gpus),
        "spark.executor.resource.gpu.vendor": GPU_RESOURCE.split("/")[0],
        "spark.executor.resource.gpu.discoveryScript": f"{GPU_SCRIPT_DIR}/{GPU_DISCOVERY_SCRIPT}",
        "spark.task.resource.gpu.amount": repr(1 / size.cores),
        **executor_conf(size),
        "spark.dynamicAllocation.maxExecutors": str(max(1, executors_in_quota(team, size, standing))),
    }


def grid_java_options() -> str:
    """The grid's LRMI port range for the JVM's grid client, as the NetworkPolicies open it."""
    return f"-Dcom.gs.transport_protocol.lrmi.bind-port={PORTS.lrmi_first}-{PORTS.lrmi_last}"


def spark_defaults(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """spark-defaults.conf of a team, as properties in file order."""
    d = local_dir(team)
    cpu = cpu_executor(spec, team)
    conf = {
        "spark.kubernetes.namespace": team.name,
        "spark.kubernetes.container.image": team_image(team),
        "spark.kubernetes.authenticate.driver.serviceAccountName": DRIVER_ACCOUNT,
        "spark.kubernetes.authenticate.executor.serviceAccountName": EXECUTOR_ACCOUNT,
        "spark.kubernetes.driver.podTemplateFile": f"{d}/{DRIVER_TEMPLATE}",
        "spark.kubernetes.driver.podTemplateContainerName": DRIVER_CONTAINER,
        "spark.kubernetes.executor.podTemplateFile": f"{d}/{CPU_EXECUTOR_TEMPLATE}",
        "spark.kubernetes.executor.podTemplateContainerName": EXECUTOR_CONTAINER,
        "spark.kubernetes.executor.deleteOnTermination": "true",
        "spark.driver.cores": str(DRIVER.cores),
        "spark.kubernetes.driver.request.cores": cpu_millis(DRIVER.cpu_m),
        "spark.kubernetes.driver.limit.cores": cpu_millis(DRIVER.cpu_m),
        "spark.driver.memory": f"{DRIVER.memory_mi}m",
        "spark.driver.memoryOverhead": f"{DRIVER.overhead_mi}m",
        **executor_conf(cpu),
        # Executors come and go with the work, within the quota; shuffle tracking keeps
        # executors holding shuffle data, since Kubernetes has no external shuffle service.
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.shuffleTracking.enabled": "true",
        "spark.dynamicAllocation.minExecutors": "0",
        "spark.dynamicAllocation.maxExecutors": str(max(1, executors_in_quota(team, cpu, standing_use(spec, team)))),
        **spark_user_conf(SPARK_USER),
        **decommission_conf(spec, team),
        **event_log_conf(spec, team),
        # Executor metrics at the driver UI's /metrics/executors/prometheus, for the Spark PodMonitor.
        "spark.ui.prometheus.enabled": "true",
        **grid_conf(spec),
    }
    return conf


def spark_user_conf(user: str) -> dict[str, str]:
    """A fixed user name for driver and executors: Hadoop's login and the event logs use it, not the
    submitting machine's login."""
    return {"spark.kubernetes.driverEnv.SPARK_USER": user, "spark.executorEnv.SPARK_USER": user}


def grid_conf(spec: StackSpec) -> dict[str, str]:
    """Where a job finds the grid: the space and manager the 16.x connector reads, the lookup locators for
    GigaSpaces' Java clients, and the LRMI port range the NetworkPolicies open for the grid's callbacks."""
    locators = lookup_locators(spec)
    return {
        "spark.insightedge.space.name": SPACE_NAME,
        "spark.insightedge.space.manager": NAMES.manager,
        "spark.kubernetes.driverEnv.GS_LOOKUP_LOCATORS": locators,
        "spark.executorEnv.GS_LOOKUP_LOCATORS": locators,
        "spark.driver.extraJavaOptions": grid_java_options(),
        "spark.executor.extraJavaOptions": grid_java_options(),
    }


def decommission_conf(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """Graceful decommissioning where the team's executors may land on spot nodes: an executor
    told its node goes away (Spark's preStop hook, /opt/decom.sh of the image) moves its shuffle and
    cached blocks to the other executors first."""
    if not any(p.capacity_type is CapacityType.SPOT for p in spec.team_pools(team)):
        return {}
    return {"spark.decommission.enabled": "true", "spark.storage.decommission.enabled": "true",
            "spark.storage.decommission.shuffleBlocks.enabled": "true",
            "spark.storage.decommission.rddBlocks.enabled": "true"}


def event_log_conf(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """Event logs for the history server: under the team's first S3 location in mode eks
    (``<location>spark-events/``), on the team's ``spark-events`` volume elsewhere; none for an
    eks team without S3 locations (nowhere durable to write them)."""
    where = event_log_dir(spec, team)
    if not where:
        return {}
    # Rolling files: a long job's log is readable while it runs and never grows into one huge object.
    return {"spark.eventLog.enabled": "true", "spark.eventLog.dir": where, "spark.eventLog.rolling.enabled": "true",
            "spark.eventLog.rolling.maxFileSize": "128m", **s3a_conf(spec, team)}


def s3a_conf(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """How the S3A connector of a team with S3 locations finds S3 (mode eks): the AWS SDK's default
    credential chain, whose container provider takes the Pod Identity credentials (AWS: Java SDK v2
    2.21.30 or later; the image's bundle is 2.24.6, images/spark/Dockerfile), and the stack's region."""
    if not (spec.is_eks and team.s3_access):
        return {}
    return {"spark.hadoop.fs.s3a.aws.credentials.provider": "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
            "spark.hadoop.fs.s3a.endpoint.region": spec.region or ""}


def has_history_server(spec: StackSpec, team: TeamSpec) -> bool:
    """Whether the team gets a Spark history server (components/cluster/observability/history.py):
    a Spark team whose event logs go somewhere, with observability and its history servers on."""
    o = spec.observability
    return bool(o.enabled and o.history_server and team.spark and event_log_dir(spec, team))


def standing_use(spec: StackSpec, team: TeamSpec) -> QuotaUse:
    """What runs all the time in the team's namespace and holds part of its quota: its history server."""
    return HISTORY_SERVER_USE if has_history_server(spec, team) else NOTHING_STANDING


def event_log_dir(spec: StackSpec, team: TeamSpec) -> str:
    """Where the team's event logs go; empty when nowhere."""
    if spec.is_eks:
        if not team.s3_access:
            return ""
        first = team.s3_access[0].removeprefix("s3://")
        return f"s3a://{first.rstrip('/')}/{EVENT_LOG_SUBDIR}/"
    return f"file://{EVENT_LOG_MOUNT}"
