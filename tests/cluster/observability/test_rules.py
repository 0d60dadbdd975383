"""The stack's alert and recording rules, and every dashboard query, through the real
Prometheus rules engine: `promtool check rules` parses them, `promtool test rules`
evaluates the alerts on input series that should and should not fire."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.cluster.observability import dashboards, exporters, rule_groups
from components.cluster.observability.dashboards import expressions
from tests.support.stacks import config_of, stack_spec
from components.validation import validate

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)")
OBSERVED = ("staging", "prod")


def local_observed():
    config = config_of("local")
    config["kubegrid:observability"] = {"enabled": True}
    return validate(config, "local").spec


def specs():
    return [stack_spec(name) for name in OBSERVED] + [local_observed()]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@needs_promtool
@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.stack)
def test_promtool_checks_the_rules(spec, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups(spec)}))
    out = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert "SUCCESS" in out.stdout


@needs_promtool
@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.stack)
def test_every_dashboard_query_parses(spec, tmp_path):
    """Each query becomes a recording rule; promtool check rules parses each expression."""
    rules = [{"record": f"kubegrid_dashboard:{uid.replace('-', '_')}:q{i}", "expr": expr}
             for uid, board in dashboards(spec).items() for i, (_, expr) in enumerate(expressions(board))]
    assert rules
    (tmp_path / "dashboards.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    promtool("check", "rules", "dashboards.yaml", cwd=tmp_path)


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not functions, keywords, label names or
    durations."""
    text = re.sub(r'"(\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group(0)
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or name.lower() in PROMQL_WORDS:
            continue
        if re.fullmatch(r"[0-9.e]+", name):
            continue
        found.add(name)
    return found


def test_metric_name_extraction():
    assert metric_names('sum by (pod) (rate(foo_total{a="b:c"}[5m])) / on(x) group_left(y) bar:baz > 2') == \
        {"foo_total", "bar:baz"}


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.stack)
def test_every_metric_used_is_emitted_by_a_deployed_exporter(spec):
    emitted = exporters.emitted()
    recorded = {r["record"] for g in rule_groups(spec) for r in g["rules"] if "record" in r}
    used = [(f"rule {r.get('alert') or r.get('record')}", r["expr"]) for g in rule_groups(spec) for r in g["rules"]]
    used += [(f"dashboard {uid}: {title}", expr) for uid, board in dashboards(spec).items()
             for title, expr in expressions(board)]
    unknown = [(where, name) for where, expr in used for name in metric_names(expr)
               if name not in emitted and name not in recorded]
    assert not unknown, unknown
    # Exporters used only where the stack deploys them: DCGM and the autoscaler in mode eks (GPU pools).
    names_used = {name for _, expr in used for name in metric_names(expr)}
    if not spec.is_eks:
        assert not names_used & (exporters.DCGM.metrics | exporters.CLUSTER_AUTOSCALER.metrics)
    if not any(p.gpu for p in spec.node_pools):
        assert not names_used & exporters.DCGM.metrics


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def prod_unit_tests() -> dict:
    """Input series for prod (3 managers, backups, a GPU pool, teams analytics (24h retention) and risk (72h)),
    each alert once firing and once quiet. Samples are one minute apart."""
    node_gpu = {"node": "ip-10-0-1-5", "gpu": "0"}
    node_busy = {"node": "ip-10-0-1-6", "gpu": "0"}
    tests = [{
        "interval": "1m",
        "input_series": [
            # partition 1 loses its backup at minute 10; partition 2 stays whole
            series("kube_statefulset_status_replicas_ready", "2x9 1x30", namespace="kubegrid", statefulset="kubegrid-partition-1"),
            series("kube_statefulset_status_replicas_ready", "2x40", namespace="kubegrid", statefulset="kubegrid-partition-2"),
            # managers: 3, then 2 (still a quorum) from 10, then 1 from 20
            series("kube_statefulset_status_replicas_ready", "3x9 2x10 1x20", namespace="kubegrid", statefulset="kubegrid-manager"),
            # one GPU node idle throughout, one busy
            series("DCGM_FI_DEV_GPU_UTIL", "0x40", **node_gpu),
            series("DCGM_FI_DEV_GPU_UTIL", "0x20 85x20", **node_busy),
            # analytics at 95% of its CPU quota, risk at 50%
            series("kube_resourcequota", "95x40", namespace="analytics", resourcequota="team-quota", resource="requests.cpu", type="used"),
            series("kube_resourcequota", "100x40", namespace="analytics", resourcequota="team-quota", resource="requests.cpu", type="hard"),
            series("kube_resourcequota", "50x40", namespace="risk", resourcequota="team-quota", resource="requests.cpu", type="used"),
            series("kube_resourcequota", "100x40", namespace="risk", resourcequota="team-quota", resource="requests.cpu", type="hard"),
            # a Prometheus volume 95% full; a grid volume half full
            series("kubelet_volume_stats_available_bytes", "5x40", namespace="monitoring", persistentvolumeclaim="prometheus-db"),
            series("kubelet_volume_stats_capacity_bytes", "100x40", namespace="monitoring", persistentvolumeclaim="prometheus-db"),
            series("kubelet_volume_stats_available_bytes", "50x40", namespace="kubegrid", persistentvolumeclaim="work-kubegrid-partition-1-0"),
            series("kubelet_volume_stats_capacity_bytes", "100x40", namespace="kubegrid", persistentvolumeclaim="work-kubegrid-partition-1-0"),
            # an executor pending throughout; a driver pending only 5 minutes
            series("kube_pod_status_phase", "1x40", namespace="analytics", pod="exec-1", phase="Pending"),
            series("kube_pod_status_phase", "1x4 0x35", namespace="risk", pod="driver-2", phase="Pending"),
            # a pending pod outside the stack's namespaces is not ours
            series("kube_pod_status_phase", "1x40", namespace="other", pod="x", phase="Pending"),
        ],
        "alert_rule_test": [
            {"eval_time": "8m", "alertname": "KubegridPartitionWithoutBackup", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "KubegridPartitionWithoutBackup", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "namespace": "kubegrid", "statefulset": "kubegrid-partition-1"}}]},
            {"eval_time": "18m", "alertname": "KubegridManagerQuorumLost", "exp_alerts": []},
            {"eval_time": "25m", "alertname": "KubegridManagerQuorumLost", "exp_alerts": [
                {"exp_labels": {"severity": "critical", "namespace": "kubegrid", "statefulset": "kubegrid-manager"}}]},
            {"eval_time": "25m", "alertname": "KubegridGpuNodeIdle", "exp_alerts": []},
            {"eval_time": "35m", "alertname": "KubegridGpuNodeIdle", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "node": "ip-10-0-1-5"}}]},
            {"eval_time": "10m", "alertname": "KubegridTeamQuotaNearlyUsed", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "KubegridTeamQuotaNearlyUsed", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "namespace": "analytics", "resourcequota": "team-quota",
                                "resource": "requests.cpu"}}]},
            {"eval_time": "5m", "alertname": "KubegridVolumeNearlyFull", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "KubegridVolumeNearlyFull", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "namespace": "monitoring", "persistentvolumeclaim": "prometheus-db"}}]},
            {"eval_time": "10m", "alertname": "KubegridPodPendingTooLong", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "KubegridPodPendingTooLong", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "namespace": "analytics", "pod": "exec-1"}}]},
        ],
    }]
    # Completed drivers: analytics keeps drivers 24h; one finished 30h ago (cleanup broken), and one
    # executor that finished long ago (not a driver). risk keeps 72h; its driver finished 30h ago (fine).
    start = 200_000
    tests.append({
        "interval": "1m",
        "input_series": [
            series("kube_pod_completion_time", f"{start - 30 * 3600}x60", namespace="analytics", pod="old-driver"),
            series("kube_pod_labels", "1x60", namespace="analytics", pod="old-driver", label_spark_role="driver"),
            series("kube_pod_completion_time", f"{start - 90 * 3600}x60", namespace="analytics", pod="old-exec"),
            series("kube_pod_labels", "1x60", namespace="analytics", pod="old-exec", label_spark_role="executor"),
            series("kube_pod_completion_time", f"{start - 30 * 3600}x60", namespace="risk", pod="risk-driver"),
            series("kube_pod_labels", "1x60", namespace="risk", pod="risk-driver", label_spark_role="driver"),
        ],
        "alert_rule_test": [
            {"eval_time": "20m", "alertname": "KubegridCompletedDriversPilingUp", "exp_alerts": []},
            {"eval_time": "45m", "alertname": "KubegridCompletedDriversPilingUp", "exp_alerts": [
                {"exp_labels": {"severity": "warning", "namespace": "analytics"}}]},
        ],
    })
    return {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests, "_start": start}


