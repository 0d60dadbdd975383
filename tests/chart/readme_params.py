"""Print or write the parameters table of charts/kubegrid/README.md.

The table is generated from the `# --` comments of charts/kubegrid/values.yaml;
tests/chart/test_chart_docs.py fails when README.md and values.yaml disagree.

    python tests/chart/readme_params.py           # print the table
    python tests/chart/readme_params.py --write   # update README.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import conftest as kit  # noqa: E402  (a plain module here, not a pytest plugin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    table = kit.readme_table()
    if not args.write:
        print(table)
        return 0
    readme = kit.CHART_DIR / "README.md"
    text = readme.read_text()
    begin, end = text.index(kit.README_BEGIN), text.index(kit.README_END)
    readme.write_text(text[: begin + len(kit.README_BEGIN)] + "\n\n" + table + "\n\n" + text[end:])
    print(f"updated {readme.relative_to(kit.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
