"""Pod Security "restricted" from one place: namespaces enforce it, pods built with
these contexts pass it."""

from __future__ import annotations

from components.cluster.manifests import stack_objects
from components.cluster.pod_security import container_security_context, namespace_labels, pod_security_context
from tests.support.pod_security import restricted_violations
from tests.support.stacks import STACK_NAMES, stack_spec


def test_every_namespace_enforces_restricted_or_baseline_with_insightedge_and_audits_and_warns_restricted():
    """Only the namespace of a team with insightedge jobs enforces less (baseline), and it still audits
    and warns at restricted."""
    for stack in STACK_NAMES:
        spec = stack_spec(stack)
        lowered = {t.name for t in spec.teams if t.insightedge}
        for obj in stack_objects(spec):
            if obj["kind"] == "Namespace":
                enforce = "baseline" if obj["metadata"]["name"] in lowered else "restricted"
                assert namespace_labels(enforce).items() <= obj["metadata"]["labels"].items()
    assert set(namespace_labels().values()) == {"restricted"}
    assert namespace_labels("baseline") == {"pod-security.kubernetes.io/enforce": "baseline",
                                            "pod-security.kubernetes.io/audit": "restricted",
                                            "pod-security.kubernetes.io/warn": "restricted"}


def test_a_pod_with_these_contexts_passes_and_a_changed_one_does_not():
    pod = {"securityContext": pod_security_context(1000, 0),
           "containers": [{"name": "main", "securityContext": container_security_context()}]}
    assert restricted_violations(pod) == []
    assert pod["securityContext"]["runAsGroup"] == 0 and pod["securityContext"]["runAsUser"] == 1000
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert restricted_violations(pod) == [
        'allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false)']
