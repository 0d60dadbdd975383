"""Chart quality: documented values, schema coverage, commented helpers,
README."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from components.offline import docs
from tests.support import chart as kit


def test_every_values_key_has_a_doc_comment() -> None:
    assert docs.undocumented_keys() == []


def test_doc_check_flags_a_missing_comment(tmp_path: Any) -> None:
    values = (kit.CHART_DIR / "values.yaml").read_text()
    broken = tmp_path / "values.yaml"
    broken.write_text(values.replace("  # -- Backups per partition", "  # Backups per partition", 1))
    assert docs.undocumented_keys(tmp_path) == ["partitions.backups"]


def test_doc_check_sees_every_top_level_key() -> None:
    defaults = yaml.safe_load((kit.CHART_DIR / "values.yaml").read_text())
    top = [k["path"] for k in docs.values_keys() if k["depth"] == 0]
    assert top == list(defaults)


def test_readme_parameters_table_matches_values() -> None:
    readme = (kit.CHART_DIR / "README.md").read_text()
    begin = readme.index(docs.README_BEGIN) + len(docs.README_BEGIN)
    end = readme.index(docs.README_END)
    assert readme[begin:end].strip() == docs.readme_table(), (
        "README.md is out of date: run `python -m components.offline.docs`"
    )


def test_readme_covers_install_upgrade_and_autoscaling() -> None:
    readme = (kit.CHART_DIR / "README.md").read_text()
    for heading in ("## Installing", "## Upgrading", "## Why there is no HorizontalPodAutoscaler", "## Parameters"):
        assert heading in readme
    assert "helm install kubegrid" in readme
    assert "helm upgrade kubegrid" in readme


def test_schema_is_local_draft_07() -> None:
    schema = json.loads((kit.CHART_DIR / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    refs = re.findall(r'"\$ref":\s*"([^"]*)"', json.dumps(schema))
    assert refs and all(r.startswith("#/") for r in refs)


def _schema_property(schema: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for part in path:
        if node is None:
            return None
        if "$ref" in node:
            node = schema["definitions"][node["$ref"].split("/")[-1]]
        node = node.get("properties", {}).get(part)
    return node


def test_schema_covers_every_parameter() -> None:
    schema = json.loads((kit.CHART_DIR / "values.schema.json").read_text())
    missing = [p["key"] for p in docs.parameters() if _schema_property(schema, p["key"].split(".")) is None]
    assert missing == []


def test_schema_rejects_unknown_keys_at_every_level() -> None:
    schema = json.loads((kit.CHART_DIR / "values.schema.json").read_text())
    params = {p["key"] for p in docs.parameters()}
    sections = [k["path"] for k in docs.values_keys() if k["doc"] and k["path"] not in params]
    assert "partitions" in sections and "persistence.retentionPolicy" in sections
    assert schema["additionalProperties"] is False
    for section in sections:
        node = _schema_property(schema, section.split("."))
        if "$ref" in node:
            node = schema["definitions"][node["$ref"].split("/")[-1]]
        assert node.get("additionalProperties") is False, section


def test_defaults_pass_the_schema() -> None:
    kit.chart().validate_schema(kit.merged_values({}))


def test_every_define_has_a_comment() -> None:
    for tpl in (kit.CHART_DIR / "templates").rglob("*.tpl"):
        lines = tpl.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\{\{-? define ", line):
                above = lines[i - 1].strip() if i else ""
                assert above.endswith("*/}}"), f"{tpl.name}: {line.strip()} has no comment above it"


def test_helpers_follow_the_naming_convention() -> None:
    names = []
    for tpl in (kit.CHART_DIR / "templates").rglob("*.tpl"):
        names += re.findall(r'define "([^"]+)"', tpl.read_text())
    assert names and all(n.startswith("kubegrid.") for n in names)


def test_templates_are_in_component_folders() -> None:
    top = {p.name for p in (kit.CHART_DIR / "templates").iterdir() if p.is_file()}
    assert top == {"_helpers.tpl", "_validate.tpl", "NOTES.txt", "license-secret.yaml", "validate.yaml"}
    folders = {p.name for p in (kit.CHART_DIR / "templates").iterdir() if p.is_dir()}
    assert folders == {"management", "partitions", "notebook", "metrics", "tests"}
