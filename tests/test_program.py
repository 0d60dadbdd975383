"""The program under Pulumi's mocks: what every stack declares."""

from __future__ import annotations

import copy

import pytest

from components.cluster.grid import grid_values
from tests.support.stacks import stack_config, stack_spec


def test_local_creates_no_aws_resource(run_stack):
    run = run_stack("local")
    assert not [r for r in run.resources if r.type.startswith("aws:")]
    provider = run.of_type("pulumi:providers:kubernetes")
    assert len(provider) == 1 and "kubeconfig" not in provider[0].inputs


def test_the_grid_release_gets_exactly_the_values_of_the_spec(run_stack, each_stack):
    release = run_stack(each_stack).named("kubegrid-grid-release")
    assert release.type == "kubernetes:helm.sh/v3:Release"
    assert release.inputs["chart"] == "./charts/kubegrid"
    assert release.inputs["values"] == grid_values(stack_spec(each_stack))
    assert release.inputs["atomic"] is True and release.parent == "kubegrid-grid"


STATEFUL = ("namespace-kubegrid", "kubegrid-grid", "kubegrid-grid-release")
"""The grid namespace (deleting it deletes the data volumes' claims) and the grid release."""


def test_stateful_cluster_objects_are_protected_in_prod_only(run_stack):
    prod, dev = run_stack("prod"), run_stack("dev")
    assert [prod.named(name).protect for name in STATEFUL] == [True] * len(STATEFUL)
    assert [dev.named(name).protect for name in STATEFUL] == [False] * len(STATEFUL)
    # Team namespaces hold no grid data, but live under the same protected component in prod.
    assert prod.named("namespace-analytics").protect and not dev.named("namespace-analytics").protect


def test_the_grid_waits_for_its_namespace_and_storage_class(run_stack):
    assert sorted(run_stack("prod").named("kubegrid-grid-release").dependencies) == [
        "namespace-kubegrid", "storageclass-gp3"]
    assert run_stack("local").named("kubegrid-grid-release").dependencies == ["namespace-kubegrid"]


def test_outputs(run_stack, each_stack):
    outputs = run_stack(each_stack).outputs
    spec = stack_spec(each_stack)
    assert outputs["environment"] == each_stack
    assert outputs["gridNamespace"] == "kubegrid"
    assert outputs["lookupLocators"].count(":4174") == spec.grid.managers
    assert outputs["teams"] == [t.name for t in spec.teams]


def test_license_from_config_becomes_a_secret_the_chart_reads(run_stack):
    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:grid"]["license"] = "my-license"
    run = run_stack(name="lic", config=config, secret_keys=["kubegrid:grid"])
    secret = run.named("secret-kubegrid-kubegrid-stack-license")
    assert secret.inputs["stringData"] == "[secret]"  # the whole map is secret, never plain text in state
    values = run.named("kubegrid-grid-release").inputs["values"]
    assert values["license"] == {"existingSecret": "kubegrid-stack-license", "existingSecretKey": "license"}


def test_invalid_config_stops_the_program_before_any_resource(run_stack):
    import pulumi

    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:grid"]["managers"] = 2
    with pytest.raises(pulumi.RunError, match=r"kubegrid:grid.managers: got 2; allowed: 1, 3"):
        run_stack(name="bad", config=config)


@pytest.mark.parametrize("enabled_before", [True, False])
def test_a_run_pauses_the_cyclic_collector_and_restores_it(enabled_before):
    import gc

    from components.offline.mock_run import run_program

    seen = []
    was = gc.isenabled()
    (gc.enable if enabled_before else gc.disable)()
    try:
        run_program({}, "gc", program=lambda: seen.append(gc.isenabled()))
        assert seen == [False] and gc.isenabled() is enabled_before
    finally:
        (gc.enable if was else gc.disable)()
