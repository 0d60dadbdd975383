"""A Spark history server in each Spark team's namespace, reading that team's
event logs only: one server per team is what keeps a team from seeing another
team's applications (the history server has no per-application access control
that could be tied to Kubernetes RBAC). It runs under the namespace's
restricted Pod Security level, with a read-only root file system, and is
reached like the REST manager, with ``kubectl port-forward``.

Where the logs are is Spark's decision (components/cluster/spark/pod_templates.py
``event_log_dir``): mode eks, ``s3a://<first s3Access location>/spark-events/``
(the server needs the team's S3 read access through its own Pod Identity
association); elsewhere the team's ``spark-events`` volume, mounted read-only.
"""

from __future__ import annotations

from typing import Any

from ...config import StackSpec, TeamSpec
from .. import labels, pod_security
from ..scheduling import pool_placement
from ..spark.names import EVENT_LOG_MOUNT, EVENT_LOG_VOLUME, SPARK_UID, SPARK_USER, team_image
from ..spark.pod_templates import event_log_dir, has_history_server, s3a_conf
from ..spark.sizing import HISTORY_SERVER_RESOURCES
from ..tenancy import aws_egress
from . import names

COMPONENT = "spark-history-server"
HISTORY_CLASS = "org.apache.spark.deploy.history.HistoryServer"
DAEMON_MEMORY = "768m"
"""The server's heap (SPARK_DAEMON_MEMORY); the container's 1Gi limit leaves room for the rest of the JVM."""
RESOURCES = HISTORY_SERVER_RESOURCES
"""Explicit requests and limits: the team's ResourceQuota counts both (it sets limits.cpu); Spark's sizing
leaves them room in the quota (components/cluster/spark/sizing.py ``HISTORY_SERVER_USE``)."""
UPDATE_INTERVAL = "30s"


def history_teams(spec: StackSpec) -> list[TeamSpec]:
    """The teams that get a history server: Spark teams whose event logs go somewhere."""
    return [t for t in spec.teams if has_history_server(spec, t)]


def pod_labels(team: TeamSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": names.HISTORY_SERVER, "app.kubernetes.io/instance": team.name}


def _metadata(team: TeamSpec) -> dict[str, Any]:
    return {"name": names.HISTORY_SERVER, "namespace": team.name,
            "labels": {**labels.standard(COMPONENT, **{labels.TEAM_LABEL: team.name}), **pod_labels(team)}}


def history_options(spec: StackSpec, team: TeamSpec) -> str:
    options = {"spark.history.fs.logDirectory": event_log_dir(spec, team),
               "spark.history.ui.port": str(names.HISTORY_PORT),
               "spark.history.fs.update.interval": UPDATE_INTERVAL,
               # Reading only: the drivers' writer owns the logs; the cleanup job owns the drivers.
               "spark.history.fs.cleaner.enabled": "false",
               **s3a_conf(spec, team)}
    return " ".join(f"-D{k}={v}" for k, v in options.items())


def history_deployment(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    if not spec.is_eks:
        mounts.append({"name": EVENT_LOG_VOLUME, "mountPath": EVENT_LOG_MOUNT, "readOnly": True})
        volumes.append({"name": EVENT_LOG_VOLUME,
                        "persistentVolumeClaim": {"claimName": EVENT_LOG_VOLUME, "readOnly": True}})
    probe = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 20, "timeoutSeconds": 5}
    container = {
        # the team's image: reading s3a:// logs needs the S3A connector its jobs have
        "name": "history-server", "image": team_image(team), "imagePullPolicy": "IfNotPresent",
        "command": ["/opt/spark/bin/spark-class", HISTORY_CLASS],
        "env": [{"name": "SPARK_USER", "value": SPARK_USER},
                {"name": "SPARK_DAEMON_MEMORY", "value": DAEMON_MEMORY},
                {"name": "SPARK_HISTORY_OPTS", "value": history_options(spec, team)},
                {"name": "HOME", "value": "/tmp"}],
        "ports": [{"name": "http", "containerPort": names.HISTORY_PORT, "protocol": "TCP"}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 60, "failureThreshold": 6},
        "resources": RESOURCES,
        "securityContext": pod_security.container_security_context(),
        "volumeMounts": mounts,
    }
    pod: dict[str, Any] = {
        "serviceAccountName": names.HISTORY_SERVER,
        # The server calls no Kubernetes API; in mode eks its AWS credentials come from the Pod Identity agent.
        "automountServiceAccountToken": False,
        "securityContext": pod_security.pod_security_context(SPARK_UID),
        "containers": [container],
        "volumes": volumes,
    }
    pod.update(pool_placement([p for p in spec.team_pools(team) if not p.gpu]))
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(team),
            "spec": {"replicas": 1,
                     # Outside mode eks the event log claim is ReadWriteOnce: never two servers at once.
                     "strategy": {"type": "Recreate"},
                     "selector": {"matchLabels": pod_labels(team)},
                     "template": {"metadata": {"labels": {**pod_labels(team), **labels.standard(COMPONENT)}},
                                  "spec": pod}}}


def history_objects(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """The team's history server: account, Deployment, Service and, in mode eks, its path to S3."""
    objects = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(team),
         "automountServiceAccountToken": False},
        history_deployment(spec, team),
        {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(team),
         "spec": {"type": "ClusterIP", "selector": pod_labels(team),
                  "ports": [{"name": "http", "port": names.HISTORY_PORT, "targetPort": "http", "protocol": "TCP"}]}},
    ]
    if spec.is_eks:
        objects.append(aws_egress(team, {"matchLabels": pod_labels(team)}, "allow-aws-apis-history-server"))
    return objects
