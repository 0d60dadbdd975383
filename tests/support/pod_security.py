"""Pod Security, "restricted" and "baseline", judged by the real API server.

A pod spec is submitted with a server-side dry run into a namespace that enforces the level,
on a control plane of its own (started on first use, for the whole test session); the
PodSecurity admission plugin's refusal is split into its reasons. What Pod Security does not
govern is normalised first, so that nothing else can refuse the pod: a container without an
image gets a placeholder (pod templates leave it to Spark), and the service account is left
out (it exists in the stack's namespaces, not in this one).

The project's own rule beyond the profiles, a read-only root file system, is checked here as
a plain rule (``read_only_root``): no Kubernetes component enforces it.
"""

from __future__ import annotations

import atexit
import copy
import itertools
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from components.cluster.pod_security import BASELINE, LEVEL, namespace_labels

from .cluster import ControlPlane, Kube
from .live import require_engines

PLACEHOLDER_IMAGE = "registry.k8s.io/pause:3.10"
_REFUSAL = re.compile(r'violates PodSecurity "(?P<level>[a-z]+):[^"]*": (?P<reasons>.*)$', re.S)
_names = itertools.count()
_kube: Kube | None = None


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container of a pod spec: init, ephemeral and regular."""
    return [*(spec.get("initContainers") or []), *(spec.get("ephemeralContainers") or []), *(spec.get("containers") or [])]


def _admission() -> Kube:
    """The session's admission control plane: namespaces ``restricted`` and ``baseline``
    labelled exactly as the stack labels its namespaces."""
    global _kube
    if _kube is None:
        directory = Path(tempfile.mkdtemp(prefix="kubegrid-admission-"))
        plane = ControlPlane(directory, require_engines())

        def remove() -> None:
            plane.stop()
            shutil.rmtree(directory, ignore_errors=True)
        atexit.register(remove)
        plane.start()
        kube = plane.kube()
        kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": level, "labels": namespace_labels(level)}}
                    for level in (LEVEL, BASELINE)], manager="kubegrid-test")
        for level in (LEVEL, BASELINE):  # ServiceAccount admission refuses a pod until `default` exists
            kube.wait_for(f"the default service account of namespace {level}", lambda: kube.run(
                "get", "serviceaccount", "default", "-n", level, check=False).returncode == 0)
        _kube = kube
    return _kube


def split_reasons(reasons: str) -> list[str]:
    """The reasons of a PodSecurity refusal, split at the commas between them (not inside
    their parentheses)."""
    parts, depth, current = [], 0, ""
    for char in reasons.strip():
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return parts + ([current.strip()] if current.strip() else [])


def violations(spec: dict[str, Any], level: str) -> list[str]:
    """The reasons the API server's PodSecurity admission refuses a pod of ``spec`` in a
    namespace enforcing ``level``; [] when it admits it."""
    spec = copy.deepcopy(spec)
    spec.pop("serviceAccountName", None)
    spec.pop("serviceAccount", None)
    declared = {v["name"] for v in spec.get("volumes") or []}
    for container in containers(spec):
        container.setdefault("image", PLACEHOLDER_IMAGE)
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in declared:  # a StatefulSet's claim template: its pods get the claim
                spec.setdefault("volumes", []).append({"name": mount["name"],
                                                       "persistentVolumeClaim": {"claimName": mount["name"]}})
                declared.add(mount["name"])
    if not spec.get("containers"):
        spec["containers"] = [{"name": "placeholder", "image": PLACEHOLDER_IMAGE}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"check-{next(_names)}", "namespace": level},
           "spec": spec}
    result = _admission().run("create", "--dry-run=server", "-f", "-", "-o", "name",
                              input=json.dumps(pod), check=False)
    if result.returncode == 0:
        return []
    refusal = _REFUSAL.search(result.stderr)
    if refusal is None:
        raise AssertionError(f"the API server refused the pod for another reason than Pod Security: {result.stderr}")
    return split_reasons(refusal["reasons"])


def baseline_violations(spec: dict[str, Any]) -> list[str]:
    """What in a pod spec the API server refuses under the baseline profile."""
    return violations(spec, BASELINE)


def restricted_violations(spec: dict[str, Any], *, read_only_root: bool = True) -> list[str]:
    """What in a pod spec the API server refuses under the restricted profile (and, with
    ``read_only_root``, which containers have a writable root file system: our own rule)."""
    problems = violations(spec, LEVEL)
    if read_only_root:
        problems += [f"{c['name']}: root filesystem is writable" for c in containers(spec)
                     if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True]
    return problems
