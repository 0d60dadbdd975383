"""The Kubernetes Pod Security "restricted" profile, checked on a pod spec.

One implementation for every test: the chart's pods, the stack's jobs, and
the pods Spark builds. It follows the profile's controls (baseline and
restricted, https://kubernetes.io/docs/concepts/security/pod-security-standards/)
for the fields a pod spec can set, plus the project's own rule of a
read-only root file system.
"""

from __future__ import annotations

from typing import Any

RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret"}
"""Volume types the restricted profile allows."""
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}
BASELINE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                    "net.ipv4.tcp_keepalive_probes"}


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container of a pod spec: init, ephemeral and regular."""
    return [*(spec.get("initContainers") or []), *(spec.get("ephemeralContainers") or []), *(spec.get("containers") or [])]


def restricted_violations(spec: dict[str, Any], *, read_only_root: bool = True) -> list[str]:
    """What in a pod spec breaks the restricted profile (and, with ``read_only_root``,
    which containers have a writable root file system)."""
    problems: list[str] = []
    psc = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"pod sets {flag}")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} uses {sorted(kinds)}")
    for sysctl in psc.get("sysctls") or []:
        if sysctl.get("name") not in BASELINE_SYSCTLS:
            problems.append(f"pod sets sysctl {sysctl.get('name')}")
    if psc.get("runAsUser") == 0:
        problems.append("pod runs as UID 0")
    for c in containers(spec):
        csc = c.get("securityContext") or {}
        name = c["name"]
        if csc.get("privileged"):
            problems.append(f"{name}: privileged")
        if any("hostPort" in p for p in c.get("ports") or []):
            problems.append(f"{name}: hostPort")
        if csc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount {csc['procMount']}")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if csc.get("runAsUser", psc.get("runAsUser")) == 0:
            problems.append(f"{name}: runs as UID 0")
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccomp profile {seccomp!r}")
        caps = csc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities not dropped (ALL)")
        if set(caps.get("add") or []) - ALLOWED_ADDED_CAPABILITIES:
            problems.append(f"{name}: adds capabilities {caps['add']}")
        if read_only_root and csc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root filesystem is writable")
    return problems
