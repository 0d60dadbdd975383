"""The monitoring charts go in after their namespace (and the nodes, on EKS); the Prometheus
Operator's custom resources after the charts that install their CRDs."""

from __future__ import annotations

from components.cluster.observability import monitoring_resources, observability_releases
from components.k8s.apply import logical_name
from tests.support.stacks import stack_spec


def test_releases_and_custom_resources_are_applied_in_order(run_stack):
    run = run_stack("prod")
    spec = stack_spec("prod")
    releases = [f"kubegrid-monitoring-{r['name']}" for r in observability_releases(spec)]
    for name in releases:
        release = run.named(name)
        assert release.parent == "kubegrid-monitoring"
        assert "namespace-monitoring" in release.dependencies
        assert "kubegrid-pool-general-ng" in release.dependencies  # nodes to run on
    for resource in monitoring_resources(spec):
        applied = run.named(logical_name(resource))
        assert applied.type == f"kubernetes:{resource['apiVersion']}:{resource['kind']}"
        assert set(releases) <= set(applied.dependencies)


def test_no_monitoring_where_it_is_off(run_stack):
    assert not [r for r in run_stack("dev").resources if r.name.startswith("kubegrid-monitoring")]
