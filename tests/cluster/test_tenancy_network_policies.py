"""The team namespaces' NetworkPolicies allow the paths the issue lists and nothing broader.

Connections are judged with the stack's own policies and the grid chart's
(rendered with the stack's values), so a path to the grid must pass both
sides: our egress and the chart's ingress.
"""

from __future__ import annotations

import copy

import pytest

from components.cluster.grid import grid_values
from components.cluster.manifests import stack_objects as cluster_objects
from components.offline.render import render_chart
from components.cluster.spark.cleanup import cleanup_pod_labels
from components.config import load_spec
from components.cluster.grid import PORTS
from components.cluster.tenancy import PRIVATE_RANGES
from tests.support.stacks import stack_config, stack_spec
from tests.support.netpol import NAMESPACE_NAME, Address, Pod, can_connect

GRID = {"app.kubernetes.io/name": "kubegrid", "app.kubernetes.io/instance": "kubegrid"}
MANAGER = Pod("kubegrid", {**GRID, "app.kubernetes.io/component": "management"}, "10.0.50.1")
PARTITION = Pod("kubegrid", {**GRID, "app.kubernetes.io/component": "partition", "kubegrid.io/partition": "1"},
                "10.0.50.2")
NOT_GRID = Pod("kubegrid", {"app": "something-else"}, "10.0.50.3")
DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "10.0.60.1")
KUBE_SYSTEM_OTHER = Pod("kube-system", {"k8s-app": "metrics-server"}, "10.0.60.2")
EKS_API = Address("10.0.12.34")           # a control-plane network interface in the VPC
API_SERVICE = Address("172.20.0.1")       # the `kubernetes` Service
KIND_API = Address("172.18.0.2")          # kind's control-plane container
S3 = Address("52.216.0.10")
POD_IDENTITY = Address("169.254.170.23")
IMDS = Address("169.254.169.254")


def team_pods(team: str) -> dict[str, Pod]:
    app = {"spark-app-selector": "spark-1234"}
    return {
        "driver": Pod(team, {"spark-role": "driver", **app}, "10.0.70.1"),
        "executor": Pod(team, {"spark-role": "executor", **app}, "10.0.70.2"),
        "plain": Pod(team, {"app": "notebook"}, "10.0.70.3"),
        "cleanup": Pod(team, cleanup_pod_labels(team), "10.0.70.4"),
    }


class World:
    """A stack's policies (ours and the chart's) and its namespaces' labels."""

    def __init__(self, spec):
        objects = cluster_objects(spec)
        chart = [r.obj for r in render_chart(grid_values(spec), spec.grid.namespace)]
        self.policies = [o for o in objects + chart if o["kind"] == "NetworkPolicy"]
        self.namespaces = {o["metadata"]["name"]: {**o["metadata"]["labels"], NAMESPACE_NAME: o["metadata"]["name"]}
                           for o in objects if o["kind"] == "Namespace"}
        self.namespaces.update({"kube-system": {NAMESPACE_NAME: "kube-system"}, "other": {NAMESPACE_NAME: "other"}})

    def ok(self, source, target, port: int, protocol: str = "TCP") -> bool:
        return can_connect(self.policies, source, target, port, self.namespaces, protocol)


@pytest.fixture(scope="module")
def prod() -> World:
    return World(stack_spec("prod"))


@pytest.fixture(scope="module")
def local() -> World:
    return World(stack_spec("local"))


def test_pods_of_a_namespace_reach_each_other_on_any_port(prod):
    pods = team_pods("analytics")
    for port in (7078, 7079, 4040, 15002):
        assert prod.ok(pods["executor"], pods["driver"], port) and prod.ok(pods["driver"], pods["executor"], port)
        assert prod.ok(pods["plain"], pods["executor"], port)


def test_nothing_comes_in_from_other_namespaces_or_outside(prod):
    pods = team_pods("analytics")
    for source in (team_pods("risk")["driver"], Pod("other", {}), KUBE_SYSTEM_OTHER, S3, NOT_GRID):
        for port in (22, 443, 4040, 7078, 8200):
            assert not prod.ok(source, pods["driver"], port), (source, port)
    assert not prod.ok(pods["driver"], team_pods("risk")["driver"], 7078)  # and nothing goes to other teams


def test_dns_only_to_cluster_dns_on_port_53(prod):
    for pod in team_pods("analytics").values():
        assert prod.ok(pod, DNS, 53, "UDP") and prod.ok(pod, DNS, 53, "TCP")
        assert not prod.ok(pod, DNS, 8080) and not prod.ok(pod, KUBE_SYSTEM_OTHER, 53, "UDP")


