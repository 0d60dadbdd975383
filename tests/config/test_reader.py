"""The reader: declared defaults, object rules handed in explicitly, every problem at once."""

from __future__ import annotations

from components.config import ClusterSpec, GridSpec, NodePoolSpec
from components.config.load import OBJECT_RULES
from components.config.reader import Reader, default_of, is_default
from components.config.rules import check_pool


def test_defaults_are_read_from_the_declarations():
    assert default_of(ClusterSpec, "vpc_cidr") == "10.0.0.0/16"
    assert default_of(GridSpec, "storage_gib") == 20
    grid = GridSpec()
    assert is_default(grid, "storage_gib")
    assert not is_default(GridSpec(storage_gib=21), "storage_gib")


def test_the_pool_rule_is_registered_for_pools_and_runs_through_the_reader():
    assert OBJECT_RULES[NodePoolSpec] is check_pool
    reader = Reader(object_rules=OBJECT_RULES)
    pool = reader.read_object(NodePoolSpec, {"name": "a", "instanceTypes": ["m6i.large"], "minSize": 3, "maxSize": 2},
                              "kubegrid:nodePools[0]")
    assert pool is None
    assert [str(p) for p in reader.problems] == [
        "kubegrid:nodePools[0].minSize: got 3, above maxSize 2; need minSize <= desiredSize <= maxSize"]


def test_a_reader_without_rules_checks_single_keys_only():
    reader = Reader()
    pool = reader.read_object(NodePoolSpec, {"name": "a", "instanceTypes": ["m6i.large"], "minSize": 3, "maxSize": 2},
                              "p")
    assert pool is not None and reader.problems == []