def render(template: str, labels: dict[str, str], value: str) -> str:
    """Prometheus' templating of the annotations, for the few forms the rules use."""
    text = re.sub(r"\{\{ \$value \| humanizePercentage \}\}", value, template)
    text = text.replace("{{ $value }}", value)
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)


def with_annotations(tests: dict, spec) -> dict:
    """promtool compares annotations too: the expected ones, rendered from the rules."""
    alerts = {r["alert"]: r for g in rule_groups(spec) for r in g["rules"] if "alert" in r}
    values = {"KubegridPartitionWithoutBackup": "1", "KubegridManagerQuorumLost": "1", "KubegridGpuNodeIdle": "0",
              "KubegridTeamQuotaNearlyUsed": "95%", "KubegridVolumeNearlyFull": "5%",
              "KubegridPodPendingTooLong": "1", "KubegridCompletedDriversPilingUp": "1"}
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            rule = alerts[check["alertname"]]
            for expected in check["exp_alerts"]:
                expected["exp_annotations"] = {k: render(v, expected["exp_labels"], values[check["alertname"]])
                                               for k, v in rule["annotations"].items()}
    return tests


@needs_promtool
def test_alerts_fire_and_stay_quiet_under_promtool(tmp_path):
    spec = stack_spec("prod")
    assert spec.observability.gpu_idle_minutes == 30 and spec.observability.pending_pod_minutes == 15
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups(spec)}))
    tests = prod_unit_tests()
    start = tests.pop("_start")
    # promtool's clock starts at 0: time() is the evaluation time; shift the completion times accordingly
    for case in tests["tests"][1:]:
        for s in case["input_series"]:
            if s["series"].startswith("kube_pod_completion_time"):
                value, count = s["values"].split("x")
                s["values"] = f"{int(value) - start}x{count}"
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(with_annotations(tests, spec)))
    out = promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert "SUCCESS" in out.stdout


