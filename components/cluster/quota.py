"""Quota sanity: team quotas against the node pools.

Two findings, each a sentence naming the team, the numbers and the pool:

- a Spark team whose quota cannot hold one driver and one executor of a
  pool it may use (executors sized as :mod:`.spark.sizing` sizes
  them; in mode `existing`, the default executor);
- in mode eks, a team whose GPU quota is more than the GPU pools it may use
  can ever provide (their `maxSize` times GPUs per node).
"""

from __future__ import annotations

from typing import Optional

from ..config import NAMESPACE, NodePoolSpec, Problem, StackSpec, TeamSpec
from .spark.pod_templates import standing_use
from .spark.sizing import (DEFAULT_EXECUTOR, DRIVER, NOTHING_STANDING, ExecutorSize, QuotaUse, cpu_pools,
                           executors_in_quota, gpu_pools, pool_sizing)


def _gib(mib: int) -> str:
    return f"{mib / 1024:.2f} GiB"


def _cpu(millicores: int) -> str:
    return f"{millicores / 1000:g} CPU"


def _gpus(count: int) -> str:
    return f"{count} GPU" + ("" if count == 1 else "s")


def _quota_text(team: TeamSpec, gpus: bool) -> str:
    q = team.quota
    text = f"{q.cpu:g} CPU, {q.memory_gib:g} GiB memory, {q.pods} pods"
    return text + (f", {_gpus(q.gpus)}" if gpus else "")


def executor_finding(team: TeamSpec, size: ExecutorSize, pool: Optional[NodePoolSpec],
                     standing: QuotaUse = NOTHING_STANDING) -> Optional[str]:
    """The finding for a team that cannot run one driver and one executor of ``size`` next to its
    ``standing`` pods (its history server)."""
    if executors_in_quota(team, size, standing) >= 1:
        return None
    where = (f"sized for pool {pool.name}, {pool.shape.name}" if pool is not None
             else "of the default size, used where no node pool is known")
    gpu = f", {_gpus(size.gpus)}" if size.gpus else ""
    history = (f" next to its Spark history server ({_cpu(standing.cpu_m)}, {_gib(standing.memory_mi)})"
               if standing.pods else "")
    return (f"Team {team.name}: its quota ({_quota_text(team, bool(size.gpus))}) cannot hold one Spark driver "
            f"({_cpu(DRIVER.cpu_m)}, {_gib(DRIVER.pod_memory_mi)}) and one executor {where} "
            f"({_cpu(size.cpu_m)}, {_gib(size.pod_memory_mi)}{gpu}){history}; together they need "
            f"{_cpu(DRIVER.cpu_m + size.cpu_m + standing.cpu_m)}, "
            f"{_gib(DRIVER.pod_memory_mi + size.pod_memory_mi + standing.memory_mi)} and {2 + standing.pods} pods.")


def gpu_finding(spec: StackSpec, team: TeamSpec) -> Optional[str]:
    """The finding for a GPU quota above what the team's GPU pools can ever provide."""
    pools = [p for p in spec.team_pools(team) if p.gpu]
    most = sum(p.max_size * p.shape.gpus for p in pools)
    if team.quota.gpus <= most:
        return None
    if not pools:
        return (f"Team {team.name}: its GPU quota is {team.quota.gpus}, but it may use no GPU pool, "
                "so it can never get a GPU.")
    parts = ", ".join(f"pool {p.name}: {p.max_size} nodes x {_gpus(p.shape.gpus)} ({p.shape.name})" for p in pools)
    return (f"Team {team.name}: its GPU quota is {team.quota.gpus}, more than its GPU pools can ever provide "
            f"({parts}; {most} in all).")


def quota_problems(spec: StackSpec) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the teams' quotas, each at the team's quota key.

    A quota that cannot hold one driver and one executor is an error: no job of
    the team could ever start. A GPU quota above what the pools can provide is a
    warning: it admits nothing it should not, but it promises what never comes.
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for i, team in enumerate(spec.teams):
        at = f"{NAMESPACE}:teams[{i}].quota"
        if team.spark:
            pools = cpu_pools(spec, team) + gpu_pools(spec, team)
            checks = [(pool_sizing(spec, p).executor, p) for p in pools] or [(DEFAULT_EXECUTOR, None)]
            standing = standing_use(spec, team)
            errors += [Problem(at, f) for f in (executor_finding(team, size, pool, standing) for size, pool in checks)
                       if f]
        if spec.is_eks:
            finding = gpu_finding(spec, team)
            if finding:
                warnings.append(Problem(f"{at}.gpus", finding))
    return errors, warnings
