"""YAML to and from plain data, through libyaml where PyYAML has it.

libyaml's parser and emitter give the same data and text as PyYAML's
pure-Python ones about ten times faster; parsing Helm's output and writing
objects as YAML were most of `kubegrid render`'s time (docs/performance.md).
PyYAML's wheels ship libyaml on every common platform; without it the
pure-Python classes are used.
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml


def with_literal_blocks(dumper: type) -> type:
    """``dumper`` writing multi-line strings (files in ConfigMaps) as literal blocks, as
    people write them; libyaml and PyYAML then also fold them alike."""
    return type(f"LiteralBlocks{dumper.__name__}", (dumper,), {
        "yaml_representers": {**dumper.yaml_representers, str: _str}})


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


DUMPER = with_literal_blocks(getattr(yaml, "CSafeDumper", yaml.SafeDumper))
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump(data: Any, **options: Any) -> str:
    """``yaml.safe_dump(data, **options)`` with multi-line strings as literal blocks."""
    return yaml.dump(data, Dumper=DUMPER, **options)


def load_all(text: str) -> Iterator[Any]:
    """``yaml.safe_load_all(text)``: every document of a stream."""
    return yaml.load_all(text, Loader=LOADER)
