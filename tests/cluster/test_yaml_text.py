"""libyaml (fast) and pure-Python YAML give the same data and text, so output never
depends on which one PyYAML was built with."""

from __future__ import annotations

import pytest
import yaml

from components.cluster import yaml_text
from components.offline.render import render_stack, to_yaml
from tests.support.stacks import stack_spec

PURE_PYTHON = yaml_text.with_literal_blocks(yaml.SafeDumper)


def test_libyaml_is_used_where_pyyaml_has_it():
    assert yaml.__with_libyaml__, "PyYAML's wheel should ship libyaml on this platform"
    assert issubclass(yaml_text.DUMPER, yaml.CSafeDumper) and yaml_text.LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("stack", ["local", "dev", "prod"])
def test_both_emitters_write_the_same_text_and_it_reads_back_as_the_object(stack):
    for rendered in render_stack(stack_spec(stack)).objects:
        text = to_yaml(rendered)
        assert text == f"# Source: {rendered.source}\n" + yaml.dump(rendered.obj, Dumper=PURE_PYTHON, sort_keys=False)
        assert list(yaml_text.load_all(text)) == list(yaml.safe_load_all(text)) == [rendered.obj]


def test_multi_line_strings_are_literal_blocks_and_others_plain():
    text = yaml_text.dump({"spark-defaults.conf": "a 1\nb 2\n", "name": "x"}, sort_keys=False)
    assert text == "spark-defaults.conf: |\n  a 1\n  b 2\nname: x\n"
