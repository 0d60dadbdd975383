"""Spark jobs that read the grid, for a team with ``insightedge``: GigaSpaces'
``insightedge-enterprise`` image of the grid's version and its Spark 2.4.4.

Why a second Spark: the InsightEdge connector of every 16.x release is built
for Spark 2.4.4 and Scala 2.11 (InsightEdge/insightedge pom.xml), so it cannot
load into the teams' Spark 4 (Scala 2.13); the insightedge image carries it
with its Spark. Spark 2.4 has no pod templates (Spark 3.0) and no executor
service account (3.1): its pods get no security context, so the team's
namespace enforces Pod Security ``baseline`` instead of ``restricted``, and
no tolerations, so they run on one untainted CPU pool, chosen by node selector.

What Spark 2.4 can set, the team's ``insightedge-defaults.conf`` sets: the
namespace, image and driver account, the kubegrid labels (so the namespace's
NetworkPolicies and the quota see the pods as Spark's), requests and limits
sized to the pool, ``SPARK_USER``, the grid's space and manager, and outside
mode eks the event logs on the team's ``spark-events`` volume. Spark 2.4 is
built with Hadoop 2.6 or 2.7 (which one the image has is not public), whose
S3A predates EKS Pod Identity's credentials, so these jobs get no S3 location
and, in mode eks, no event logs.

The connector finds the grid's lookup service at ``<manager>-insightedge-manager-hs``,
a name without a namespace (InsightEdgeConfig.fromSparkConf), so the team's
namespace gets a Service of that name that points at the grid's.
"""

from __future__ import annotations

from typing import Any, Optional

from ...config import NodePoolSpec, StackSpec, TeamSpec
from .. import labels
from ..grid import NAMES, SPACE_NAME, insightedge_image, lookup_locators, service_host
from ..quantities import cpu_millis
from ..scheduling import POOL_LABEL
from .names import DRIVER_ACCOUNT, EVENT_LOG_MOUNT, EVENT_LOG_VOLUME
from .pod_templates import event_log_dir, executor_conf, grid_java_options
from .sizing import DEFAULT_EXECUTOR, DRIVER, ExecutorSize, Sizing, best_pool, best_sizing

INSIGHTEDGE_DEFAULTS = "insightedge-defaults.conf"
INSIGHTEDGE_SPARK_VERSION = "2.4.4"
"""The Spark of every 16.x insightedge image (InsightEdge/insightedge pom.xml ``spark.version``)."""
INSIGHTEDGE_USER = "gs_user"
"""The image's user (uid 1000, Gigaspaces/docker insightedge-enterprise/Dockerfile): Spark's and Hadoop's login name."""
SUBMIT = "insightedge-submit"
"""GigaSpaces' spark-submit (``$GS_HOME/insightedge/bin`` of the InsightEdge distribution of the grid's version)."""
EXAMPLE_CLASS = "org.insightedge.examples.basic.SaveRdd"
EXAMPLES_JAR = "local:///opt/gigaspaces/insightedge/examples/jars/insightedge-examples.jar"
"""GigaSpaces' example that writes products to the space, from the image (xap-docs admin/kubernetes-spark-job.html)."""


def insightedge_pool(spec: StackSpec, team: TeamSpec) -> Optional[NodePoolSpec]:
    """The one pool the team's insightedge jobs run on: of its CPU pools without taints, the one whose
    executors get the most CPU; None without node pools (mode existing)."""
    return best_pool(spec, spec.untainted_cpu_pools(team))


def insightedge_sizing(spec: StackSpec, team: TeamSpec) -> Optional[Sizing]:
    return best_sizing(spec, spec.untainted_cpu_pools(team))


def insightedge_executor(spec: StackSpec, team: TeamSpec) -> ExecutorSize:
    found = insightedge_sizing(spec, team)
    return DEFAULT_EXECUTOR if found is None else found.executor


def label_conf(role: str, team: TeamSpec) -> dict[str, str]:
    """The kubegrid labels of a Spark pod, as Spark 2.4 puts labels on its ``role`` pods."""
    return {f"spark.kubernetes.{role}.label.{key}": value
            for key, value in labels.standard(f"spark-{role}", **{labels.TEAM_LABEL: team.name}).items()}


def insightedge_defaults(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """``insightedge-defaults.conf``: only keys Spark 2.4 and the 16.x connector read."""
    pool = insightedge_pool(spec, team)
    locators = lookup_locators(spec)
    conf = {
        "spark.kubernetes.namespace": team.name,
        "spark.kubernetes.container.image": insightedge_image(spec),
        "spark.kubernetes.authenticate.driver.serviceAccountName": DRIVER_ACCOUNT,
        **label_conf("driver", team),
        **label_conf("executor", team),
        **({f"spark.kubernetes.node.selector.{POOL_LABEL}": pool.name} if pool else {}),
        "spark.driver.cores": str(DRIVER.cores),
        "spark.kubernetes.driver.limit.cores": cpu_millis(DRIVER.cpu_m),
        "spark.driver.memory": f"{DRIVER.memory_mi}m",
        "spark.driver.memoryOverhead": f"{DRIVER.overhead_mi}m",
        **executor_conf(insightedge_executor(spec, team)),
        "spark.kubernetes.driverEnv.SPARK_USER": INSIGHTEDGE_USER,
        "spark.executorEnv.SPARK_USER": INSIGHTEDGE_USER,
        "spark.insightedge.space.name": SPACE_NAME,
        "spark.insightedge.space.manager": NAMES.manager,
        "spark.kubernetes.driverEnv.GS_LOOKUP_LOCATORS": locators,
        "spark.executorEnv.GS_LOOKUP_LOCATORS": locators,
        "spark.driver.extraJavaOptions": grid_java_options(),
        "spark.executor.extraJavaOptions": grid_java_options(),
    }
    if not spec.is_eks:  # the team's spark-events claim, mounted as Spark 2.4 mounts volumes
        claim = f"spark.kubernetes.driver.volumes.persistentVolumeClaim.{EVENT_LOG_VOLUME}"
        conf.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": event_log_dir(spec, team),
                     f"{claim}.mount.path": EVENT_LOG_MOUNT, f"{claim}.options.claimName": EVENT_LOG_VOLUME})
    return conf


def locator_service(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    """``<manager>-insightedge-manager-hs`` in the team's namespace: a DNS alias of the grid's Service of
    that name, which the connector looks the lookup service up by (it adds no namespace)."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAMES.spark_locator_service, "namespace": team.name,
                     "labels": labels.standard("spark", **{labels.TEAM_LABEL: team.name})},
        "spec": {"type": "ExternalName",
                 "externalName": service_host(NAMES.spark_locator_service, spec.grid.namespace)},
    }


def insightedge_objects(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    return [locator_service(spec, team)] if team.spark and team.insightedge else []
