"""A Spark 2.4 client for the insightedge jobs' end-to-end tests: the Spark of GigaSpaces'
insightedge image is 2.4.4, and its ``insightedge-submit`` is Spark's spark-submit with the
InsightEdge jars on the class path.

The newest 2.4 release, 2.4.8, comes from PyPI's pyspark source archive (its ``deps/`` holds
Spark's ``bin`` and ``jars``, the Kubernetes backend included); pip cannot build that archive with
today's setuptools, so ``python -m tests.support.spark24`` downloads it by its PyPI address, checks
its SHA-256 and unpacks ``bin`` and ``jars`` under ``.cache/`` (``.ci/run`` does this; tests never
touch the network and skip when it is missing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Optional

VERSION = "2.4.8"
URL = ("https://files.pythonhosted.org/packages/13/29/1a5d7c60609dfc8fd79c86965e95ea7e9e181385d839bc43913d277effa2/"
       f"pyspark-{VERSION}.tar.gz")
SHA256 = "3a19b71b8dc8dd91ebc943604a05e1ab01bce052456d42937035632d852d78dc"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOME = ROOT / ".cache" / f"spark-{VERSION}"


def spark24_home() -> Optional[Path]:
    """The unpacked Spark 2.4 (``KUBEGRID_SPARK24_HOME``, else ``.cache/spark-2.4.8``), or None."""
    home = Path(os.environ.get("KUBEGRID_SPARK24_HOME", DEFAULT_HOME))
    return home if (home / "bin" / "spark-submit").is_file() and (home / "jars").is_dir() else None


def fetch(home: Path = DEFAULT_HOME) -> Path:
    """Downloads, checks and unpacks Spark 2.4.8's ``bin`` and ``jars`` into ``home``."""
    if spark24_home() is not None and home == DEFAULT_HOME:
        return home
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "pyspark.tar.gz"
        digest = hashlib.sha256()
        with urllib.request.urlopen(URL, timeout=300) as response, open(archive, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != SHA256:
            raise SystemExit(f"{URL}: SHA-256 {digest.hexdigest()}, expected {SHA256}")
        prefix = f"pyspark-{VERSION}/deps/"
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith((prefix + "bin/", prefix + "jars/")) and (m.isfile() or m.isdir())]
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python 3.11.4 and later
            tar.extractall(tmp, members=members, **safe)
        shutil.rmtree(home, ignore_errors=True)
        home.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / prefix), str(home))
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    return home


if __name__ == "__main__":
    print(fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_HOME))
