"""KubeGrid: a data grid and Spark on Kubernetes, as one Pulumi stack."""
