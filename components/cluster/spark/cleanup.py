"""The driver cleanup CronJob of a team namespace, with its own account.

Spark leaves finished driver pods in place to keep their logs. Every hour a
job runs :mod:`.driver_cleanup` (mounted from a ConfigMap, in the Spark
image) and deletes the driver pods that finished more than the team's
`driverRetentionHours` ago. Its account may only list and delete pods in the
namespace. Its token is not auto-mounted into the pod: the one container that
calls the API gets a short-lived projected token at a path of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...config import TeamSpec
from .. import labels
from ..pod_security import container_security_context, pod_security_context
from . import driver_cleanup
from .names import CLEANUP_ACCOUNT, CLEANUP_CONFIG_MAP, CLEANUP_JOB, CLEANUP_ROLE, SPARK_IMAGE
from .rbac import role, role_binding, service_account

COMPONENT = "spark-driver-cleanup"
SCHEDULE = "17 * * * *"
"""Hourly, off the full hour when many jobs start."""
SCRIPT_NAME = "driver_cleanup.py"
SCRIPT_DIR = "/opt/kubegrid/cleanup"
TOKEN_SECONDS = 3600
CLEANUP_UID = 65532
"""The job needs nothing of the image's `spark` user: it runs as a high uid no host account has."""


def cleanup_pod_labels(team_name: str) -> dict[str, str]:
    return labels.standard(COMPONENT, **{labels.TEAM_LABEL: team_name})


def cleanup_script() -> str:
    return Path(driver_cleanup.__file__).read_text(encoding="utf-8")


def cleanup_job(team: TeamSpec) -> dict[str, Any]:
    volumes = [
        {"name": "script", "configMap": {"name": CLEANUP_CONFIG_MAP, "defaultMode": 0o444}},
        {"name": "api-token", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": TOKEN_SECONDS}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}},
        {"name": "tmp", "emptyDir": {}},
    ]
    container = {
        "name": "cleanup", "image": SPARK_IMAGE, "imagePullPolicy": "IfNotPresent",
        "command": ["python3", f"{SCRIPT_DIR}/{SCRIPT_NAME}"],
        "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "RETENTION_HOURS", "value": str(team.driver_retention_hours)}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                         {"name": "api-token", "mountPath": driver_cleanup.TOKEN_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {"metadata": {"labels": cleanup_pod_labels(team.name)}, "spec": {
        "serviceAccountName": CLEANUP_ACCOUNT, "automountServiceAccountToken": False, "restartPolicy": "Never",
        "securityContext": pod_security_context(CLEANUP_UID), "containers": [container], "volumes": volumes}}
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": CLEANUP_JOB, "namespace": team.name, "labels": labels.standard(COMPONENT)},
        "spec": {
            "schedule": SCHEDULE, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600, "successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "activeDeadlineSeconds": 600,
                                     "ttlSecondsAfterFinished": 86400, "template": pod}},
        },
    }


def cleanup_objects(team: TeamSpec) -> list[dict[str, Any]]:
    """The account, its Role (list and delete pods) and binding, the script and the CronJob."""
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]}]
    return [
        service_account(team, CLEANUP_ACCOUNT, COMPONENT, mount_token=False),
        role(team, CLEANUP_ROLE, COMPONENT, rules),
        role_binding(team, CLEANUP_ROLE, COMPONENT, CLEANUP_ACCOUNT),
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": CLEANUP_CONFIG_MAP, "namespace": team.name, "labels": labels.standard(COMPONENT)},
         "data": {SCRIPT_NAME: cleanup_script()}},
        cleanup_job(team),
    ]
