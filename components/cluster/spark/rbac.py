"""Spark's service accounts and the driver's Role, in one team namespace.

The driver runs Spark's Kubernetes scheduler: it creates, watches and
deletes its executor pods, the ConfigMap executors read their configuration
from, on-demand PersistentVolumeClaims, and (in client mode) the headless
Service executors reach it through. Its Role grants exactly those resources
with the verbs Spark's Kubernetes resource manager uses (the set of the
Kubeflow Spark operator's Spark role), in its own namespace: no
ClusterRole, no wildcard. Executors call no Kubernetes API: their account
has no binding and no token is mounted.
"""

from __future__ import annotations

from typing import Any

from ...config import TeamSpec
from .. import labels
from .names import DRIVER_ACCOUNT, DRIVER_ROLE, EXECUTOR_ACCOUNT

SPARK_DRIVER_RESOURCES = ("pods", "services", "configmaps", "persistentvolumeclaims")
SPARK_DRIVER_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


def service_account(team: TeamSpec, name: str, component: str, mount_token: bool) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": team.name, "labels": labels.standard(component)},
        "automountServiceAccountToken": mount_token,
    }


def role(team: TeamSpec, name: str, component: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name, "namespace": team.name, "labels": labels.standard(component)},
        "rules": rules,
    }


def role_binding(team: TeamSpec, name: str, component: str, account: str) -> dict[str, Any]:
    """Binds the Role ``name`` to the service account ``account`` of the same namespace."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": team.name, "labels": labels.standard(component)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": team.name}],
    }


def spark_accounts(team: TeamSpec) -> list[dict[str, Any]]:
    """The driver and executor accounts, the driver's Role and its binding."""
    rules = [{"apiGroups": [""], "resources": list(SPARK_DRIVER_RESOURCES), "verbs": list(SPARK_DRIVER_VERBS)}]
    return [
        service_account(team, DRIVER_ACCOUNT, "spark-driver", mount_token=True),
        service_account(team, EXECUTOR_ACCOUNT, "spark-executor", mount_token=False),
        role(team, DRIVER_ROLE, "spark-driver", rules),
        role_binding(team, DRIVER_ROLE, "spark-driver", DRIVER_ACCOUNT),
    ]
