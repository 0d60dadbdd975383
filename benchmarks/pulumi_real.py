"""What a user waits for: the real `pulumi up` and `pulumi preview` of the local stack, and of
the local stack with 20 and 50 teams, beside the mock runtime's run of the same program.

Each size gets a control plane of its own (tests/support/cluster.py: etcd, kube-apiserver,
controller-manager, scheduler, KWOK) and a fresh Pulumi project with a local backend
(tests/support/pulumi_engine.py), then: `up` from an empty state (creates everything and
waits for the grid's pods), `preview` straight after (no changes: the engine diffs every
resource against the server's answer), and the program alone under the mocks (median of
repeated runs). Prints resources, seconds and milliseconds per resource.

    venv/bin/python benchmarks/pulumi_real.py [TEAMS ...]     # default: 1 20 50
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_stacks import median_seconds, print_header, repeats_for, scaled_config  # noqa: E402
from components.offline.mock_run import run_program  # noqa: E402
from components.validation import validate  # noqa: E402
from tests.support import engines, live  # noqa: E402
from tests.support.pulumi_engine import Project  # noqa: E402

STACK = "local"
TEAMS = (1, 20, 50)


def timed(work) -> tuple[float, Any]:
    started = time.monotonic()
    result = work()
    return time.monotonic() - started, result


def measure(teams: int, bin_dir: Path, scratch: Path) -> dict[str, Any]:
    config = scaled_config(teams, 1, STACK)  # local has one partition
    spec = validate(config, STACK).spec
    stack = live.start(STACK, scratch / f"plane-{teams}", bin_dir, spec=spec)
    try:
        project = Project(scratch / f"project-{teams}", bin_dir, stack.plane.admin_config, STACK)
        project.set_config(config)
        up_seconds, up = timed(lambda: project.run("up"))
        preview_seconds, _ = timed(lambda: project.run("preview", expect_no_changes=True))
    finally:
        stack.plane.stop()
    resources = sum(up.changes.values())
    run_program(config, STACK)  # warm-up: imports stay out of the figure
    mock_seconds, _ = median_seconds(lambda: run_program(config, STACK), repeats_for(resources))
    return {"teams": teams, "resources": resources, "up": up_seconds, "preview": preview_seconds, "mock": mock_seconds}


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or list(TEAMS)
    bin_dir = engines.bin_dir()
    print_header(f"{'teams':>5} {'resources':>9} {'up s':>7} {'up ms/res':>9} {'preview s':>9} "
                 f"{'preview ms/res':>14} {'mock s':>7} {'mock ms/res':>11}")
    with tempfile.TemporaryDirectory(prefix="kubegrid-bench-") as scratch:
        for teams in sizes:
            f = measure(teams, bin_dir, Path(scratch))
            n = f["resources"]
            print(f"{teams:>5} {n:>9} {f['up']:>7.1f} {1000 * f['up'] / n:>9.0f} {f['preview']:>9.1f} "
                  f"{1000 * f['preview'] / n:>14.0f} {f['mock']:>7.2f} {1000 * f['mock'] / n:>11.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