def test_every_team_pod_reaches_the_grid_on_lookup_rest_and_lrmi_ports_only(prod):
    first, last = PORTS.lrmi_first, PORTS.lrmi_last
    for team in ("analytics", "risk"):
        for pod in team_pods(team).values():
            assert prod.ok(pod, MANAGER, 4174) and prod.ok(pod, MANAGER, 8090)
            assert prod.ok(pod, PARTITION, first) and prod.ok(pod, PARTITION, last)
            for port in (2181, 2888, 8089, first - 1, last + 1):
                assert not prod.ok(pod, MANAGER, port), port
            assert not prod.ok(pod, PARTITION, 8089)
            assert not prod.ok(pod, NOT_GRID, 4174)  # the grid's pods, not anything in its namespace


def test_the_grid_calls_back_on_lrmi_ports_only(prod):
    executor = team_pods("analytics")["executor"]
    first, last = PORTS.lrmi_first, PORTS.lrmi_last
    for grid_pod in (MANAGER, PARTITION):
        assert prod.ok(grid_pod, executor, first) and prod.ok(grid_pod, executor, last)
        assert not prod.ok(grid_pod, executor, 7078) and not prod.ok(grid_pod, executor, last + 1)
    assert not prod.ok(NOT_GRID, executor, first)


def test_only_drivers_and_the_cleanup_job_reach_the_kubernetes_api(prod, local):
    for world in (prod, local):
        pods = team_pods("analytics")
        for api, port in ((EKS_API, 443), (API_SERVICE, 443), (KIND_API, 6443)):
            assert world.ok(pods["driver"], api, port) and world.ok(pods["cleanup"], api, port)
            assert not world.ok(pods["executor"], api, port) and not world.ok(pods["plain"], api, port)
        assert not world.ok(pods["driver"], EKS_API, 80) and not world.ok(pods["driver"], S3, 6443)
    assert prod.ok(team_pods("risk")["cleanup"], EKS_API, 443)  # each team's own job


def test_aws_apis_only_for_spark_pods_of_teams_with_s3_locations(prod):
    analytics, risk = team_pods("analytics"), team_pods("risk")
    for pod in (analytics["driver"], analytics["executor"]):
        assert prod.ok(pod, S3, 443) and prod.ok(pod, POD_IDENTITY, 80)
        assert not prod.ok(pod, S3, 80) and not prod.ok(pod, IMDS, 80) and not prod.ok(pod, POD_IDENTITY, 443)
    assert not prod.ok(analytics["plain"], S3, 443) and not prod.ok(analytics["plain"], POD_IDENTITY, 80)
    for pod in risk.values():  # risk has no s3Access
        assert not prod.ok(pod, S3, 443) and not prod.ok(pod, POD_IDENTITY, 80)


def test_a_notebook_pod_running_a_client_mode_driver_reaches_the_api_and_aws(prod):
    """A notebook pod labelled ``spark-role: driver`` (docs/spark.md) has no ``spark-app-selector``
    when it starts; the API and AWS paths select it by its role (the real client's notebook run)."""
    notebook = Pod("analytics", {"app": "notebook", "spark-role": "driver"}, "10.0.70.5")
    assert prod.ok(notebook, EKS_API, 443) and prod.ok(notebook, S3, 443) and prod.ok(notebook, POD_IDENTITY, 80)
    assert not prod.ok(Pod("analytics", {"app": "notebook"}, "10.0.70.6"), S3, 443)


def test_no_internet_in_mode_existing(local):
    for pod in team_pods("analytics").values():
        assert not local.ok(pod, S3, 443) and not local.ok(pod, POD_IDENTITY, 80)


def test_every_rule_names_its_peers_and_no_rule_opens_all_namespaces(each_stack):
    """Structure: no rule without peers (everyone) or with an empty namespace selector
    (every namespace), and the only address blocks are the API server's and AWS's."""
    spec = stack_spec(each_stack)
    teams = {t.name for t in spec.teams}
    allowed_blocks = {*PRIVATE_RANGES, "169.254.170.23/32", "0.0.0.0/0"}
    for policy in (o for o in cluster_objects(spec) if o["kind"] == "NetworkPolicy"):
        assert policy["metadata"]["namespace"] in teams
        for key, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(key, []):
                assert rule.get(peers_key), (policy["metadata"]["name"], rule)
                for peer in rule[peers_key]:
                    assert peer.get("namespaceSelector") != {}, policy["metadata"]["name"]
                    if "ipBlock" in peer:
                        assert peer["ipBlock"]["cidr"] in allowed_blocks
                        if peer["ipBlock"]["cidr"] == "0.0.0.0/0":
                            assert set(peer["ipBlock"]["except"]) >= set(PRIVATE_RANGES)
                        assert "ports" in rule


def test_a_team_without_spark_has_no_api_path():
    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:teams"][0]["spark"] = False
    config["kubegrid:teams"][0].pop("s3Access")
    world = World(load_spec(config, "prod"))
    pods = team_pods("analytics")
    assert not world.ok(pods["driver"], EKS_API, 443) and not world.ok(pods["driver"], S3, 443)
    assert world.ok(pods["driver"], MANAGER, 4174)  # still a grid client
