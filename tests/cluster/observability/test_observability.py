"""Observability's objects, releases and settings: strict Kubernetes validation (custom
resources against the Prometheus Operator's CRD schemas), Pod Security, the scrape
NetworkPolicies, the pinned releases and their values, and the DaemonSets sizing counts."""

from __future__ import annotations

import json

import jsonschema
import kubernetes_validate
import pytest

from components.cluster.daemonsets import pool_daemonsets, stack_daemonsets
from components.cluster.charts import remote_releases
from components.cluster.manifests import stack_objects
from components.cluster.observability import (dashboards, grafana_admin_secret, monitoring_resources,
                                              observability_objects, observability_releases)
from components.cluster.observability.names import PROMETHEUS_POD_LABELS
from components.cluster.spark.names import team_image
from components.cluster.observability.prices import HOURLY_USD
from components.config import ConfigError
from components.config.instance_types import SHAPES
from components.validation import validate
from components.offline.check import crd_schema
from tests.support.netpol import Pod, can_connect
from tests.support.pod_security import restricted_violations
from tests.support.stacks import config_of, stack_spec



def spec_with(stack: str, **observability):
    config = config_of(stack)
    config["kubegrid:observability"] = {"enabled": True, **observability}
    return validate(config, stack).spec


def problems(stack: str, **observability) -> list[str]:
    config = config_of(stack)
    config["kubegrid:observability"] = observability
    with pytest.raises(ConfigError) as error:
        validate(config, stack)
    return [str(p) for p in error.value.problems]


SPECS = {"prod": lambda: stack_spec("prod"), "staging": lambda: stack_spec("staging"),
         "local": lambda: spec_with("local"), "local-existing": lambda: spec_with("local", mode="existing")}


@pytest.mark.parametrize("name", SPECS)
def test_objects_pass_strict_kubernetes_validation(name):
    spec = SPECS[name]()
    for obj in observability_objects(spec):
        kubernetes_validate.validate(obj, spec.cluster.kubernetes_version, strict=True)


@pytest.mark.parametrize("name", SPECS)
def test_custom_resources_match_the_operator_crds(name):
    spec = SPECS[name]()
    resources = monitoring_resources(spec)
    assert {r["kind"] for r in resources} >= {"PodMonitor", "PrometheusRule"}
    for resource in resources:
        schema = crd_schema(resource["apiVersion"], resource["kind"])
        jsonschema.validate(resource, schema)


def test_schemas_reject_unknown_fields():
    resource = monitoring_resources(stack_spec("prod"))[-1]
    schema = crd_schema("monitoring.coreos.com/v1", "PrometheusRule")
    resource["spec"]["groups"][0]["rules"][0]["exprr"] = "up"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(resource, schema)


def test_monitors_and_rules_carry_the_labels_prometheus_selects():
    prod = stack_spec("prod")
    kps = next(r for r in observability_releases(prod) if r["chart"] == "kube-prometheus-stack")
    spec = kps["values"]["prometheus"]["prometheusSpec"]
    for resource in monitoring_resources(prod):
        for selector in (spec["serviceMonitorSelector"], spec["podMonitorSelector"], spec["ruleSelector"]):
            assert selector["matchLabels"].items() <= resource["metadata"]["labels"].items()
    existing = spec_with("local", mode="existing", monitorLabels={"prometheus": "main"})
    for resource in monitoring_resources(existing):
        assert resource["metadata"]["labels"]["prometheus"] == "main"
        assert "release" not in resource["metadata"]["labels"]


def test_off_means_nothing():
    spec = stack_spec("dev") if not stack_spec("dev").observability.enabled else spec_with("local")
    if spec.observability.enabled:
        pytest.skip("dev enables observability")
    assert observability_objects(spec) == [] and monitoring_resources(spec) == [] and observability_releases(spec) == []


def test_history_servers_are_restricted_with_a_read_only_root():
    for spec in (stack_spec("prod"), spec_with("local")):
        deployments = [o for o in observability_objects(spec) if o["kind"] == "Deployment"]
        assert deployments
        for deployment in deployments:
            pod = deployment["spec"]["template"]["spec"]
            assert restricted_violations(pod) == []
            container = pod["containers"][0]
            team = next(t for t in spec.teams if t.name == deployment["metadata"]["namespace"])
            assert container["image"] == team_image(team)  # S3 teams' S3A image, else apache/spark's
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert container["resources"]["limits"]["cpu"] and container["resources"]["limits"]["memory"]


