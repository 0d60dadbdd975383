"""Fixtures for the tests against the real control plane (tests/support/cluster.py).

The binaries come from tests/support/engines.py: built on first use, cached outside the
checkout. Without a Go toolchain the tests skip and say why (unless KUBEGRID_REQUIRE_ENGINES
is set, as CI sets it: then they fail); with one, a failed build is a failure, never a skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import live
from tests.support.stacks import STACK_NAMES


@pytest.fixture(scope="session")
def engines_bin() -> Path:
    return live.require_engines()


def _started(name: str, factory, engines_bin: Path, apply: bool):
    stack = live.start(name, factory.mktemp(f"control-plane-{name}"), engines_bin)
    try:
        if apply:
            live.apply_stack(stack)
    except BaseException:
        stack.plane.stop()
        raise
    return stack


@pytest.fixture(scope="session", params=STACK_NAMES)
def applied(request, engines_bin, tmp_path_factory):
    """A control plane with the stack's nodes and every object the stack applies, shared by
    the tests that only read it (one control plane at a time: pytest groups by stack)."""
    stack = _started(request.param, tmp_path_factory, engines_bin, apply=True)
    yield stack
    stack.plane.stop()


@pytest.fixture
def fresh(request, engines_bin, tmp_path_factory):
    """A control plane of its own with the stack applied, for a test that changes the cluster
    (evictions, nodes going away, upgrades); the stack is ``request.param``."""
    stack = _started(request.param, tmp_path_factory, engines_bin, apply=True)
    yield stack
    stack.plane.stop()
