"""Names, image and ports shared by the Spark objects of a team namespace.

The Spark image is pinned: driver, executors and the driver cleanup job run
it. ``apache/spark`` images run as the non-root user ``spark`` (uid 185),
which is what lets team namespaces enforce the ``restricted`` Pod Security
level.
"""

from __future__ import annotations

SPARK_VERSION = "4.0.1"
SPARK_IMAGE = f"apache/spark:{SPARK_VERSION}-scala2.13-java17-python3-ubuntu"
"""The python3 variant: PySpark jobs need it, and the cleanup job runs its script with it."""
SPARK_UID = 185
SPARK_USER = "spark"
"""The image's user name for uid 185: the name Spark and Hadoop log in as, whoever submits."""
EXAMPLES_JAR = "local:///opt/spark/examples/jars/spark-examples.jar"

DRIVER_ACCOUNT = "spark-driver"
EXECUTOR_ACCOUNT = "spark-executor"
CLEANUP_ACCOUNT = "spark-driver-cleanup"
DRIVER_ROLE = "spark-driver"
CLEANUP_ROLE = "spark-driver-cleanup"

CONFIG_MAP = "kubegrid-spark"
"""The team's Spark files: spark-defaults.conf, the pod templates, the GPU discovery script, and with
``insightedge`` insightedge-defaults.conf."""
CLEANUP_CONFIG_MAP = "spark-driver-cleanup"
CLEANUP_JOB = "spark-driver-cleanup"

DRIVER_CONTAINER = "spark-kubernetes-driver"
EXECUTOR_CONTAINER = "spark-kubernetes-executor"
"""Spark's own container names; the templates name their container so, and spark-defaults.conf says which."""

SPARK_ROLE_LABEL = "spark-role"
"""Label Spark puts on every pod it creates: ``driver`` or ``executor``."""
SPARK_APP_LABEL = "spark-app-selector"
"""Label Spark puts on every pod of an application (driver and executors)."""

EVENT_LOG_VOLUME = "spark-events"
"""Outside mode eks: the team's claim for event logs, mounted by drivers and the history server."""
EVENT_LOG_MOUNT = "/var/spark-events"
EVENT_LOG_SUBDIR = "spark-events"
"""In mode eks: the prefix under the team's first S3 location that holds its event logs."""


def team_image(team) -> str:
    """The Spark image of a team's drivers and executors: its own, or :data:`SPARK_IMAGE` (which the
    driver cleanup job always runs, for its Python)."""
    return team.spark_image or SPARK_IMAGE
