"""Team namespaces: the objects each team in `kubegrid:teams` gets."""

from __future__ import annotations

from typing import Any

from . import labels, quantities
from .spec import GRID_CLIENT_LABEL, StackSpec, TeamSpec


TEAM_ROLES = ("admin", "edit", "view")
"""Kubernetes ClusterRoles a team's members get in their namespace, by config key."""
ROLE_KEYS = {"admins": "admin", "editors": "edit", "viewers": "view"}


def team_group(team: str, role: str) -> str:
    """The Kubernetes group of a team's members with ``role`` (admin, edit, view).

    EKS access entries put a team's IAM principals in this group; the team's
    RoleBindings bind the group. Both sides call this function.
    """
    return f"kubegrid:{team}:{role}"


def team_namespace(team: TeamSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": team.name, "labels": {
            **labels.standard("team", **{"kubegrid.io/team": team.name}),
            GRID_CLIENT_LABEL: "true",
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }},
    }


def resource_quota(team: TeamSpec) -> dict[str, Any]:
    q = team.quota
    cpu, memory = quantities.cpu(q.cpu), quantities.memory(q.memory_gib)
    return {
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "team-quota", "namespace": team.name, "labels": labels.standard("team")},
        "spec": {"hard": {
            "requests.cpu": cpu, "limits.cpu": cpu, "requests.memory": memory, "limits.memory": memory,
            "requests.nvidia.com/gpu": str(q.gpus), "pods": str(q.pods),
            "persistentvolumeclaims": str(q.persistent_volume_claims), "requests.storage": f"{q.storage_gib}Gi",
            "services.loadbalancers": str(q.load_balancers),
        }},
    }


def team_objects(spec: StackSpec) -> list[dict[str, Any]]:
    """Every object of every team, in a stable order."""
    objects: list[dict[str, Any]] = []
    for team in spec.teams:
        objects += [team_namespace(team), resource_quota(team)]
    return objects
