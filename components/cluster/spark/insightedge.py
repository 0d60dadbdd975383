"""Spark jobs that read the grid, for a team with ``insightedge``: GigaSpaces'
``insightedge-enterprise`` image of the grid's version and its Spark 2.4.4.

Why a second Spark: the InsightEdge connector of every 16.x release is built
for Spark 2.4.4 and Scala 2.11 (InsightEdge/insightedge pom.xml), so it cannot
load into the teams' Spark 4 (Scala 2.13); the insightedge image carries it
with its Spark. Spark 2.4 has no pod templates (Spark 3.0) and no executor
service account (3.1): its pods get no security context, so the team's
namespace enforces Pod Security ``baseline`` instead of ``restricted``, and
no tolerations, so they run on one CPU pool without NoSchedule taints, chosen
by node selector.

What Spark 2.4 can set, the team's ``insightedge-defaults.conf`` sets: the
namespace, image and driver account, the kubegrid labels (Spark adds its own
``spark-role``, which the NetworkPolicies select), requests and limits sized
to the pool, ``SPARK_USER``, the grid's space and manager. No event logs: the
pods run as the image's gs_user (uid 1000, group 2000) without an fsGroup, so
they could neither write to the team's ``spark-events`` volume (group 185, the
Spark 4 pods') nor leave files the history server (uid 185) can read, and in
mode eks Spark 2.4's Hadoop (2.6 or 2.7; which one the image has is not public)
predates EKS Pod Identity. For the same reason these jobs get no S3 location.

The connector finds the grid's lookup service at ``<manager>-insightedge-manager-hs``,
a name without a namespace (InsightEdgeConfig.fromSparkConf), so the team's
namespace gets a Service of that name that points at the grid's.
"""

from __future__ import annotations

from typing import Any, Optional

from ...config import NodePoolSpec, StackSpec, TeamSpec
from .. import labels
from ..grid import NAMES, insightedge_image, service_host
from ..quantities import cpu_millis
from ..scheduling import POOL_LABEL
from .names import DRIVER_ACCOUNT
from .pod_templates import executor_conf, grid_conf, spark_user_conf
from .sizing import DEFAULT_EXECUTOR, DRIVER, ExecutorSize, Sizing, best_pool, best_sizing

INSIGHTEDGE_DEFAULTS = "insightedge-defaults.conf"
RUNTIME = "insightedge"
"""The value of the pods' ``kubegrid.io/spark-runtime`` label."""
INSIGHTEDGE_SPARK_VERSION = "2.4.4"
"""The Spark of every 16.x insightedge image (InsightEdge/insightedge pom.xml ``spark.version``)."""
INSIGHTEDGE_USER = "gs_user"
"""The image's user (uid 1000, Gigaspaces/docker insightedge-enterprise/Dockerfile): Spark's and Hadoop's login name."""
SUBMIT = "insightedge-submit"
"""GigaSpaces' spark-submit (``$GS_HOME/insightedge/bin`` of the InsightEdge distribution of the grid's version)."""
SAVE_RDD_CLASS = "org.insightedge.examples.basic.SaveRdd"
INSIGHTEDGE_EXAMPLES_JAR = "local:///opt/gigaspaces/insightedge/examples/jars/insightedge-examples.jar"
"""GigaSpaces' example that writes products to the space, from the image (xap-docs admin/kubernetes-spark-job.html)."""


def insightedge_pool(spec: StackSpec, team: TeamSpec) -> Optional[NodePoolSpec]:
    """The one pool the team's insightedge jobs run on: of the CPU pools a pod without tolerations can use,
    the one whose executors get the most CPU; None without node pools (mode existing)."""
    return best_pool(spec, spec.open_cpu_pools(team))


def insightedge_sizing(spec: StackSpec, team: TeamSpec) -> Optional[Sizing]:
    return best_sizing(spec, spec.open_cpu_pools(team))


def insightedge_executor(spec: StackSpec, team: TeamSpec) -> ExecutorSize:
    found = insightedge_sizing(spec, team)
    return DEFAULT_EXECUTOR if found is None else found.executor


def label_conf(role: str, team: TeamSpec) -> dict[str, str]:
    """The kubegrid labels of a Spark pod, as Spark 2.4 puts labels on its ``role`` pods; the runtime label
    keeps its drivers out of the Spark PodMonitor."""
    found = labels.standard(f"spark-{role}", **{labels.TEAM_LABEL: team.name, labels.SPARK_RUNTIME_LABEL: RUNTIME})
    return {f"spark.kubernetes.{role}.label.{key}": value for key, value in found.items()}


def insightedge_defaults(spec: StackSpec, team: TeamSpec) -> dict[str, str]:
    """``insightedge-defaults.conf``: only keys Spark 2.4 and the 16.x connector read."""
    pool = insightedge_pool(spec, team)
    return {
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
        **spark_user_conf(INSIGHTEDGE_USER),
        **grid_conf(spec),
    }


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
    """The objects a team with ``insightedge`` adds to its Spark objects (:func:`..spark_objects`)."""
    return [locator_service(spec, team)] if team.insightedge else []