def test_every_alert_has_runbook_text_and_the_configured_durations():
    spec = stack_spec("prod")
    alerts = {r["alert"]: r for g in rule_groups(spec) for r in g["rules"] if "alert" in r}
    assert set(alerts) == {"KubegridPartitionWithoutBackup", "KubegridManagerQuorumLost", "KubegridGpuNodeIdle",
                           "KubegridTeamQuotaNearlyUsed", "KubegridCompletedDriversPilingUp",
                           "KubegridVolumeNearlyFull", "KubegridPodPendingTooLong"}
    for alert in alerts.values():
        assert {"summary", "description", "runbook"} <= set(alert["annotations"])
        assert alert["labels"]["severity"] in ("warning", "critical")
    assert alerts["KubegridGpuNodeIdle"]["for"] == "30m"
    assert alerts["KubegridPodPendingTooLong"]["for"] == "15m"


def test_alerts_follow_the_stack():
    local = local_observed()
    alerts = {r["alert"] for g in rule_groups(local) for r in g["rules"] if "alert" in r}
    assert "KubegridGpuNodeIdle" not in alerts  # no GPU pools, no DCGM exporter
    assert "KubegridPartitionWithoutBackup" not in alerts or local.grid.backups == 1
    quorum = next(r for g in rule_groups(local) for r in g["rules"] if r.get("alert") == "KubegridManagerQuorumLost")
    assert quorum["expr"].endswith(f"< {local.grid.managers // 2 + 1}")
