"""Record the immutable fields of every scenario for the current chart version.

`helm upgrade` cannot change a StatefulSet's selector, serviceName,
volumeClaimTemplates or podManagementPolicy (nor a Deployment's selector or a
Service's clusterIP). tests/chart/test_chart_upgrade.py compares every render
with the recordings in tests/chart/recorded/<version>-<scenario>.json, so a
template change that would break upgrades from a released version fails.

Record deliberately, once per released chart version:

    python -m tests.chart.record_immutable            # new scenarios only
    python -m tests.chart.record_immutable --force    # overwrite this version's files

Recordings of earlier versions are never touched: they are the releases
users upgrade from.
"""

from __future__ import annotations

import argparse
import json

from tests.support import chart as kit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite the recordings of the current chart version",
    )
    parser.add_argument("scenarios", nargs="*", help="scenarios to record (default: all)")
    args = parser.parse_args(argv)

    version = kit.chart().version
    kit.RECORDED_DIR.mkdir(parents=True, exist_ok=True)
    for scenario in args.scenarios or kit.SCENARIOS:
        if scenario not in kit.SCENARIOS:
            parser.error(f"unknown scenario {scenario!r}; known: {', '.join(kit.SCENARIOS)}")
        path = kit.recorded_path(version, scenario)
        if path.exists() and not args.force:
            print(f"kept     {path.relative_to(kit.REPO_ROOT)} (use --force to overwrite)")
            continue
        path.write_text(json.dumps(kit.recording(scenario), indent=2, sort_keys=True) + "\n")
        print(f"recorded {path.relative_to(kit.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
