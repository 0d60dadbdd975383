"""Bad values are rejected before anything is created, each with its message:
the schema for single values, kubegrid.validateValues for combinations."""

from __future__ import annotations

from typing import Any

import helm_python
import pytest

SCHEMA_CASES = [
    pytest.param({"partitions": {"count": 0}}, "at '/partitions/count': minimum: got 0, want 1", id="count-0"),
    pytest.param({"partitions": {"count": 257}}, "at '/partitions/count': maximum: got 257, want 256", id="count-257"),
    pytest.param({"partitions": {"count": "4"}}, "at '/partitions/count': got string, want integer", id="count-string"),
    pytest.param({"partitions": {"backups": 2}}, "at '/partitions/backups': value must be one of 0, 1", id="backups-2"),
    pytest.param({"partitions": {"backups": -1}}, "at '/partitions/backups': value must be one of 0, 1", id="backups-neg"),
    pytest.param({"management": {"ha": "yes"}}, "at '/management/ha': got string, want boolean", id="ha-string"),
    pytest.param({"partitions": {"zoneAware": 1}}, "at '/partitions/zoneAware': got number, want boolean", id="zone-number"),
    pytest.param({"persistence": {"enabled": "true"}}, "at '/persistence/enabled': got string, want boolean", id="persistence-string"),
    pytest.param({"zeppelin": {"enabled": "no"}}, "at '/zeppelin/enabled': got string, want boolean", id="zeppelin-string"),
    pytest.param({"partitions": {"memory": "4GB"}}, "at '/partitions/memory': '4GB' does not match pattern", id="memory-GB"),
    pytest.param({"partitions": {"memory": "4096"}}, "at '/partitions/memory': '4096' does not match pattern", id="memory-no-unit"),
    pytest.param({"management": {"memory": "1.5Gi"}}, "at '/management/memory': '1.5Gi' does not match pattern", id="memory-decimal"),
    pytest.param({"management": {"memory": "0Gi"}}, "at '/management/memory': '0Gi' does not match pattern", id="memory-zero"),
    pytest.param({"partitions": {"cpu": "0"}}, "at '/partitions/cpu': '0' does not match pattern", id="cpu-zero"),
    pytest.param({"partitions": {"cpu": "1 core"}}, "at '/partitions/cpu': '1 core' does not match pattern", id="cpu-words"),
    pytest.param({"management": {"cpu": "-1"}}, "at '/management/cpu': '-1' does not match pattern", id="cpu-negative"),
    pytest.param({"management": {"cpu": 0}}, "at '/management/cpu': minimum: got 0, want 1", id="cpu-int-zero"),
    pytest.param({"persistence": {"size": "20gi"}}, "at '/persistence/size': '20gi' does not match pattern", id="size-case"),
    pytest.param({"persistence": {"storageClass": "Fast_SSD"}}, "at '/persistence/storageClass'", id="storage-class"),
    pytest.param(
        {"persistence": {"retentionPolicy": {"whenDeleted": "Keep"}}},
        "at '/persistence/retentionPolicy/whenDeleted': value must be one of 'Retain', 'Delete'",
        id="retention",
    ),
    pytest.param({"partitions": {"heapPercent": 95}}, "at '/partitions/heapPercent': maximum: got 95, want 90", id="heap-95"),
    pytest.param({"management": {"heapPercent": 10}}, "at '/management/heapPercent': minimum: got 10, want 25", id="heap-10"),
    pytest.param({"image": {"tag": "16.4.0"}}, "at '/image': additional properties 'tag' not allowed", id="image-tag-gone"),
    pytest.param({"zeppelin": {"image": {"tag": "latest"}}}, "at '/zeppelin/image/tag'", id="tag-latest"),
    pytest.param({"product": "xap"}, "at '/product': value must be one of 'smart-cache', 'insightedge'", id="product"),
    pytest.param({"version": "16.4"}, "at '/version': '16.4' does not match pattern", id="version-form"),
    pytest.param({"version": 16}, "at '/version': got number, want string", id="version-number"),
    pytest.param({"partitions": {"partitionsArgument": "all"}}, "at '/partitions/partitionsArgument'", id="partitions-arg"),
    pytest.param({"partitions": {"javaHeap": "4 GB"}}, "at '/partitions/javaHeap': '4 GB' does not match pattern", id="java-heap"),
    pytest.param({"management": {"extraArgs": ["--verbose"]}}, "at '/management/extraArgs/0'", id="extra-args"),
    pytest.param({"zeppelin": {"spark": {"master": "k8s://https://kubernetes.default.svc"}}}, "at '/zeppelin/spark/master'", id="spark-k8s"),
    pytest.param({"management": {"rbac": {"nodes": "no"}}}, "at '/management/rbac/nodes': got string, want boolean", id="rbac-nodes"),
    pytest.param({"image": {"digest": "sha256:abc"}}, "at '/image/digest': 'sha256:abc' does not match pattern", id="digest"),
    pytest.param({"license": {"existingSecret": "My_Secret"}}, "at '/license/existingSecret'", id="secret-name"),
    pytest.param(
        {"gridClients": {"namespaceLabel": "grid client!"}},
        "at '/gridClients/namespaceLabel': 'grid client!' does not match pattern",
        id="client-label",
    ),
    pytest.param({"zeppelin": {"spark": {"conf": {"sql.shuffle": "8"}}}}, "'sql.shuffle' does not match pattern", id="spark-conf-key"),
    pytest.param(
        {"management": {"zoneSpreadPolicy": "Always"}},
        "at '/management/zoneSpreadPolicy': value must be one of 'ScheduleAnyway', 'DoNotSchedule'",
        id="spread-policy",
    ),
    pytest.param({"securityContext": {"runAsUser": 0}}, "at '/securityContext/runAsUser': minimum: got 0, want 1", id="root"),
    pytest.param({"grid": {"userHome": "home"}}, "at '/grid/userHome'", id="user-home"),
    pytest.param({"partition": {"count": 2}}, "at '': additional properties 'partition' not allowed", id="typo-top"),
    pytest.param({"partitions": {"replicas": 2}}, "at '/partitions': additional properties 'replicas' not allowed", id="typo-nested"),
    pytest.param({"metrics": {"serviceMonitor": {"interval": "30"}}}, "at '/metrics/serviceMonitor/interval'", id="interval"),
]


