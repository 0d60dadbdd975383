"""The driver cleanup job: its CronJob, and which pods its script deletes (at a fixed time)."""

from __future__ import annotations

import sys
import urllib.error
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from components.cluster.manifests import stack_objects as cluster_objects
from components.cluster.spark import driver_cleanup
from components.cluster.spark.cleanup import CLEANUP_UID, SCRIPT_DIR, SCRIPT_NAME
from components.cluster.spark.names import SPARK_IMAGE
from tests.support.stacks import stack_spec
from tests.support.pod_security import restricted_violations
from tests.support.objects import named

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def stamp(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def driver(name: str, phase: str, hours_ago: float | None) -> dict:
    state = {"terminated": {"finishedAt": stamp(hours_ago)}} if hours_ago is not None else {"running": {}}
    return {"metadata": {"name": name, "uid": f"uid-{name}"},
            "status": {"phase": phase, "containerStatuses": [{"name": "spark-kubernetes-driver", "state": state}]}}


def test_a_cron_job_per_spark_team_with_the_team_retention():
    objects = cluster_objects(stack_spec("prod"))
    for team, hours in (("analytics", "24"), ("risk", "72")):
        job = named(objects, "CronJob", team, "spark-driver-cleanup")
        assert job["spec"]["concurrencyPolicy"] == "Forbid"
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert {"name": "RETENTION_HOURS", "value": hours} in container["env"]
        assert container["image"] == SPARK_IMAGE and container["command"] == ["python3", f"{SCRIPT_DIR}/{SCRIPT_NAME}"]
        assert pod["serviceAccountName"] == "spark-driver-cleanup"
        assert restricted_violations(pod) == [] and pod["securityContext"]["runAsUser"] == CLEANUP_UID


def test_the_token_is_mounted_only_where_the_script_reads_it_and_expires():
    job = named(cluster_objects(stack_spec("local")), "CronJob", "analytics", "spark-driver-cleanup")
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    (token,) = [v for v in pod["volumes"] if "projected" in v]
    sources = token["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == token["name"])
    assert mount["mountPath"] == driver_cleanup.TOKEN_DIR and mount["readOnly"] is True


def test_the_config_map_holds_the_script_the_tests_run():
    script = named(cluster_objects(stack_spec("local")), "ConfigMap", "analytics", "spark-driver-cleanup")["data"]
    assert script == {SCRIPT_NAME: Path(driver_cleanup.__file__).read_text(encoding="utf-8")}


def test_only_finished_drivers_past_the_retention_expire():
    pods = [
        driver("old-ok", "Succeeded", 25), driver("old-failed", "Failed", 30),
        driver("young", "Succeeded", 23), driver("exactly", "Succeeded", 24),
        driver("running", "Running", None), driver("pending", "Pending", None),
    ]
    names = [p["metadata"]["name"] for p in driver_cleanup.expired(pods, NOW, 24)]
    assert names == ["old-ok", "old-failed", "exactly"]
    assert [p["metadata"]["name"] for p in driver_cleanup.expired(pods, NOW, 72)] == []


def test_a_driver_without_container_end_times_ages_from_its_last_condition():
    evicted = {"metadata": {"name": "evicted", "uid": "u"}, "status": {
        "phase": "Failed", "containerStatuses": [{"state": {"waiting": {}}}],
        "conditions": [{"type": "Ready", "lastTransitionTime": stamp(50)},
                       {"type": "PodScheduled", "lastTransitionTime": stamp(60)}]}}
    assert driver_cleanup.finished_at(evicted) == NOW - timedelta(hours=50)
    assert driver_cleanup.expired([evicted], NOW, 48) == [evicted]
    assert driver_cleanup.expired([evicted], NOW, 51) == []


def test_main_deletes_each_expired_pod_on_its_uid_and_skips_vanished_ones(monkeypatch, capsys):
    pods = [driver("a", "Succeeded", 30), driver("b", "Failed", 40), driver("c", "Succeeded", 1)]
    calls = []

    def fake(method, path, body=None):
        calls.append((method, path, body))
        if method == "GET":
            return {"items": pods}
        if path.endswith("/b"):
            raise urllib.error.HTTPError(path, 409, "precondition failed", {}, None)
        return {}

    monkeypatch.setattr(driver_cleanup, "request", fake)
    monkeypatch.setenv("NAMESPACE", "analytics")
    monkeypatch.setenv("RETENTION_HOURS", "24")
    assert driver_cleanup.main(now=NOW) == 0
    assert calls[0] == ("GET", "/api/v1/namespaces/analytics/pods?labelSelector=spark-role%3Ddriver", None)
    assert calls[1:] == [
        ("DELETE", "/api/v1/namespaces/analytics/pods/a", {"apiVersion": "v1", "kind": "DeleteOptions",
                                                           "preconditions": {"uid": "uid-a"}}),
        ("DELETE", "/api/v1/namespaces/analytics/pods/b", {"apiVersion": "v1", "kind": "DeleteOptions",
                                                           "preconditions": {"uid": "uid-b"}}),
    ]
    assert "deleted driver pod a" in capsys.readouterr().out


def test_main_fails_on_other_api_errors(monkeypatch):
    def fake(method, path, body=None):
        if method == "GET":
            return {"items": [driver("a", "Succeeded", 30)]}
        raise urllib.error.HTTPError(path, 403, "forbidden", {}, None)

    monkeypatch.setattr(driver_cleanup, "request", fake)
    monkeypatch.setenv("NAMESPACE", "analytics")
    monkeypatch.setenv("RETENTION_HOURS", "24")
    with pytest.raises(urllib.error.HTTPError):
        driver_cleanup.main(now=NOW)


def test_the_script_needs_only_the_standard_library():
    source = Path(driver_cleanup.__file__).read_text(encoding="utf-8")
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports and imports <= set(sys.stdlib_module_names)  # it runs in the Spark image, with no packages
