"""The Kubernetes Pod Security profiles, "restricted" and "baseline", checked on a pod spec.

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


BASELINE_ADDED_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                               "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
"""Capabilities the baseline profile lets a container add."""


def _shared_violations(spec: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """The controls baseline and restricted share: (pod problems, problems per container name)."""
    pod: list[str] = [f"pod sets {flag}" for flag in ("hostNetwork", "hostPID", "hostIPC") if spec.get(flag)]
    psc = spec.get("securityContext") or {}
    pod += [f"pod sets sysctl {s.get('name')}" for s in psc.get("sysctls") or [] if s.get("name") not in BASELINE_SYSCTLS]
    per: dict[str, list[str]] = {}
    for c in containers(spec):
        csc = c.get("securityContext") or {}
        found = per.setdefault(c["name"], [])
        if csc.get("privileged"):
            found.append(f"{c['name']}: privileged")
        if any("hostPort" in p for p in c.get("ports") or []):
            found.append(f"{c['name']}: hostPort")
        if csc.get("procMount", "Default") != "Default":
            found.append(f"{c['name']}: procMount {csc['procMount']}")
    return pod, per


def baseline_violations(spec: dict[str, Any]) -> list[str]:
    """What in a pod spec breaks the baseline profile (no host namespaces, ports or paths, no privilege,
    only the default capabilities added, no unconfined seccomp, only safe sysctls)."""
    pod, per = _shared_violations(spec)
    problems = pod + [f"volume {v['name']} uses hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]
    psc = spec.get("securityContext") or {}
    for c in containers(spec):
        csc = c.get("securityContext") or {}
        problems += per[c["name"]]
        if set((csc.get("capabilities") or {}).get("add") or []) - BASELINE_ADDED_CAPABILITIES:
            problems.append(f"{c['name']}: adds capabilities {csc['capabilities']['add']}")
        if (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{c['name']}: seccomp profile 'Unconfined'")
    return problems


def restricted_violations(spec: dict[str, Any], *, read_only_root: bool = True) -> list[str]:
    """What in a pod spec breaks the restricted profile (and, with ``read_only_root``,
    which containers have a writable root file system)."""
    problems, per = _shared_violations(spec)
    psc = spec.get("securityContext") or {}
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} uses {sorted(kinds)}")
    if psc.get("runAsUser") == 0:
        problems.append("pod runs as UID 0")
    for c in containers(spec):
        csc = c.get("securityContext") or {}
        name = c["name"]
        problems += per[name]
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
