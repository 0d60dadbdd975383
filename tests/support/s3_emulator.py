"""S3 for the Spark end-to-end tests: moto's S3 server on loopback, holding a team's buckets and
the objects the stack creates in them. Pods reach it with the real S3A connector (the image's
hadoop-aws and AWS SDK, images/spark/Dockerfile); what differs from AWS is only where S3 is and
whose credentials sign: the endpoint (with path-style addressing, since a bucket's own host name
cannot resolve to loopback) and a fixed key pair, where EKS gives the pods Pod Identity's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Optional

import boto3
import requests

from .cluster import free_port

ACCESS_KEY = "kubegrid-test-access-key"
SECRET_KEY = "kubegrid-test-secret-key"


class S3Emulator:
    """One moto server process per case (in-process servers would share moto's global state with
    each other and with the tests that use ``mock_aws``)."""

    def __init__(self, region: Optional[str]):
        self.region = region or "us-east-1"
        self.server: Optional[subprocess.Popen] = None
        self.endpoint = ""

    def start(self, buckets: list[str], objects: list[tuple[str, str]], timeout: float = 30) -> "S3Emulator":
        """Serves ``buckets`` holding ``objects`` ((bucket, key); a key ending in / is a marker)."""
        port = free_port()
        self.server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(f"{self.endpoint}/moto-api/", timeout=2)
                break
            except requests.RequestException:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto's server did not start on port {port}")
                time.sleep(0.2)
        client = self.client()
        where = {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        for bucket in dict.fromkeys(buckets):
            client.create_bucket(Bucket=bucket, **where)
        for bucket, key in objects:
            if bucket in buckets:
                client.put_object(Bucket=bucket, Key=key, Body=b"")
        return self

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def java_options(self) -> list[str]:
        """Spark properties (as JVM system properties) that point S3A at the emulator."""
        return [f"-Dspark.hadoop.fs.s3a.endpoint={self.endpoint}", "-Dspark.hadoop.fs.s3a.path.style.access=true"]

    def credentials(self) -> dict[str, str]:
        """Environment the AWS SDK's default chain reads first."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def objects(self) -> list[tuple[str, str]]:
        """Every (bucket, key) the emulator holds."""
        client = self.client()
        found = []
        for bucket in client.list_buckets()["Buckets"]:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
                found += [(bucket["Name"], o["Key"]) for o in page.get("Contents", [])]
        return found

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            self.server = None
