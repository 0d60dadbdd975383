"""How `kubegrid render` grows with teams and partitions, and the chart's Helm render alone.

Each measurement runs in a fresh process, once untimed to warm up, then the
median of a few timed runs. Prints objects, wall time, time per object and
peak memory.

    venv/bin/python benchmarks/render_scale.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_stacks import (in_child, median_seconds, peak_mib, print_header, repeats_for,  # noqa: E402
                                     run_script, scaled_config, sizes)


def measure(teams: int, partitions: int, which: str) -> dict:
    from components.cluster.grid import grid_values
    from components.config import load_spec
    from components.offline.render import render_chart, render_stack, to_yaml

    spec = load_spec(scaled_config(teams, partitions), "bench")

    def work() -> tuple[int, int]:
        if which == "render":
            objects = render_stack(spec).objects
            return len(objects), len("---\n".join(to_yaml(r) for r in objects))  # what `kubegrid render` prints
        return len(render_chart(grid_values(spec), spec.grid.namespace)), 0

    count, _ = work()  # warm-up: imports, the chart's first load
    repeats = repeats_for(count)
    seconds, (count, size) = median_seconds(work, repeats)
    return {"objects": count, "seconds": seconds, "peak_mib": peak_mib(), "bytes": size, "repeats": repeats}


def table() -> None:
    print("kubegrid render (whole stack) and the chart's Helm render alone (each run in a fresh process)\n")
    header = (f"{'teams':>5} {'parts':>5} {'objects':>7} {'render s':>8} {'ms/obj':>7} {'peak MiB':>8} "
              f"{'chart objs':>10} {'helm s':>7} {'ms/obj':>7} {'peak MiB':>8}")
    print_header(header)
    for teams, partitions in sizes():
        whole = in_child(__file__, teams, partitions, "render")
        chart = in_child(__file__, teams, partitions, "chart")
        print(f"{teams:>5} {partitions:>5} {whole['objects']:>7} {whole['seconds']:>8.2f} "
              f"{1000 * whole['seconds'] / whole['objects']:>7.2f} {whole['peak_mib']:>8.0f} "
              f"{chart['objects']:>10} {chart['seconds']:>7.2f} {1000 * chart['seconds'] / chart['objects']:>7.2f} "
              f"{chart['peak_mib']:>8.0f}", flush=True)


if __name__ == "__main__":
    sys.exit(run_script(measure, table))