@pytest.mark.parametrize(("overrides", "message"), SCHEMA_CASES)
def test_schema_rejects(render: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmValuesError) as caught:
        render(overrides)
    assert "values don't meet the specifications of the schema" in str(caught.value)
    assert message in str(caught.value)


CROSS_FIELD_CASES = [
    pytest.param(
        {"version": "14.5.0"},
        'version "14.5.0" is not supported: images before 15.0 read XAP_* variables, not the GS_* variables this '
        "chart sets. Use a version from 16.0.0 to 16.4.x, such as 16.4.0.",
        id="version-xap",
    ),
    pytest.param(
        {"version": "15.8.1"},
        'version "15.8.1" is not supported: the chart runs GigaSpaces 16.0.0 to 16.4.x (the 16.x images\' gs_user, '
        "GS_* variables and entry-script arguments). Use a version such as 16.4.0.",
        id="version-15",
    ),
    pytest.param(
        {"version": "16.5.0"},
        'version "16.5.0" is not supported: the chart runs GigaSpaces 16.0.0 to 16.4.x',
        id="version-16.5",
    ),
    pytest.param(
        {"version": "17.0.1"},
        'version "17.0.1" is not supported: the chart runs GigaSpaces 16.0.0 to 16.4.x',
        id="version-17",
    ),
    pytest.param(
        {"names": {"managementHeadless": "grid-headless"}},
        'names.managementHeadless is "grid-headless", but GigaSpaces\' images derive this Service\'s name from the '
        'manager name "kubegrid-manager", so it must be "kubegrid-manager-hs" (or empty).',
        id="headless-name",
    ),
    pytest.param(
        {"names": {"management": "mgr", "sparkLocatorService": "kubegrid-manager-insightedge-manager-hs"}},
        'names.sparkLocatorService is "kubegrid-manager-insightedge-manager-hs", but GigaSpaces\' images derive '
        'this Service\'s name from the manager name "mgr", so it must be "mgr-insightedge-manager-hs" (or empty).',
        id="locator-name",
    ),
    pytest.param(
        {"partitions": {"zoneAware": True, "backups": 0}},
        "partitions.zoneAware is true but partitions.backups is 0: zone awareness keeps a partition's "
        "primary and backup in different zones, so it needs partitions.backups: 1.",
        id="zone-aware-without-backup",
    ),
    pytest.param(
        {"partitions": {"preStopDelaySeconds": 120, "terminationGracePeriodSeconds": 120}},
        "partitions.preStopDelaySeconds (120) must be shorter than partitions.terminationGracePeriodSeconds (120), "
        "or the pod is killed before the grid can hand over.",
        id="prestop-vs-grace",
    ),
    pytest.param(
        {"partitions": {"memory": "256Mi"}},
        "partitions.memory 256Mi with partitions.heapPercent 70 gives a JVM heap of 179Mi; the grid needs at "
        "least 256Mi. Raise partitions.memory or partitions.heapPercent.",
        id="heap-too-small",
    ),
    pytest.param(
        {"management": {"memory": "512Mi", "heapPercent": 90}},
        "management.memory 512Mi with management.heapPercent 90 leaves 52Mi outside the JVM heap; the JVM needs "
        "at least 256Mi for metaspace, threads and buffers. Raise management.memory or lower management.heapPercent.",
        id="no-room-outside-heap",
    ),
    pytest.param(
        {"license": {"existingSecret": "", "value": ""}},
        "license.existingSecret and license.value are both empty: name an existing Secret in "
        "license.existingSecret, or give license.value for the chart to create one (tryme is the evaluation license).",
        id="no-license",
    ),
    pytest.param(
        {"metrics": {"serviceMonitor": {"enabled": True}}},
        "metrics.serviceMonitor.enabled is true but metrics.enabled is false: the ServiceMonitor scrapes the "
        "metrics port, so enable metrics.enabled as well.",
        id="monitor-without-metrics",
    ),
    pytest.param(
        {"ingress": {"enabled": True, "tls": True}},
        "ingress.tls is true but ingress.host is empty: a TLS certificate is issued for a host name, so set ingress.host.",
        id="tls-without-host",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), CROSS_FIELD_CASES)
