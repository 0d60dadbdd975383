"""Plain manifests become typed pulumi-kubernetes resources, one each, with stable names."""

from __future__ import annotations

from components.cluster.manifests import stack_objects
from components.cluster.storage import gp3_storage_class
from components.k8s.apply import logical_name, resource_class
from tests.support.stacks import STACK_NAMES, stack_spec


def test_every_kind_the_stack_applies_has_a_typed_resource():
    objects = [o for s in STACK_NAMES for o in stack_objects(stack_spec(s))] + [gp3_storage_class(stack_spec("dev"))]
    for obj in objects:
        cls = resource_class(obj["apiVersion"], obj["kind"])
        assert cls.__name__ == obj["kind"]


def test_logical_names_are_unique_and_stable(run_stack):
    for stack in STACK_NAMES:
        objects = stack_objects(stack_spec(stack))
        names = [logical_name(o) for o in objects]
        assert len(names) == len(set(names))
        recorded = {r.name for r in run_stack(stack).resources}
        assert set(names) <= recorded
    assert logical_name({"kind": "Namespace", "metadata": {"name": "kubegrid"}}) == "namespace-kubegrid"


def test_namespaced_objects_wait_for_their_namespace(run_stack):
    run = run_stack("dev")
    assert run.named("resourcequota-analytics-team-quota").dependencies == ["namespace-analytics"]
