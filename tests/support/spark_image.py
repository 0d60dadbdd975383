"""The Spark image of a team with ``s3Access``, as the tests emulate it: read from the one
definition the real image is built from (images/spark/Dockerfile), its base and the files its
ADD lines put in (the S3A connector's jars, with their SHA-256).

``python -m tests.support.spark_image`` downloads those files from the addresses the Dockerfile
names, checks each SHA-256 and keeps them in ``~/.cache/kubegrid/jars`` (or
``$KUBEGRID_JARS_CACHE``), outside the checkout; ``.ci/run`` does this. Tests never touch the
network: without the files the Spark runs skip and say why (tests/support/spark_runner.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "images" / "spark" / "Dockerfile"

_FROM = re.compile(r"^FROM\s+(?P<image>\S+)\s*$", re.M)
_ENV = re.compile(r"^ENV\s+(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>\S+)\s*$", re.M)
_ADD = re.compile(r"^ADD\s+(?P<flags>(?:--\S+\s+)*)(?P<url>https://\S+)\s+(?P<dest>/\S+)\s*$", re.M)


@dataclass(frozen=True)
class AddedFile:
    url: str
    sha256: str
    path: str
    """Where the image has it."""

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class ImageDefinition:
    base: str
    files: tuple[AddedFile, ...]
    env: dict[str, str]
    """What its ENV lines add to the base image's environment."""


def definition(text: Optional[str] = None) -> ImageDefinition:
    """The Dockerfile's base image, added files and environment. Every ADD must pin its content
    (--checksum); ENV lines are of the form ENV NAME=value."""
    text = DOCKERFILE.read_text() if text is None else text
    text = text.replace("\\\n", " ")
    bases = _FROM.findall(text)
    if len(bases) != 1:
        raise ValueError(f"{DOCKERFILE}: expected one FROM, found {bases}")
    files = []
    for match in _ADD.finditer(text):
        checksum = re.search(r"--checksum=sha256:([0-9a-f]{64})\b", match["flags"])
        if checksum is None:
            raise ValueError(f"{DOCKERFILE}: ADD {match['url']} has no --checksum=sha256:")
        dest = match["dest"]
        files.append(AddedFile(match["url"], checksum[1],
                               dest + match["url"].rsplit("/", 1)[1] if dest.endswith("/") else dest))
    if len(files) != text.count("\nADD "):
        raise ValueError(f"{DOCKERFILE}: an ADD line is not of the form ADD [--flags] https://... /path")
    env = {m["name"]: m["value"] for m in _ENV.finditer(text)}
    if len(env) != text.count("\nENV "):
        raise ValueError(f"{DOCKERFILE}: an ENV line is not of the form ENV NAME=value")
    return ImageDefinition(bases[0], tuple(files), env)


def cache_dir() -> Path:
    return Path(os.environ.get("KUBEGRID_JARS_CACHE", Path.home() / ".cache" / "kubegrid" / "jars"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def image_files() -> Optional[dict[str, Path]]:
    """Path in the image -> the downloaded file, when every one is in the cache; else None.
    A file is trusted once: it is renamed into place only after its SHA-256 matched."""
    found = {}
    for added in definition().files:
        local = cache_dir() / added.sha256 / added.name
        if not local.is_file():
            return None
        found[added.path] = local
    return found


def fetch() -> dict[str, Path]:
    """Downloads what the cache lacks, checking each SHA-256 before keeping it."""
    for added in definition().files:
        target = cache_dir() / added.sha256 / added.name
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
            partial = Path(out.name)
            with urllib.request.urlopen(added.url, timeout=600) as response:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        if _sha256(partial) != added.sha256:
            partial.unlink()
            raise SystemExit(f"{added.url}: SHA-256 differs from the Dockerfile's {added.sha256}")
        partial.rename(target)
    found = image_files()
    assert found is not None
    return found


if __name__ == "__main__":
    for path, local in fetch().items():
        print(f"{path} <- {local}")
    sys.exit(0)
