"""Every object of every stack, applied to the real API server as the program applies it."""

from __future__ import annotations

import time

import pytest

from tests.support.cluster import ApiRefused
from tests.support.live import applied_fields, apply_stack, live_objects


def _key(obj):
    return f"{obj['kind']}/{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


def test_every_object_is_accepted(applied):
    """The fixture applied each object server-side (a refusal names the object and the
    server's message); every one is now on the server."""
    assert set(live_objects(applied.kube, applied.applied)) == {_key(o) for o in applied.applied}


def test_a_second_apply_changes_nothing(applied):
    """Server-side apply writes only what differs: a field the server drops or rewrites (an
    empty list, a defaulted value in another form) would be written again on every apply."""
    before = applied_fields(applied.kube, applied.applied)
    time.sleep(1.1)  # managed-field times have one-second resolution: a rewrite shows
    apply_stack(applied)
    after = applied_fields(applied.kube, applied.applied)
    assert {k for k in before if before[k] != after[k]} == set()


def test_a_refused_object_is_named_with_the_servers_message(applied):
    namespace = applied.spec.grid.namespace
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "refused-service", "namespace": namespace},
           "spec": {"ports": [{"name": "lookup", "port": 70000}]}}
    with pytest.raises(ApiRefused) as refused:
        applied.kube.apply([bad])
    message = str(refused.value)
    assert message.startswith(f"Service {namespace}/refused-service: refused by the API server: ")
    assert "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive" in message