def test_validate_values_rejects(render: Any, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render(overrides)
    assert "kubegrid: invalid values:\n- " + message in str(caught.value)


def test_every_broken_rule_is_reported_at_once(render: Any) -> None:
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render({"partitions": {"zoneAware": True, "backups": 0}, "ingress": {"enabled": True, "tls": True}})
    text = str(caught.value)
    assert "- partitions.zoneAware is true but partitions.backups is 0" in text
    assert "- ingress.tls is true but ingress.host is empty" in text


def test_too_long_release_name_is_rejected(render: Any) -> None:
    """The Spark locator Service "<fullname>-manager-insightedge-manager-hs" is the longest name."""
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render({}, name="kubegrid-analytics-eu-west-1-prod")
    assert (
        'the name prefix "kubegrid-analytics-eu-west-1-prod" is too long: Service '
        '"kubegrid-analytics-eu-west-1-prod-manager-insightedge-manager-hs" has 64 characters, and Kubernetes allows 63. '
        "Use a shorter release name or set fullnameOverride (or names.management)."
    ) in str(caught.value)


def test_longest_accepted_name(render: Any) -> None:
    out = render({"partitions": {"count": 16}}, name="kubegrid-analytics-eu-west-1-pro")
    assert max(len(s["metadata"]["name"]) for s in out.of_kind("Service")) == 63


def test_long_partition_names_are_rejected(render: Any) -> None:
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render({"partitions": {"count": 16}, "names": {"management": "m"}}, name="kubegrid-analytics-eu-west-1-prod-blue-2")
    assert ('StatefulSet "kubegrid-analytics-eu-west-1-prod-blue-2-partition-16" has 53 characters, and Kubernetes '
            "allows 52.") in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"partitions": {"count": 64, "backups": 0}},
        {"partitions": {"memory": "512Mi", "heapPercent": 50}},
        {"management": {"cpu": "250m", "memory": "1G"}},
        {"management": {"cpu": 2}},
        {"partitions": {"cpu": "0.5"}},
        {"persistence": {"enabled": True, "storageClass": "-", "size": "1Ti"}},
        {"version": "16.0.0"},
        {"version": "16.4.5", "product": "insightedge"},
        {"partitions": {"memory": "512Mi", "javaHeap": "limit-150Mi"}},
        {"zeppelin": {"enabled": True, "spark": {"master": "local[4]"}}},
    ],
)
def test_edge_values_are_accepted(render: Any, overrides: dict[str, Any]) -> None:
    assert render(overrides).get("StatefulSet", "kubegrid-manager")
