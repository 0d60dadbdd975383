"""images/spark/Dockerfile, the S3A image of teams with S3: what it adds and that it matches Spark."""

from __future__ import annotations

import re

import pytest

from components.cluster.spark.names import SPARK_IMAGE
from tests.support import spark_image
from tests.support.spark_runner import pyspark_home


def test_it_is_the_stacks_spark_image_with_the_s3a_connector():
    image = spark_image.definition()
    assert image.base == SPARK_IMAGE
    assert [f.path for f in image.files] == ["/opt/spark/jars-s3a/hadoop-aws-3.4.1.jar",
                                             "/opt/spark/jars-s3a/bundle-2.24.6.jar"]
    assert all(f.url.startswith("https://repo1.maven.org/maven2/") for f in image.files)


def test_the_connector_comes_after_sparks_own_jars():
    """The SDK bundle's unshaded slf4j 1.7 (aws/aws-sdk-java-v2#5108) must never come before
    Spark's slf4j 2: the jars are outside /opt/spark/jars and on SPARK_DIST_CLASSPATH, which
    Spark's launcher and the image's entrypoint put last."""
    image = spark_image.definition()
    assert not any(f.path.startswith("/opt/spark/jars/") for f in image.files)
    assert image.env == {"SPARK_DIST_CLASSPATH": "/opt/spark/jars-s3a/*"}


def test_hadoop_aws_is_the_hadoop_release_spark_bundles():
    """hadoop-aws must be the release of Spark's own Hadoop client (S3A is built against it)."""
    home = pyspark_home()
    if home is None:
        pytest.skip("pyspark is not installed (the `test` extra)")
    (bundled,) = {re.fullmatch(r"hadoop-client-api-(.+)\.jar", p.name)[1] for p in (home / "jars").glob("hadoop-client-api-*.jar")}
    (aws,) = [f for f in spark_image.definition().files if f.name.startswith("hadoop-aws-")]
    assert aws.name == f"hadoop-aws-{bundled}.jar"


def test_every_added_file_is_pinned_by_its_checksum():
    with pytest.raises(ValueError, match="has no --checksum=sha256:"):
        spark_image.definition("FROM apache/spark:4.0.1\nADD https://repo1.maven.org/maven2/a/b/c.jar /opt/spark/jars/\n")
    with pytest.raises(ValueError, match="expected one FROM"):
        spark_image.definition("FROM a\nFROM b\n")
