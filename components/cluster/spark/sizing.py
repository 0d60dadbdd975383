"""Spark executor sizes from the node pools.

A node of a pool offers pods its *allocatable* resources: the instance's
CPU and memory less what EKS reserves for the kubelet and the system, less
the eviction threshold. Of that, the DaemonSets the stack runs on the pool
(components/cluster/daemonsets.py) take their requests first; the rest is
*free* for executors. Executors are cut so that a whole number of them fills the free
resources: one per GPU on GPU nodes, and on CPU nodes one per
:data:`TARGET_EXECUTOR_CORES` cores. Each executor's memory is split into
the JVM heap (``spark.executor.memory``) and the overhead Spark adds on top
(``spark.executor.memoryOverhead``), so that heap + overhead, which is the
pod's memory request, uses the executor's whole share.

Figures (AL2023 EKS-optimized AMIs, as set by ``nodeadm``):

- kubelet CPU reservation: 6% of the first core, 1% of the second, 0.5% of
  cores 3 and 4, 0.25% of every core above 4;
- kubelet memory reservation: 255 MiB + 11 MiB per pod the node can run
  (``max_pods`` of the instance type, the VPC CNI's limit);
- hard eviction threshold: 100 MiB of memory;
- the instance's memory as the kernel reports it is below the nominal
  figure (firmware, kernel, page tables); 7.5% is subtracted, the default
  of Karpenter's ``vmMemoryOverheadPercent``, so a computed executor fits a
  real node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ...config import NodePoolSpec, StackSpec, TeamSpec
from ...config.instance_types import InstanceShape
from ..daemonsets import DaemonSetRequest, pool_daemonsets
from ..quantities import cpu_millis, parse_cpu_millis, parse_memory_mi

VM_MEMORY_OVERHEAD = 0.075
"""Share of an instance's nominal memory the node does not report as capacity."""
EVICTION_HARD_MEMORY_MI = 100
KUBE_RESERVED_MEMORY_BASE_MI = 255
KUBE_RESERVED_MEMORY_PER_POD_MI = 11
KUBE_RESERVED_CPU = ((1, 0.06), (1, 0.01), (2, 0.005), (None, 0.0025))
"""(cores, share reserved of each of those cores), in order; None: every further core."""

TARGET_EXECUTOR_CORES = 4
"""CPU nodes get one executor per 4 cores (at least one): big enough for wide
tasks, small enough to keep JVM heaps and garbage collection pauses moderate."""
CPU_STEP_M = 10
"""Executor CPU is a multiple of 10 millicores."""
CPU_OVERHEAD_FACTOR = 0.10
"""Spark's default share of executor memory added as overhead (at least 384 MiB)."""
GPU_OVERHEAD_FACTOR = 0.40
"""GPU executors: the RAPIDS Accelerator keeps its pinned host memory and
native buffers off the JVM heap, so NVIDIA's guides size the overhead at 40%."""
MIN_OVERHEAD_MI = 384
"""Spark's floor for the memory overhead."""


@dataclass(frozen=True)
class NodeBudget:
    """What one node of an instance type offers pods, in millicores and MiB."""

    instance_type: str
    capacity_cpu_m: int
    capacity_memory_mi: int
    reserved_cpu_m: int
    reserved_memory_mi: int
    daemonset_cpu_m: int
    daemonset_memory_mi: int

    @property
    def allocatable_cpu_m(self) -> int:
        return self.capacity_cpu_m - self.reserved_cpu_m

    @property
    def allocatable_memory_mi(self) -> int:
        return self.capacity_memory_mi - self.reserved_memory_mi - EVICTION_HARD_MEMORY_MI

    @property
    def free_cpu_m(self) -> int:
        return self.allocatable_cpu_m - self.daemonset_cpu_m

    @property
    def free_memory_mi(self) -> int:
        return self.allocatable_memory_mi - self.daemonset_memory_mi


@dataclass(frozen=True)
class ExecutorSize:
    """One executor (or driver) pod: its Spark settings and what the pod requests."""

    cores: int
    """spark.executor.cores: tasks run at once."""
    cpu_m: int
    """CPU request and limit of the pod (spark.kubernetes.executor.request.cores / limit.cores)."""
    memory_mi: int
    """JVM heap (spark.executor.memory)."""
    overhead_mi: int
    """Memory beyond the heap (spark.executor.memoryOverhead)."""
    gpus: int = 0
    """nvidia.com/gpu per executor (spark.executor.resource.gpu.amount)."""

    @property
    def pod_memory_mi(self) -> int:
        """The pod's memory request and limit: heap plus overhead."""
        return self.memory_mi + self.overhead_mi