def test_one_history_server_per_team_reading_only_its_own_logs():
    prod = stack_spec("prod")
    deployments = {o["metadata"]["namespace"]: o for o in observability_objects(prod) if o["kind"] == "Deployment"}
    # analytics has S3 locations; risk has none in prod, so its drivers write no event logs
    assert set(deployments) == {"analytics"}
    opts = next(e["value"] for e in deployments["analytics"]["spec"]["template"]["spec"]["containers"][0]["env"]
                if e["name"] == "SPARK_HISTORY_OPTS")
    assert "-Dspark.history.fs.logDirectory=s3a://kubegrid-prod-analytics/spark-events/" in opts
    assert "-Dspark.hadoop.fs.s3a.endpoint.region=eu-west-1" in opts  # the drivers' S3A settings (s3a_conf)
    assert deployments["analytics"]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/kubegrid-spark:4.0.1-s3a")
    local = spec_with("local")
    for obj in (o for o in observability_objects(local) if o["kind"] == "Deployment"):
        pod = obj["spec"]["template"]["spec"]
        assert {"name": "spark-events", "persistentVolumeClaim": {"claimName": "spark-events", "readOnly": True}} in pod["volumes"]


def test_prometheus_reaches_the_spark_drivers_ui_and_nothing_else():
    prod = stack_spec("prod")
    policies = [o for o in stack_objects(prod) if o["kind"] == "NetworkPolicy"]
    namespaces = {o["metadata"]["name"]: o["metadata"].get("labels", {}) for o in stack_objects(prod)
                  if o["kind"] == "Namespace"}
    namespaces = {n: {**labels, "kubernetes.io/metadata.name": n} for n, labels in namespaces.items()}
    prometheus = Pod("monitoring", dict(PROMETHEUS_POD_LABELS))
    for team in ("analytics", "risk"):
        driver = Pod(team, {"spark-role": "driver", "spark-app-selector": "spark-1"})
        executor = Pod(team, {"spark-role": "executor", "spark-app-selector": "spark-1"})
        assert can_connect(policies, prometheus, driver, 4040, namespaces)
        assert not can_connect(policies, prometheus, driver, 7078, namespaces)
        assert not can_connect(policies, prometheus, executor, 4040, namespaces)
        assert not can_connect(policies, Pod("monitoring", {"app.kubernetes.io/name": "grafana"}), driver, 4040, namespaces)


def test_kube_prometheus_stack_release_values():
    prod = stack_spec("prod")
    kps = next(r for r in remote_releases(prod) if r["chart"] == "kube-prometheus-stack")
    assert (kps["repo"], kps["version"], kps["namespace"]) == (
        "https://prometheus-community.github.io/helm-charts", "88.5.3", "monitoring")
    values = kps["values"]
    grafana = values["grafana"]
    assert "adminPassword" not in grafana and "admin" not in grafana  # the chart generates one
    assert {"enabled": True, "label": "grafana_dashboard", "labelValue": "1"}.items() <= grafana["sidecar"]["dashboards"].items()
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d" and spec["retentionSize"] == "45GB"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    assert spec["nodeSelector"] == {"kubegrid.io/pool": "system"}
    assert "nodes=[kubegrid.io/pool,kubegrid.io/gpu,topology.kubernetes.io/zone,node.kubernetes.io/instance-type]" in \
        values["kube-state-metrics"]["metricLabelsAllowlist"]
    with_password = spec_with("prod")
    assert grafana_admin_secret(with_password) is None
    config = config_of("prod")
    config["kubegrid:observability"] = {"enabled": True, "grafanaAdminPassword": {"secure": "v1:s3cret-value"}}
    secret_spec = validate(config, "prod").spec
    admin = next(r for r in observability_releases(secret_spec) if r["chart"] == "kube-prometheus-stack")["values"]["grafana"]["admin"]
    secret = grafana_admin_secret(secret_spec)
    assert admin["existingSecret"] == secret["metadata"]["name"] and admin["passwordKey"] in secret["stringData"]
    assert "s3cret-value" not in json.dumps(observability_releases(secret_spec))


