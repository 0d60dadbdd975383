"""How the Pulumi program's cost grows with teams and partitions.

For each size, runs the real program under Pulumi's mock runtime in a fresh
process, and a baseline: a bare program registering the same resources (same
types, names and inputs) directly, without KubeGrid's components, spec or
manifest functions, under the same mock runtime. Prints resources, wall time,
milliseconds per resource, peak memory and the KubeGrid/baseline ratio.

    venv/bin/python benchmarks/program_scale.py
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_stacks import (in_child, median_seconds, peak_mib, print_header, repeats_for,  # noqa: E402
                                     run_script, scaled_config, sizes)


def measure(teams: int, partitions: int, which: str) -> dict:
    """Runs one measurement in this process (called in a child process).

    KubeGrid's program runs once untimed first (it is also what the baseline
    replays), so module imports and other one-off start-up work stay out of the
    figures, which are about growth. The figure is the median of the timed runs.
    """
    import pulumi

    from components.offline.mock_run import run_program

    config = scaled_config(teams, partitions)
    recorded = run_program(config, "bench").resources  # warm-up, and what the baseline replays

    classes = [sdk_class(r.type) if r.custom else None for r in recorded]

    def bare() -> None:
        # The same resources through the same SDK classes, declared flat: no spec,
        # no components' logic, no manifest functions.
        for r, cls in zip(recorded, classes):
            if cls is None:
                pulumi.ComponentResource(r.type, r.name)
            else:
                cls(r.name, **{snake(k): v for k, v in r.inputs.items()})

    repeats = repeats_for(len(recorded))
    if which == "kubegrid":
        seconds, run = median_seconds(lambda: run_program(config, "bench"), repeats)
    else:
        seconds, run = median_seconds(lambda: run_program({}, "baseline", program=bare), repeats)
        if sorted(_key(r) for r in run.resources) != sorted(_key(r) for r in recorded):
            raise SystemExit("the baseline did not register the same resources with the same inputs")
    return {"resources": len(run.resources), "seconds": seconds, "peak_mib": peak_mib(), "repeats": repeats}


def _key(r) -> tuple[str, str, str]:
    return r.type, r.name, json.dumps(r.inputs, sort_keys=True, default=str)


def sdk_class(token: str) -> type:
    """The Python SDK class of a type token: aws:ec2/vpc:Vpc -> pulumi_aws.ec2.Vpc."""
    package, module, kind = token.split(":")
    if package == "pulumi":  # pulumi:providers:kubernetes
        return importlib.import_module(f"pulumi_{kind}").Provider
    root = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}[package]
    path = module.split("/")[0] if package == "aws" else module.replace(".k8s.io", "").replace(
        "rbac.authorization", "rbac").replace("helm.sh", "helm")
    path = path.replace("/", ".")
    if package == "kubernetes" and path.startswith(("v1", "v2")):
        path = f"core.{path}"
    return getattr(importlib.import_module(f"{root}.{path}"), kind)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def table() -> None:
    print("Pulumi program under the mock runtime (each run in a fresh process)\n")
    header = f"{'teams':>5} {'parts':>5} {'resources':>9} {'runs':>4} {'kubegrid s':>10} {'ms/res':>7} " \
             f"{'peak MiB':>8} {'baseline s':>10} {'ms/res':>7} {'ratio':>6}"
    print_header(header)
    for teams, partitions in sizes():
        ours = in_child(__file__, teams, partitions, "kubegrid")
        base = in_child(__file__, teams, partitions, "baseline")
        n = ours["resources"]
        print(f"{teams:>5} {partitions:>5} {n:>9} {ours['repeats']:>4} {ours['seconds']:>10.2f} "
              f"{1000 * ours['seconds'] / n:>7.2f} {ours['peak_mib']:>8.0f} {base['seconds']:>10.2f} "
              f"{1000 * base['seconds'] / base['resources']:>7.2f} {ours['seconds'] / base['seconds']:>6.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(run_script(measure, table))
