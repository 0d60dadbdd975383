"""Executor sizes: for every instance type of the table, executors fit a node and fill it."""

from __future__ import annotations

import copy

import pytest

from components.config.instance_types import SHAPES
from components.cluster.daemonsets import EKS_ADDONS, device_plugin_daemonsets, pool_daemonsets
from components.cluster.spark.sizing import (CPU_OVERHEAD_FACTOR, DEFAULT_EXECUTOR, GPU_OVERHEAD_FACTOR,
                                             MIN_OVERHEAD_MI, TARGET_EXECUTOR_CORES, cpu_executor, gpu_executor,
                                             kube_reserved_cpu_m, kube_reserved_memory_mi, node_budget, pool_sizing,
                                             sizing, split_memory)
from components.config import load_spec
from tests.support.stacks import stack_config, stack_spec

ONE_CORE = sorted(name for name, s in SHAPES.items() if s.vcpu == 1)
GPU_DAEMONSETS = device_plugin_daemonsets(stack_spec("prod"))


def node_sizing(shape):
    """Sizing with the DaemonSets a stack puts on such a node: the add-ons, and the GPU ones on GPU nodes."""
    return sizing(shape, EKS_ADDONS + (GPU_DAEMONSETS if shape.is_gpu else ()))


def test_kubelet_reservations_follow_the_eks_formulas():
    assert [kube_reserved_cpu_m(n) for n in (1, 2, 4, 8, 96)] == [60, 70, 80, 90, 310]
    assert kube_reserved_memory_mi(29) == 255 + 11 * 29
    budget = node_budget(SHAPES["m6i.2xlarge"], EKS_ADDONS)  # 8 vCPU, 32 GiB, 58 pods
    assert budget.allocatable_cpu_m == 8000 - 90
    assert budget.allocatable_memory_mi == int(32 * 1024 * 0.925) - (255 + 11 * 58) - 100


def names(daemonsets) -> list[str]:
    return [d.name for d in daemonsets]


def test_each_pool_pays_for_the_daemonsets_the_stack_runs_there():
    spec = stack_spec("prod")  # monitoring on: node-exporter everywhere, the DCGM exporter on GPU pools
    general, gpu = spec.pool("general"), spec.pool("gpu-a10g")
    assert names(pool_daemonsets(spec, general)) == names(EKS_ADDONS) + ["prometheus-node-exporter"]
    assert names(pool_daemonsets(spec, gpu)) == (names(EKS_ADDONS) + names(GPU_DAEMONSETS)
                                                 + ["prometheus-node-exporter", "dcgm-exporter"])
    for pool in (general, gpu):
        budget = pool_sizing(spec, pool).budget
        assert budget.daemonset_cpu_m == sum(d.cpu_m for d in pool_daemonsets(spec, pool))
        assert budget.daemonset_memory_mi == sum(d.memory_mi for d in pool_daemonsets(spec, pool))
    # dev has no monitoring: only the add-ons (and the GPU ones on its GPU pool).
    dev = stack_spec("dev")
    assert names(pool_daemonsets(dev, dev.pool("general"))) == names(EKS_ADDONS)


def test_a_bottlerocket_gpu_pool_runs_no_device_plugin_daemonsets():
    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:nodePools"][2]["amiFamily"] = "BOTTLEROCKET_x86_64_NVIDIA"
    spec = load_spec(config, "prod")
    assert names(pool_daemonsets(spec, spec.pool("gpu-a10g"))) == (names(EKS_ADDONS)
                                                                   + ["prometheus-node-exporter", "dcgm-exporter"])


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_executors_fit_the_node_and_use_at_least_90_percent_of_it(name):
    shape = SHAPES[name]
    found = node_sizing(shape)
    e, b = found.executor, found.budget
    # They fit: what the node has left after its DaemonSets' requests.
    assert found.per_node * e.cpu_m <= b.free_cpu_m
    assert found.per_node * e.pod_memory_mi <= b.free_memory_mi
    # And fill it.
    assert found.cpu_use >= 0.9 and found.memory_use >= 0.9
    # Of the node's allocatable resources, DaemonSets included, the executors use at least 90% too;
    # on 1-vCPU nodes the DaemonSets alone request 180m of 940m, so there at least 80%.
    floor = 0.8 if name in ONE_CORE else 0.9
    assert found.per_node * e.cpu_m / b.allocatable_cpu_m >= floor
    assert found.per_node * e.pod_memory_mi / b.allocatable_memory_mi >= 0.9


@pytest.mark.parametrize("name", sorted(n for n, s in SHAPES.items() if s.is_gpu))
def test_exactly_one_executor_per_gpu(name):
    shape = SHAPES[name]
    found = node_sizing(shape)
    assert found.per_node == shape.gpus and found.executor.gpus == 1
    assert found.executor.overhead_mi >= GPU_OVERHEAD_FACTOR * found.executor.memory_mi


@pytest.mark.parametrize("name", sorted(n for n, s in SHAPES.items() if not s.is_gpu))
def test_cpu_nodes_get_one_executor_per_four_cores(name):
    found = node_sizing(SHAPES[name])
    assert found.per_node == max(1, round(found.budget.free_cpu_m / 1000 / TARGET_EXECUTOR_CORES))
    assert found.executor.cores == max(1, round(found.executor.cpu_m / 1000))
    assert found.executor.overhead_mi >= max(MIN_OVERHEAD_MI, CPU_OVERHEAD_FACTOR * found.executor.memory_mi)


@pytest.mark.parametrize("pod_mi, factor, expected", [
    (11000, 0.10, (10000, 1000)),     # 10% of the heap
    (3000, 0.10, (2616, 384)),        # Spark's 384 MiB floor
    (14000, 0.40, (10000, 4000)),     # GPU executors: 40%
])
def test_memory_split_uses_all_of_it(pod_mi, factor, expected):
    heap, overhead = split_memory(pod_mi, factor)
    assert (heap, overhead) == expected and heap + overhead == pod_mi


def test_a_team_gets_its_largest_pools_executors():
    spec = stack_spec("prod")
    analytics, risk = spec.teams
    assert cpu_executor(spec, analytics) == pool_sizing(spec, spec.pool("general")).executor  # not the system pool's
    assert gpu_executor(spec, analytics) == pool_sizing(spec, spec.pool("gpu-a10g")).executor
    assert gpu_executor(spec, risk) is None  # risk may use the general pool only


def test_mode_existing_uses_the_documented_default():
    spec = stack_spec("local")
    (team,) = spec.teams
    assert cpu_executor(spec, team) == DEFAULT_EXECUTOR
    assert (DEFAULT_EXECUTOR.cores, DEFAULT_EXECUTOR.memory_mi, DEFAULT_EXECUTOR.overhead_mi) == (1, 2048, 384)
    assert gpu_executor(spec, team) is None


def test_no_gpu_executor_without_gpu_quota():
    config = copy.deepcopy(stack_config("dev"))
    config["kubegrid:teams"][0]["quota"]["gpus"] = 0
    spec = load_spec(config, "dev")
    assert gpu_executor(spec, spec.teams[0]) is None
