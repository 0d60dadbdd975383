"""The cloud layer: Pulumi ComponentResources on AWS, from `pulumi_aws` primitives.

:class:`~.eks_platform.EksPlatform` creates the network, the EKS cluster,
its node pools, add-ons, Cluster Autoscaler and NVIDIA device plugin;
:class:`~.s3_access.SparkS3Access` the Spark teams' S3 roles. Each
component takes narrow Args: the fields it uses, with the stack's region,
cluster name and tags as one :class:`~.naming.AwsStack`.
"""
