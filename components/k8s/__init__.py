"""Pulumi resources that put plain Kubernetes data on a cluster: manifests
(one typed resource each), the grid chart and remote Helm charts.

What they apply comes from components/cluster as plain data; these modules
only hand it to Pulumi, so `kubegrid render` shows exactly what is applied.
"""