@dataclass(frozen=True)
class Sizing:
    """Executors of one instance type: their size and how many share a node."""

    budget: NodeBudget
    executor: ExecutorSize
    per_node: int

    @property
    def cpu_use(self) -> float:
        """Share of the node's free CPU the executors request together."""
        return self.per_node * self.executor.cpu_m / self.budget.free_cpu_m

    @property
    def memory_use(self) -> float:
        """Share of the node's free memory the executors request together."""
        return self.per_node * self.executor.pod_memory_mi / self.budget.free_memory_mi

    def figures(self) -> dict[str, Any]:
        """The sizing as stack outputs show it."""
        e, b = self.executor, self.budget
        return {
            "instanceType": b.instance_type, "executorsPerNode": self.per_node,
            "executorCores": e.cores, "executorCpu": cpu_millis(e.cpu_m),
            "executorMemory": f"{e.memory_mi}m", "executorMemoryOverhead": f"{e.overhead_mi}m",
            "gpusPerExecutor": e.gpus,
            "nodeAllocatable": {"cpu": cpu_millis(b.allocatable_cpu_m), "memory": f"{b.allocatable_memory_mi}Mi"},
            "freeForExecutors": {"cpu": cpu_millis(b.free_cpu_m), "memory": f"{b.free_memory_mi}Mi"},
            "used": {"cpu": f"{self.cpu_use:.1%}", "memory": f"{self.memory_use:.1%}"},
        }


DRIVER = ExecutorSize(cores=1, cpu_m=1000, memory_mi=2048, overhead_mi=MIN_OVERHEAD_MI)
"""Every driver: 1 core, 2 GiB heap. Drivers plan work and collect results; a
job that collects large results raises spark.driver.memory itself."""
DEFAULT_EXECUTOR = ExecutorSize(cores=1, cpu_m=1000, memory_mi=2048, overhead_mi=MIN_OVERHEAD_MI)
"""Executors where the stack knows no node pool (mode `existing`): 1 core, 2 GiB heap."""


@dataclass(frozen=True)
class QuotaUse:
    """What pods that run all the time in a team namespace hold of its quota: CPU and memory
    as the quota counts them (the larger of request and limit: it caps both at one figure), and pods."""

    cpu_m: int = 0
    memory_mi: int = 0
    pods: int = 0


