"""The configuration reference in docs/configuration.md, generated from the spec.

`python -m components.config_docs` rewrites the part of the file between the
markers; a test fails when the file and the code disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .config_reader import reference_rows
from .spec import NAMESPACE, TOP_LEVEL, ClusterSpec, GridSpec, NodePoolSpec, TeamSpec

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE: python -m components.config_docs -->"
END = "<!-- END GENERATED REFERENCE -->"

_SECTIONS = (
    ("environment", None, "string", "required"),
    ("cluster", ClusterSpec, "object", "required"),
    ("nodePools", NodePoolSpec, "list of object", "empty"),
    ("grid", GridSpec, "object", "all defaults"),
    ("teams", TeamSpec, "list of object", "empty"),
)


def reference() -> str:
    lines: list[str] = []
    for key, cls, type_, default in _SECTIONS:
        full = f"{NAMESPACE}:{key}"
        lines += [f"### `{full}`", "", f"{TOP_LEVEL[key]} Type: {type_}; default: {default}.", ""]
        if key == "environment":
            lines += ["One of `local`, `dev`, `staging`, `prod`. In `prod`, the API endpoint must be private "
                      "and the grid runs 3 managers.", ""]
            continue
        prefix = f"{full}[]" if type_.startswith("list") else full
        lines += ["| Key | Type | Default | Description |", "|---|---|---|---|"]
        for path, kind, dflt, doc in reference_rows(cls, prefix):
            lines.append(f"| `{path}` | {kind} | {dflt} | {doc.replace('|', '/')} |")
        lines.append("")
    lines += ["### `aws:region`", "", "The AWS region (mode `eks`, required there), such as `eu-west-1`.", ""]
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n\n" + section + "\n" + text[end:]


def main() -> int:
    DOC.write_text(replace_section(DOC.read_text(encoding="utf-8"), reference()), encoding="utf-8")
    print(f"updated {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
