"""Pod Security "restricted", in one place: the namespace labels that enforce
it, and the security contexts that let a pod pass it."""

from __future__ import annotations

from typing import Any

LEVEL = "restricted"


BASELINE = "baseline"
"""Only for a team that runs the insightedge image's Spark 2.4, which cannot set a pod's security context."""


def namespace_labels(enforce: str = LEVEL) -> dict[str, str]:
    """Enforce ``enforce`` (restricted unless said otherwise); audit and warn at the restricted level,
    so a pod below it is always reported."""
    return {"pod-security.kubernetes.io/enforce": enforce,
            **{f"pod-security.kubernetes.io/{mode}": LEVEL for mode in ("audit", "warn")}}


def pod_security_context(uid: int, gid: int | None = None) -> dict[str, Any]:
    """Non-root ``uid`` (and group ``gid``, the uid by default, also owning the volumes), RuntimeDefault seccomp."""
    group = uid if gid is None else gid
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": group, "fsGroup": group,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> dict[str, Any]:
    """No privilege, no escalation, no capabilities, a read-only root file system."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
            "readOnlyRootFilesystem": True, "runAsNonRoot": True}