NOTHING_STANDING = QuotaUse()
HISTORY_SERVER_RESOURCES = {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
"""The team's Spark history server (components/cluster/observability/history.py): explicit requests and
limits, since the team's ResourceQuota counts both (it sets limits.cpu)."""


def quota_use(resources: dict[str, dict[str, str]], pods: int = 1) -> QuotaUse:
    """What ``pods`` pods with one container of ``resources`` hold of a quota that caps requests and limits alike."""
    return QuotaUse(cpu_m=pods * max(parse_cpu_millis(r["cpu"]) for r in resources.values()),
                    memory_mi=pods * max(parse_memory_mi(r["memory"]) for r in resources.values()), pods=pods)


HISTORY_SERVER_USE = quota_use(HISTORY_SERVER_RESOURCES)
"""1 CPU (its limit), 1 GiB, one pod: the quota on limits.cpu holds the limit, not the 100m request."""


def kube_reserved_cpu_m(vcpu: int) -> int:
    """The kubelet's CPU reservation on a node with ``vcpu`` cores, rounded up."""
    reserved, left = 0.0, vcpu
    for cores, share in KUBE_RESERVED_CPU:
        take = left if cores is None else min(cores, left)
        reserved += take * 1000 * share
        left -= take
    return math.ceil(reserved)


def kube_reserved_memory_mi(max_pods: int) -> int:
    return KUBE_RESERVED_MEMORY_BASE_MI + KUBE_RESERVED_MEMORY_PER_POD_MI * max_pods


def node_budget(shape: InstanceShape, daemonsets: Sequence[DaemonSetRequest]) -> NodeBudget:
    """What a node of ``shape`` offers pods after the kubelet's reservation and ``daemonsets``."""
    return NodeBudget(
        instance_type=shape.name,
        capacity_cpu_m=shape.vcpu * 1000,
        capacity_memory_mi=math.floor(shape.memory_gib * 1024 * (1 - VM_MEMORY_OVERHEAD)),
        reserved_cpu_m=kube_reserved_cpu_m(shape.vcpu),
        reserved_memory_mi=kube_reserved_memory_mi(shape.max_pods),
        daemonset_cpu_m=sum(d.cpu_m for d in daemonsets),
        daemonset_memory_mi=sum(d.memory_mi for d in daemonsets),
    )


def split_memory(pod_memory_mi: int, overhead_factor: float) -> tuple[int, int]:
    """(heap, overhead) using all of ``pod_memory_mi``, the overhead at least
    ``overhead_factor`` of the heap and at least 384 MiB."""
    heap = math.floor(pod_memory_mi / (1 + overhead_factor))
    heap = min(heap, pod_memory_mi - MIN_OVERHEAD_MI)
    return heap, pod_memory_mi - heap


def size_executor(budget: NodeBudget, count: int, overhead_factor: float, gpus: int = 0) -> ExecutorSize:
    """The largest executor of which ``count`` fit in a node's free resources."""
    cpu_m = budget.free_cpu_m // count // CPU_STEP_M * CPU_STEP_M
    heap, overhead = split_memory(budget.free_memory_mi // count, overhead_factor)
    return ExecutorSize(cores=max(1, round(cpu_m / 1000)), cpu_m=cpu_m, memory_mi=heap, overhead_mi=overhead, gpus=gpus)


def sizing(shape: InstanceShape, daemonsets: Sequence[DaemonSetRequest]) -> Sizing:
    """Executors for nodes of ``shape`` running ``daemonsets``: one per GPU on GPU nodes,
    one per :data:`TARGET_EXECUTOR_CORES` free cores on others."""
    budget = node_budget(shape, daemonsets)
    if shape.is_gpu:
        return Sizing(budget, size_executor(budget, shape.gpus, GPU_OVERHEAD_FACTOR, gpus=1), shape.gpus)
    count = max(1, round(budget.free_cpu_m / 1000 / TARGET_EXECUTOR_CORES))
    return Sizing(budget, size_executor(budget, count, CPU_OVERHEAD_FACTOR), count)


def cpu_pools(spec: StackSpec, team: TeamSpec) -> tuple[NodePoolSpec, ...]:
    """The CPU pools a team's drivers and executors may use."""
    return tuple(p for p in spec.team_pools(team) if not p.gpu)


def gpu_pools(spec: StackSpec, team: TeamSpec) -> tuple[NodePoolSpec, ...]:
    """The GPU pools a team's executors may use: none when its GPU quota is 0."""
    return tuple(p for p in spec.team_pools(team) if p.gpu) if team.quota.gpus > 0 else ()


def pool_sizing(spec: StackSpec, pool: NodePoolSpec) -> Sizing:
    """Executors on the nodes of ``pool``, with the DaemonSets the stack runs there."""
    return sizing(pool.shape, pool_daemonsets(spec, pool))


def best_pool(spec: StackSpec, pools: tuple[NodePoolSpec, ...]) -> Optional[NodePoolSpec]:
    """The pool whose executors get the most CPU (the first of equals); None without pools."""
    return max(pools, key=lambda p: pool_sizing(spec, p).executor.cpu_m, default=None)


def best_sizing(spec: StackSpec, pools: tuple[NodePoolSpec, ...]) -> Optional[Sizing]:
    """The sizing of :func:`best_pool`."""
    pool = best_pool(spec, pools)
    return None if pool is None else pool_sizing(spec, pool)


def cpu_sizing(spec: StackSpec, team: TeamSpec) -> Optional[Sizing]:
    """The sizing of the team's default executors: its largest CPU pool's; None without a CPU pool."""
    return best_sizing(spec, cpu_pools(spec, team))


def gpu_sizing(spec: StackSpec, team: TeamSpec) -> Optional[Sizing]:
    """The sizing of the team's GPU executors: its largest GPU pool's; None without one."""
    return best_sizing(spec, gpu_pools(spec, team))


def cpu_executor(spec: StackSpec, team: TeamSpec) -> ExecutorSize:
    """The team's default executor, or :data:`DEFAULT_EXECUTOR` when it has no CPU pool (mode `existing`)."""
    found = cpu_sizing(spec, team)
    return DEFAULT_EXECUTOR if found is None else found.executor


def gpu_executor(spec: StackSpec, team: TeamSpec) -> Optional[ExecutorSize]:
    """The team's GPU executor; None when it may use no GPU pool."""
    found = gpu_sizing(spec, team)
    return None if found is None else found.executor


def executors_in_quota(team: TeamSpec, size: ExecutorSize, standing: QuotaUse = NOTHING_STANDING) -> int:
    """How many executors of ``size`` the team's quota holds next to one driver and the ``standing``
    pods of the namespace (its history server: :func:`~.pod_templates.standing_use`)."""
    q = team.quota
    room = [
        (math.floor(q.cpu * 1000) - DRIVER.cpu_m - standing.cpu_m) // size.cpu_m,
        (math.floor(q.memory_gib * 1024) - DRIVER.pod_memory_mi - standing.memory_mi) // size.pod_memory_mi,
        q.pods - 1 - standing.pods,
    ]
    if size.gpus:
        room.append(q.gpus // size.gpus)
    return max(0, min(room))
