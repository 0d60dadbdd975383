"""Pool labels, taints, tolerations and affinity: one definition for nodes and pods."""

from __future__ import annotations

from components.cluster.scheduling import (GPU_TAINT_KEY, POOL_LABEL, NodeTaint, node_labels, node_taints,
                                           pool_affinity, pool_tolerations)
from components.config import TaintEffect
from tests.support.stacks import stack_spec


def test_every_taint_a_pool_puts_on_its_nodes_is_tolerated_by_pods_placed_there():
    for stack in ("dev", "staging", "prod"):
        pools = stack_spec(stack).node_pools
        tolerations = pool_tolerations(pools)
        for pool in pools:
            for taint in node_taints(pool):
                assert any(t["key"] == taint.key and t["effect"] == taint.effect.value
                           and (t["operator"] == "Exists" or t.get("value") == taint.value) for t in tolerations)


def test_tolerations_are_listed_once_and_after_the_given_ones():
    pools = stack_spec("prod").node_pools
    first = {"key": "x", "operator": "Exists"}
    tolerations = pool_tolerations(pools + pools, first)
    assert tolerations[0] == first
    assert len(tolerations) == len({tuple(sorted(t.items())) for t in tolerations})


def test_gpu_taint_is_tolerated_with_any_value_others_by_value():
    assert NodeTaint(GPU_TAINT_KEY, "true", TaintEffect.NO_SCHEDULE).toleration() == {
        "key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
    assert NodeTaint("team", "risk", TaintEffect.NO_EXECUTE).toleration() == {
        "key": "team", "operator": "Equal", "value": "risk", "effect": "NoExecute"}
    assert NodeTaint("dedicated", "", TaintEffect.NO_SCHEDULE).toleration()["operator"] == "Exists"


def test_affinity_selects_the_pools_by_their_node_label():
    pools = stack_spec("prod").node_pools
    (term,) = pool_affinity(pools)["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    assert expression == {"key": POOL_LABEL, "operator": "In", "values": [p.name for p in pools]}
    assert all(node_labels(p)[POOL_LABEL] == p.name for p in pools)
