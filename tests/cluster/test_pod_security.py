"""Pod Security "restricted" from one place: namespaces enforce it, pods built with
these contexts pass it."""

from __future__ import annotations

from components.cluster.manifests import stack_objects
from components.cluster.pod_security import container_security_context, namespace_labels, pod_security_context
from tests.support.pod_security import restricted_violations
from tests.support.stacks import STACK_NAMES, stack_spec


def test_every_namespace_the_stack_creates_enforces_audits_and_warns_restricted():
    for stack in STACK_NAMES:
        for obj in stack_objects(stack_spec(stack)):
            if obj["kind"] == "Namespace":
                assert namespace_labels().items() <= obj["metadata"]["labels"].items()
    assert set(namespace_labels().values()) == {"restricted"}


def test_a_pod_with_these_contexts_passes_and_a_changed_one_does_not():
    pod = {"securityContext": pod_security_context(1000, 0),
           "containers": [{"name": "main", "securityContext": container_security_context()}]}
    assert restricted_violations(pod) == []
    assert pod["securityContext"]["runAsGroup"] == 0 and pod["securityContext"]["runAsUser"] == 1000
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert restricted_violations(pod) == ["main: allowPrivilegeEscalation is not false"]
