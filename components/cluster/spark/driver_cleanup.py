"""Deletes finished Spark driver pods older than a retention, in one namespace.

Spark leaves a finished driver pod in place so its logs can be read. This
script runs in the team's driver cleanup CronJob (in the Spark image, with
the Python standard library only): it lists the namespace's driver pods
(label ``spark-role=driver``), keeps those that finished (phase Succeeded or
Failed) at least ``RETENTION_HOURS`` ago, and deletes each, on the condition
that it is still the same pod (its uid). Deleting a driver pod also removes
what Spark tied to it (executor ConfigMap, on-demand claims).

Environment: ``NAMESPACE``, ``RETENTION_HOURS``; the service account token
and CA at ``TOKEN_DIR``.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Optional

API = "https://kubernetes.default.svc"
TOKEN_DIR = "/var/run/secrets/kubegrid/serviceaccount"
FINISHED_PHASES = ("Succeeded", "Failed")
DRIVER_SELECTOR = "spark-role=driver"
GONE = (404, 409)
"""Not found, or the uid precondition failed: someone else deleted or replaced the pod."""


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as the API writes it (``2026-01-02T03:04:05Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def finished_at(pod: dict[str, Any]) -> Optional[datetime]:
    """When the pod finished: its last container's end, or for a pod whose
    containers left no end time (evicted, never started) its last condition change."""
    status = pod.get("status", {})
    ends = [s.get("state", {}).get("terminated", {}).get("finishedAt") for s in status.get("containerStatuses") or []]
    if not ends or not all(ends):
        ends = [c.get("lastTransitionTime") for c in status.get("conditions") or []]
    ends = [parse_time(t) for t in ends if t]
    return max(ends) if ends else None


def expired(pods: Iterable[dict[str, Any]], now: datetime, retention_hours: int) -> list[dict[str, Any]]:
    """The finished pods whose containers all ended at least ``retention_hours`` before ``now``."""
    cutoff = now - timedelta(hours=retention_hours)
    found = []
    for pod in pods:
        if pod.get("status", {}).get("phase") not in FINISHED_PHASES:
            continue
        ended = finished_at(pod)
        if ended is not None and ended <= cutoff:
            found.append(pod)
    return found


def request(method: str, path: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    with open(f"{TOKEN_DIR}/token", encoding="utf-8") as handle:
        token = handle.read().strip()
    context = ssl.create_default_context(cafile=f"{TOKEN_DIR}/ca.crt")
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(f"{API}{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(call, context=context, timeout=30) as response:
        return json.load(response)


def main(now: Optional[datetime] = None) -> int:
    namespace = os.environ["NAMESPACE"]
    retention = int(os.environ["RETENTION_HOURS"])
    base = f"/api/v1/namespaces/{urllib.parse.quote(namespace)}/pods"
    pods = request("GET", f"{base}?labelSelector={urllib.parse.quote(DRIVER_SELECTOR)}").get("items") or []
    old = expired(pods, now or datetime.now(timezone.utc), retention)
    for pod in old:
        meta = pod["metadata"]
        try:
            request("DELETE", f"{base}/{urllib.parse.quote(meta['name'])}",
                    {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": meta["uid"]}})
        except urllib.error.HTTPError as error:
            if error.code not in GONE:
                raise
            print(f"driver pod {meta['name']} is already gone or was replaced")
            continue
        print(f"deleted driver pod {meta['name']} (finished {finished_at(pod).isoformat()})")
    print(f"{len(old)} of {len(pods)} driver pods in {namespace} were finished more than {retention}h ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
