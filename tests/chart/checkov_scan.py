"""Render every chart scenario and scan it with checkov (kubernetes framework).

    python tests/chart/checkov_scan.py [--checkov PATH] [--keep DIR]

Each scenario of charts/kubegrid/ci/ is rendered with the real Helm engine
into its own directory, one file per object, and scanned with
`checkov -d DIR --framework kubernetes --config-file .checkov.yaml`. Prints
passed/failed/skipped per scenario; exits non-zero if any check fails.
checkov is not a test dependency: install it in its own environment
(`python3 -m venv .ci-checkov && .ci-checkov/bin/pip install checkov==3.3.30`,
as .ci/run does) or pass its path with --checkov.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import conftest as kit  # noqa: E402  (a plain module here, not a pytest plugin)


def write_scenario(scenario: str, directory: Path) -> int:
    """Write one file per rendered object; returns the number of objects."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = kit.render_scenario(scenario).objects
    for obj in objects:
        name = f"{obj['kind']}-{obj['metadata']['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump(obj, sort_keys=False))
    return len(objects)


def scan(checkov: str, directory: Path) -> dict[str, int]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(
        [
            checkov,
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "--config-file",
            str(kit.REPO_ROOT / ".checkov.yaml"),
            "--skip-download",
            "--compact",
            "--quiet",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    report = json.loads(result.stdout)
    summary = report["summary"] if isinstance(report, dict) else report[0]["summary"]
    failed = [] if isinstance(report, list) else report["results"]["failed_checks"]
    for check in failed:
        print(f"  FAILED {check['check_id']} {check['check_name']}: {check['resource']}")
    return {k: summary[k] for k in ("passed", "failed", "skipped")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = shutil.which("checkov") or str(kit.REPO_ROOT / ".ci-checkov" / "bin" / "checkov")
    parser.add_argument("--checkov", default=default, help=f"checkov executable (default: {default})")
    parser.add_argument("--keep", type=Path, help="write the rendered scenarios here and keep them")
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="kubegrid-checkov-"))
    failures = 0
    try:
        for scenario in kit.SCENARIOS:
            count = write_scenario(scenario, root / scenario)
            totals = scan(args.checkov, root / scenario)
            failures += totals["failed"]
            print(
                f"{scenario:14} objects={count:3} passed={totals['passed']:5} "
                f"failed={totals['failed']:3} skipped={totals['skipped']:3}"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