def test_dcgm_exporter_only_on_gpu_pools_and_only_with_them():
    prod = stack_spec("prod")
    dcgm = next(r for r in observability_releases(prod) if r["chart"] == "dcgm-exporter")
    assert dcgm["version"] == "4.8.2" and dcgm["repo"] == "https://nvidia.github.io/dcgm-exporter/helm-charts"
    terms = dcgm["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["gpu-a10g"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in dcgm["values"]["tolerations"]
    config = config_of("prod")
    config["kubegrid:nodePools"] = [p for p in config["kubegrid:nodePools"] if not p.get("gpu")]
    config["kubegrid:teams"][0]["quota"]["gpus"] = 0
    no_gpu = validate(config, "prod").spec
    assert [r["chart"] for r in observability_releases(no_gpu)] == ["kube-prometheus-stack"]
    assert "kubegrid-dashboard-gpus" not in dashboards(no_gpu)


def test_mode_existing_installs_no_chart_and_no_namespace():
    spec = spec_with("local", mode="existing")
    assert observability_releases(spec) == []
    assert not [o for o in observability_objects(spec) if o["kind"] == "Namespace"]
    assert {o["kind"] for o in observability_objects(spec)} >= {"ConfigMap", "NetworkPolicy"}


def test_executor_sizing_counts_the_exporters():
    prod = stack_spec("prod")
    by_name = {d.name: d for d in stack_daemonsets(prod)}
    exporter = by_name["prometheus-node-exporter"]
    assert (exporter.cpu_m, exporter.memory_mi, exporter.pools) == (25, 64, None)
    assert by_name["dcgm-exporter"].pools == ("gpu-a10g",)
    assert (by_name["dcgm-exporter"].cpu_m, by_name["dcgm-exporter"].memory_mi) == (100, 128)
    general = prod.pool("general")
    assert "dcgm-exporter" not in {d.name for d in pool_daemonsets(prod, general)}
    assert "dcgm-exporter" in {d.name for d in pool_daemonsets(prod, prod.pool("gpu-a10g"))}


def test_dashboards_are_json_configmaps_for_the_sidecar():
    prod = stack_spec("prod")
    maps = [o for o in observability_objects(prod) if o["kind"] == "ConfigMap"]
    assert {m["metadata"]["name"] for m in maps} == {"kubegrid-dashboard-grid", "kubegrid-dashboard-spark",
                                                     "kubegrid-dashboard-gpus", "kubegrid-dashboard-autoscaler"}
    uids = set()
    for m in maps:
        assert m["metadata"]["labels"]["grafana_dashboard"] == "1" and m["metadata"]["namespace"] == "monitoring"
        (text,) = m["data"].values()
        board = json.loads(text)
        uids.add(board["uid"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) and all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in board["panels"])
    assert len(uids) == len(maps)
    spark = json.loads(next(m for m in maps if m["metadata"]["name"] == "kubegrid-dashboard-spark")["data"]["spark.json"])
    assert [p["title"] for p in spark["panels"] if p["type"] == "row"] == ["Team analytics", "Team risk"]


def test_price_table_names_known_gpu_types():
    for instance_type, price in HOURLY_USD.items():
        assert SHAPES[instance_type].is_gpu and 0 < price < 100


@pytest.mark.parametrize("observability, key, words", [
    ({"gpuIdleMinutes": 60}, "kubegrid:observability.gpuIdleMinutes", "only applies when observability.enabled is true"),
    ({"enabled": True, "mode": "existing", "retentionDays": 30}, "kubegrid:observability.retentionDays",
     "only applies when observability.mode is install"),
    ({"enabled": True, "namespace": "analytics"}, "kubegrid:observability.namespace",
     "got 'analytics', which is team 'analytics''s namespace"),
    ({"enabled": True, "namespace": "kube-system"}, "kubegrid:observability.namespace", "cannot be one of"),
    ({"enabled": True, "monitorLabels": {"release": "not valid!"}}, "kubegrid:observability.monitorLabels.release",
     "got 'not valid!'"),
    ({"enabled": True, "retentionDays": 0}, "kubegrid:observability.retentionDays", ""),
])
def test_configuration_errors_name_the_key(observability, key, words):
    found = problems("prod", **observability)
    assert any(p.startswith(key) and words in p for p in found), found
