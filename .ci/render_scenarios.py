"""Renders each chart scenario (charts/kubegrid/ci/*-values.yaml) into DIR/<scenario>/, one file per object."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from components.cluster.grid import CHART_DIR
from components.offline.render import file_name, render_chart, to_yaml


def main(out: Path) -> int:
    scenarios = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
    if not scenarios:
        print("no chart scenarios found", file=sys.stderr)
        return 1
    for path in scenarios:
        target = out / path.name[: -len("-values.yaml")]
        target.mkdir(parents=True, exist_ok=True)
        values = yaml.safe_load(path.read_text()) or {}
        for index, rendered in enumerate(render_chart(values, namespace="kubegrid")):
            (target / file_name(index, rendered.obj)).write_text(to_yaml(rendered), encoding="utf-8")
        print(f"rendered chart scenario {path.name} into {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
