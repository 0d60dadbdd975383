// The Prometheus Operator's CRDs (example/prometheus-operator-crd/), applied to the test
// control plane before the stack's ServiceMonitors, PodMonitors and PrometheusRules: the
// operator version kube-prometheus-stack ships (components/offline/crd_schemas/generate.py).
// Only downloaded, never built.
module kubegrid.test/engines/prometheus-operator

go 1.24.0

require github.com/prometheus-operator/prometheus-operator v0.93.0
