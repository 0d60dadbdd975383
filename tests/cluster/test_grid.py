"""The grid's contract: every address the stack hands to Spark jobs and to its
outputs is a Service (and port) the chart really creates, for every stack."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlparse

import pytest

from components.cluster.grid import (CLUSTER_DOMAIN, MANAGER, NAMES, PORTS, SPACE_NAME, grid_image, grid_values,
                                     lookup_locators, manager_hosts, rest_url, spark_locator)
from components.cluster.spark.pod_templates import spark_defaults
from components.offline.render import render_chart
from tests.support.stacks import STACK_NAMES, stack_spec

MANAGER_SELECTOR = {"app.kubernetes.io/name": "kubegrid", "app.kubernetes.io/instance": "kubegrid",
                    "app.kubernetes.io/component": "management"}


def chart_objects(stack: str) -> list[dict]:
    spec = stack_spec(stack)
    return [r.obj for r in render_chart(grid_values(spec), spec.grid.namespace)]


def services(objects: list[dict], namespace: str) -> dict[str, dict]:
    """Every Service the chart creates, by its cluster DNS name."""
    return {f"{o['metadata']['name']}.{namespace}.svc.{CLUSTER_DOMAIN}": o for o in objects if o["kind"] == "Service"}


def service_ports(objects: list[dict], namespace: str) -> dict[str, set[int]]:
    """The cluster DNS name of every Service the chart creates, with its ports."""
    return {host: {p["port"] for p in o["spec"]["ports"]} for host, o in services(objects, namespace).items()}


def pod_host(host: str, objects: list[dict], namespace: str) -> str:
    """The Service a StatefulSet pod's DNS name (``<set>-<i>.<service>...``) resolves through,
    after checking that the set exists, has that pod and names that Service."""
    pod, service = host.split(".", 1)
    name, index = re.fullmatch(r"(.+)-(\d+)", pod).groups()
    (sts,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == name]
    assert int(index) < sts["spec"]["replicas"], host
    assert f"{sts['spec']['serviceName']}.{namespace}.svc.{CLUSTER_DOMAIN}" == service, host
    return service


def test_the_names_are_gigaspaces_derivations_of_the_manager_name():
    assert NAMES.manager == NAMES.management == MANAGER == "kubegrid-manager"
    assert NAMES.management_headless == f"{MANAGER}-hs"
    assert NAMES.management_service == f"{MANAGER}-service"
    assert NAMES.spark_locator_service == f"{MANAGER}-insightedge-manager-hs"
    assert NAMES.values() == {"management": "kubegrid-manager", "managementHeadless": "kubegrid-manager-hs",
                              "managementService": "kubegrid-manager-service",
                              "sparkLocatorService": "kubegrid-manager-insightedge-manager-hs"}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_lookup_locators_are_manager_pods_of_the_headless_service_on_the_lookup_port(stack):
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    ports = service_ports(objects, spec.grid.namespace)
    locators = lookup_locators(spec).split(",")
    assert len(locators) == spec.grid.managers
    assert [loc.rsplit(":", 1)[0] for loc in locators] == manager_hosts(spec)
    for locator in locators:
        host, port = locator.rsplit(":", 1)
        service = pod_host(host, objects, spec.grid.namespace)
        assert int(port) == PORTS.lookup and int(port) in ports[service], locator
        headless = services(objects, spec.grid.namespace)[service]
        assert headless["metadata"]["name"] == NAMES.management_headless
        assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["selector"] == MANAGER_SELECTOR


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_rest_manager_url_is_a_service_and_port_of_the_chart(stack):
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    url = urlparse(rest_url(spec))
    assert url.port == PORTS.rest and url.port in service_ports(objects, spec.grid.namespace)[url.hostname]
    assert url.hostname.split(".")[0] == NAMES.management_service
    assert services(objects, spec.grid.namespace)[url.hostname]["spec"]["selector"] == MANAGER_SELECTOR


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_spark_locator_is_a_headless_service_of_the_managers_lookup_port(stack):
    """The 16.3+ connector looks up "<spark.insightedge.space.manager>-insightedge-manager-hs" on the default port."""
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    host = spark_locator(spec)
    assert host == f"{NAMES.manager}-insightedge-manager-hs.{spec.grid.namespace}.svc.{CLUSTER_DOMAIN}"
    service = services(objects, spec.grid.namespace)[host]
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    assert service["spec"]["selector"] == MANAGER_SELECTOR
    assert {p["port"] for p in service["spec"]["ports"]} == {PORTS.lookup}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_data_pods_and_managers_get_the_contract_s_names(stack):
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    sets = [o for o in objects if o["kind"] == "StatefulSet"]
    manager = next(o for o in sets if o["metadata"]["name"] == NAMES.management)
    assert manager["spec"]["selector"]["matchLabels"] == MANAGER_SELECTOR
    for sts in sets:
        for c in sts["spec"]["template"]["spec"]["containers"] + sts["spec"]["template"]["spec"]["initContainers"]:
            assert c["image"] == grid_image(spec)
            args = dict(a.split("=", 1) for a in c.get("args", []) if "=" in a and not a.startswith("if "))
            if args.get("component") in ("pu", "init"):
                assert args["manager.name"] == NAMES.manager
                assert args["manager.ports.api"] == str(PORTS.rest)
                assert args["name"] == SPACE_NAME
            if args.get("component") == "manager":
                assert args["full.name"] == NAMES.manager


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_spark_gets_the_chart_s_space_and_a_grid_address_the_chart_serves(stack):
    spec = stack_spec(stack)
    objects = chart_objects(stack)
    hosts = services(objects, spec.grid.namespace)
    for team in spec.teams:
        if team.spark:
            conf = spark_defaults(spec, team)
            assert conf["spark.insightedge.space.name"] == SPACE_NAME
            if "spark.insightedge.space.manager" in conf:
                assert conf["spark.insightedge.space.manager"] == NAMES.manager
                assert spark_locator(spec) in hosts
            for key in ("spark.insightedge.space.lookup.locators", "spark.executorEnv.GS_LOOKUP_LOCATORS"):
                if key in conf:
                    assert conf[key] == lookup_locators(spec)


def test_the_chart_opens_the_contract_s_ports():
    spec = stack_spec("prod")
    objects = chart_objects("prod")
    manager = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == NAMES.management)
    ports = {p["containerPort"] for c in manager["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []}
    assert {PORTS.lookup, PORTS.rest, PORTS.zookeeper_client, PORTS.zookeeper_peer, PORTS.zookeeper_election,
            PORTS.lrmi_first} <= ports
    assert len(manager_hosts(spec)) == manager["spec"]["replicas"] == 3


def test_renaming_the_manager_in_the_values_moves_every_client_address():
    """The chart takes the names from its values, so the contract has one source."""
    spec = stack_spec("dev")
    values = grid_values(spec)
    values["names"] = {"management": "grid-mgr", "managementHeadless": "grid-mgr-hs",
                       "managementService": "grid-mgr-service", "sparkLocatorService": "grid-mgr-insightedge-manager-hs"}
    objects = [r.obj for r in render_chart(values, spec.grid.namespace)]
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    assert {"grid-mgr-hs", "grid-mgr-service", "grid-mgr-insightedge-manager-hs"} <= names
    assert not {NAMES.management_headless, NAMES.management_service, NAMES.spark_locator_service} & names
    manager = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "grid-mgr")
    assert manager["spec"]["serviceName"] == "grid-mgr-hs"


def test_the_chart_refuses_names_gigaspaces_would_not_derive():
    spec = stack_spec("dev")
    values = grid_values(spec)
    values["names"] = {**values["names"], "managementHeadless": "renamed-hs"}
    with pytest.raises(Exception) as caught:
        render_chart(values, spec.grid.namespace)
    assert 'names.managementHeadless is "renamed-hs"' in str(caught.value)


@pytest.mark.parametrize(("product", "image"), [("smart-cache", "gigaspaces/smart-cache-enterprise:16.4.0"),
                                                ("insightedge", "gigaspaces/insightedge-enterprise:16.4.0")])
def test_the_product_picks_the_image_and_the_version_is_its_tag(product, image):
    spec = stack_spec("local")
    spec = replace(spec, grid=replace(spec.grid, product=product))
    assert grid_image(spec) == image
    objects = [r.obj for r in render_chart(grid_values(spec), spec.grid.namespace)]
    assert {c["image"] for o in objects if o["kind"] == "StatefulSet"
            for c in o["spec"]["template"]["spec"]["containers"]} == {image}
    mirrored = replace(spec, grid=replace(spec.grid, image_repository="registry.example.com/gs/grid", version="16.2.1"))
    assert grid_image(mirrored) == "registry.example.com/gs/grid:16.2.1"


def test_claims_go_with_the_grid_outside_prod_and_stay_in_prod():
    from components.cluster.grid import claim_retention

    for stack, when_deleted in (("staging", "Delete"), ("prod", "Retain")):
        spec = stack_spec(stack)
        assert claim_retention(spec) == {"whenDeleted": when_deleted, "whenScaled": "Retain"}
        sets = [r.obj for r in render_chart(grid_values(spec), spec.grid.namespace) if r.obj["kind"] == "StatefulSet"]
        assert {s["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] for s in sets} == {when_deleted}
