"""How the Pulumi program's cost grows with teams and partitions.

For each size, runs the real program under Pulumi's mock runtime in a fresh
process, and a baseline: a bare program registering the same resources (same
types, names and inputs) directly, without KubeGrid's components, spec or
manifest functions, under the same mock runtime. Prints resources, wall time,
milliseconds per resource, peak memory and the KubeGrid/baseline ratio.

    venv/bin/python benchmarks/program_scale.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_stacks import scaled_config, sizes  # noqa: E402


def measure(teams: int, partitions: int, which: str) -> dict:
    """Runs one measurement in this process (called in a child process)."""
    import pulumi

    from components.mock_run import run_program

    import components.program  # noqa: F401 - imports are start-up, not growth; keep them out of the clock

    config = scaled_config(teams, partitions)
    if which == "kubegrid":
        start = time.perf_counter()
        run = run_program(config, "bench")
        seconds = time.perf_counter() - start
    else:
        recorded = run_program(config, "bench").resources  # what to replay, not timed

        def bare() -> None:
            by_name: dict[str, pulumi.Resource] = {}
            for r in recorded:
                if r.custom:
                    by_name[r.name] = pulumi.CustomResource(r.type, r.name, dict(r.inputs))
                else:
                    by_name[r.name] = pulumi.ComponentResource(r.type, r.name)

        start = time.perf_counter()
        run = run_program({}, "baseline", program=bare)
        seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"resources": len(run.resources), "seconds": seconds, "peak_mib": peak_mib}


def child(teams: int, partitions: int, which: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(teams), str(partitions), which],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    print("Pulumi program under the mock runtime (each run in a fresh process)\n")
    header = f"{'teams':>5} {'parts':>5} {'resources':>9} {'kubegrid s':>10} {'ms/res':>7} {'peak MiB':>8} " \
             f"{'baseline s':>10} {'ms/res':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for teams, partitions in sizes():
        ours = child(teams, partitions, "kubegrid")
        base = child(teams, partitions, "baseline")
        n = ours["resources"]
        print(f"{teams:>5} {partitions:>5} {n:>9} {ours['seconds']:>10.2f} {1000 * ours['seconds'] / n:>7.2f} "
              f"{ours['peak_mib']:>8.0f} {base['seconds']:>10.2f} {1000 * base['seconds'] / base['resources']:>7.2f} "
              f"{ours['seconds'] / base['seconds']:>6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
        sys.exit(0)
    sys.exit(main())
