"""The grid's contract: every address the stack hands to Spark jobs and to its
outputs is a Service (and port) the chart really creates, for every stack."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from components.cluster.grid import (CLUSTER_DOMAIN, NAMES, PORTS, SPACE_NAME, grid_values, lookup_locators,
                                     manager_hosts, rest_url)
from components.cluster.spark.pod_templates import spark_defaults
from components.offline.render import render_chart
from tests.support.stacks import STACK_NAMES, stack_spec


def chart_objects(stack: str) -> list[dict]:
    spec = stack_spec(stack)
    return [r.obj for r in render_chart(grid_values(spec), spec.grid.namespace)]


def service_ports(objects: list[dict], namespace: str) -> dict[str, set[int]]:
    """The cluster DNS name of every Service the chart creates, with its ports."""
    return {f"{o['metadata']['name']}.{namespace}.svc.{CLUSTER_DOMAIN}": {p["port"] for p in o["spec"]["ports"]}
            for o in objects if o["kind"] == "Service"}


def pod_host(host: str, objects: list[dict], namespace: str) -> str:
    """The Service a StatefulSet pod's DNS name (``<set>-<i>.<service>...``) resolves through,
    after checking that the set exists, has that pod and names that Service."""
    pod, service = host.split(".", 1)
    name, index = re.fullmatch(r"(.+)-(\d+)", pod).groups()
    (sts,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == name]
    assert int(index) < sts["spec"]["replicas"], host
    assert f"{sts['spec']['serviceName']}.{namespace}.svc.{CLUSTER_DOMAIN}" == service, host
    return service


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_lookup_locators_are_manager_pods_of_the_headless_service_on_the_lookup_port(stack):
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    services = service_ports(objects, spec.grid.namespace)
    locators = lookup_locators(spec).split(",")
    assert len(locators) == spec.grid.managers
    for locator in locators:
        host, port = locator.rsplit(":", 1)
        service = pod_host(host, objects, spec.grid.namespace)
        assert int(port) in services[service], locator
        headless = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == NAMES.management_headless)
        assert headless["spec"]["clusterIP"] == "None"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_rest_manager_url_is_a_service_and_port_of_the_chart(stack):
    spec = stack_spec(stack)
    services = service_ports(chart_objects(stack), spec.grid.namespace)
    url = urlparse(rest_url(spec))
    assert url.port in services[url.hostname]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_spark_gets_the_same_locators_and_the_chart_s_space(stack):
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    partition_args = {a for o in objects if o["kind"] == "StatefulSet" and "partition" in o["metadata"]["name"]
                      for c in o["spec"]["template"]["spec"]["containers"] for a in c.get("args") or []}
    assert f"name={SPACE_NAME}" in partition_args
    for team in spec.teams:
        if team.spark:
            conf = spark_defaults(spec, team)
            assert conf["spark.insightedge.space.name"] == SPACE_NAME
            assert conf["spark.executorEnv.GS_LOOKUP_LOCATORS"] == lookup_locators(spec)


def test_the_chart_opens_the_contract_s_ports():
    spec = stack_spec("prod")
    objects = chart_objects("prod")
    manager = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == NAMES.management)
    ports = {p["containerPort"] for c in manager["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []}
    assert {PORTS.lookup, PORTS.rest, PORTS.zookeeper_client, PORTS.zookeeper_peer, PORTS.zookeeper_election,
            PORTS.lrmi_first} <= ports
    assert len(manager_hosts(spec)) == manager["spec"]["replicas"] == 3


def test_renaming_a_service_in_the_values_moves_every_client_address():
    """The chart takes the names from its values, so the contract has one source."""
    spec = stack_spec("dev")
    values = grid_values(spec)
    values["names"] = {**values["names"], "managementHeadless": "renamed-hs"}
    objects = [r.obj for r in render_chart(values, spec.grid.namespace)]
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    assert "renamed-hs" in names and NAMES.management_headless not in names
    manager = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == NAMES.management)
    assert manager["spec"]["serviceName"] == "renamed-hs"
