"""Spark's service accounts and the driver's Role, in one team namespace.

The driver runs Spark's Kubernetes scheduler. Its Role grants, per resource,
the verbs Spark 4.0.1's driver uses there (found on the calls the real client
made in the end-to-end tests, tests/cluster/spark/test_spark_e2e.py, and in
its code for the paths those runs do not take), in its own namespace: no
ClusterRole, no wildcard, no ``update`` or ``patch`` (Spark's driver uses
neither with the team's settings). Executors call no Kubernetes API: their
account has no binding and no token is mounted. Whoever submits (the team's
members, with the ``edit`` or ``admin`` ClusterRole) creates the driver pod,
its Service and ConfigMaps; the driver's account does not need to.
"""

from __future__ import annotations

from typing import Any

from ...config import TeamSpec
from .. import labels
from .names import DRIVER_ACCOUNT, DRIVER_ROLE, EXECUTOR_ACCOUNT

SPARK_DRIVER_VERBS: dict[str, tuple[str, ...]] = {
    # its own pod (get), executors: watch and list (polling), create; delete by name when an executor
    # ends while the job runs (dynamic allocation's removal after decommissioning, a failure) or an
    # on-demand claim cannot be made; deletecollection by label (excess pending pods, killed executors,
    # all executors at the end).
    "pods": ("get", "list", "watch", "create", "delete", "deletecollection"),
    # the executors' ConfigMap: created at start, deleted by label at the end.
    "configmaps": ("create", "deletecollection"),
    # the driver's Service (the submitter creates it): deleted by label at the end.
    "services": ("deletecollection",),
    # on-demand executor claims: reusable ones listed, new ones created, the driver's deleted at the end.
    "persistentvolumeclaims": ("list", "create", "deletecollection"),
}
"""The verbs of Spark's driver, per resource."""


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
    rules = [{"apiGroups": [""], "resources": [resource], "verbs": list(verbs)}
             for resource, verbs in SPARK_DRIVER_VERBS.items()]
    return [
        service_account(team, DRIVER_ACCOUNT, "spark-driver", mount_token=True),
        service_account(team, EXECUTOR_ACCOUNT, "spark-executor", mount_token=False),
        role(team, DRIVER_ROLE, "spark-driver", rules),
        role_binding(team, DRIVER_ROLE, "spark-driver", DRIVER_ACCOUNT),
    ]
