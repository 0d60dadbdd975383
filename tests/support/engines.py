"""The upstream programs the tests run for real, built from their published Go modules.

Each tool has a Go module of its own under ``tests/engines/<tool>/`` (their dependency
graphs conflict in one module): its ``go.mod`` requires the upstream module at the pinned
version (written there once) and lists the programs to build as ``tool`` directives; its
``go.sum`` pins every dependency. A build goes into a cache outside the checkout, keyed by
go.mod, go.sum, the link flags and the Go version, so a pin change builds anew and nothing
else does:

    venv/bin/python -m tests.support.engines bin     # prints the directory of the binaries

builds what is missing (progress on stderr) and prints one directory holding every binary.
``KUBEGRID_ENGINES_CACHE`` moves the cache (default ``~/.cache/kubegrid/engines``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ENGINES = Path(__file__).resolve().parents[1] / "engines"
"""tests/engines: one Go module per tool."""

DOWNLOADED = ("prometheus-operator",)
"""Modules whose files (not programs) the tests use."""
BINARY_NAMES = {"go.etcd.io/etcd/server/v3": "etcd"}
"""Programs whose package path does not end in the binary's name."""
KUBERNETES_PROVIDER = "github.com/pulumi/pulumi-kubernetes/provider/v4"
RELEASE_FROM = {KUBERNETES_PROVIDER: "github.com/pulumi/pulumi-kubernetes/sdk/v4"}
"""Upstream modules served at a commit, and the module whose version is their release."""

_BLOCK = re.compile(r"^(?P<directive>tool|require)\s*\(\s*$")
_LINE = re.compile(r"^(?P<directive>tool|require)\s+(?P<rest>\S.*)$")


class EngineError(Exception):
    """A tool could not be built; the message says which and why."""


@dataclass(frozen=True)
class Tool:
    """One tests/engines/<name> module."""
    name: str
    directory: Path
    upstream: str
    """The module the programs come from (the go.mod's one direct requirement)."""
    version: str
    programs: tuple[str, ...]
    requirements: tuple[tuple[str, str], ...] = ()
    """Every (module, version) go.mod requires."""

    @property
    def release(self) -> str:
        """The release the programs report. A module the proxy serves only at a commit
        (a pseudo-version) names its release through the SDK module it requires beside it."""
        return dict(self.requirements).get(RELEASE_FROM.get(self.upstream, ""), self.version)

    @property
    def ldflags(self) -> str:
        return " ".join(["-s", "-w", *_version_stamps(self.upstream, self.release)])

    def key(self, go_version: str) -> str:
        digest = hashlib.sha256()
        for part in ((self.directory / "go.mod").read_bytes(), (self.directory / "go.sum").read_bytes(),
                     self.ldflags.encode(), go_version.encode()):
            digest.update(hashlib.sha256(part).digest())
        return f"{self.name}-{self.version}-{digest.hexdigest()[:12]}"

    def binaries(self) -> list[str]:
        return [BINARY_NAMES.get(p, p.rsplit("/", 1)[-1]) for p in self.programs]


def _version_stamps(upstream: str, version: str) -> list[str]:
    """-X flags that make a program report its release (a source build reports none by itself).

    Clients such as Helm and the Pulumi provider refuse an API server reporting v0.0.0."""
    if upstream == "k8s.io/kubernetes":
        major, minor = version.lstrip("v").split(".")[:2]
        values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor,
                  "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z"}
        return [f"-X {package}.{var}={value}" for package in ("k8s.io/component-base/version",
                                                              "k8s.io/client-go/pkg/version")
                for var, value in values.items()]
    if upstream == "helm.sh/helm/v3":
        return [f"-X helm.sh/helm/v3/internal/version.version={version}"]
    if upstream == "github.com/pulumi/pulumi/pkg/v3":
        # the engine compares it with the SDK's; a plugin's version is its own
        return [f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={version}"]
    if upstream == KUBERNETES_PROVIDER:
        # the provider reports it to the engine, which matches it against the SDK's request
        return [f"-X {KUBERNETES_PROVIDER}/pkg/version.Version={version.lstrip('v')}"]
    return []


def parse_go_mod(directory: Path) -> Tool:
    """The programs (``tool`` directives) of ``directory``/go.mod and the module they come from."""
    tools: list[str] = []
    requires: dict[str, str] = {}
    block = None
    for raw in (directory / "go.mod").read_text().splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block:
            if line == ")":
                block = None
            else:
                _collect(block, line, tools, requires)
        elif match := _BLOCK.match(line):
            block = match["directive"]
        elif match := _LINE.match(line):
            _collect(match["directive"], match["rest"], tools, requires)
    # go mod tidy marks a tool's module "// indirect": the providing module is the longest prefix;
    # a module only downloaded (no tool directive) has exactly one requirement
    upstreams = ({max((m for m in requires if p == m or p.startswith(m + "/")), key=len, default=None) for p in tools}
                 if tools else set(requires))
    if None in upstreams or len(upstreams) != 1:
        raise EngineError(f"{directory}/go.mod: needs tool directives whose programs all come from one "
                          f"required module, or a single requirement; got tools {tools}, requirements {sorted(requires)}")
    upstream, = upstreams
    return Tool(directory.name, directory, upstream, requires[upstream], tuple(tools), tuple(sorted(requires.items())))


def _collect(directive: str, line: str, tools: list[str], requires: dict[str, str]) -> None:
    if directive == "tool":
        tools.append(line.split()[0])
    else:
        path, version = line.split()[:2]
        requires[path] = version


def tools() -> list[Tool]:
    """The modules with programs to build."""
    found = [parse_go_mod(d) for d in sorted(ENGINES.iterdir()) if (d / "go.mod").is_file()]
    return [t for t in found if t.programs]


def source(name: str) -> Path:
    """The downloaded source of tests/engines/<name>'s module (the module cache's copy), for
    the files a test applies from it, such as CRDs."""
    tool = parse_go_mod(ENGINES / name)
    result = subprocess.run(["go", "mod", "download", "-json", f"{tool.upstream}@{tool.version}"],
                            cwd=tool.directory, capture_output=True, text=True,
                            env={**os.environ, "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"})
    if result.returncode != 0:
        raise EngineError(f"go mod download {tool.upstream}@{tool.version}: {result.stderr.strip() or result.stdout}")
    return Path(json.loads(result.stdout)["Dir"])


def cache_root() -> Path:
    configured = os.environ.get("KUBEGRID_ENGINES_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubegrid" / "engines"


def go_version() -> str:
    go = shutil.which("go")
    if go is None:
        raise EngineError("the Go toolchain (go) is not on PATH; the engines are built from Go modules")
    return subprocess.run([go, "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout.strip()


def _log(message: str) -> None:
    print(f"engines: {message}", file=sys.stderr, flush=True)


def build(tool: Tool, root: Path, go: str) -> Path:
    """The directory of ``tool``'s binaries, built first when the cache lacks them."""
    out = root / tool.key(go)
    if (out / ".complete").is_file():
        return out
    staging = root / f".{out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _log(f"building {tool.name} ({tool.upstream} {tool.version}: {', '.join(tool.binaries())}) with {go}")
    started = time.monotonic()
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"}
    # the provider's main package is built from a copy beside its generated embeds
    where, output, programs = (
        (_generated_main(tool, staging, env), str(staging / _go_default_name(tool.programs[0])), ["."])
        if tool.upstream == KUBERNETES_PROVIDER else (tool.directory, f"{staging}/", list(tool.programs)))
    result = subprocess.run(["go", "build", "-trimpath", "-ldflags", tool.ldflags, "-o", output, *programs],
                            cwd=where, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise EngineError(f"go build of {tool.name} ({tool.upstream} {tool.version}) failed:\n"
                          f"{result.stderr.strip()[-4000:]}")
    if where != tool.directory:
        shutil.rmtree(where)  # the generated embeds are in the binary
    for program in tool.programs:
        if program in BINARY_NAMES:
            (staging / _go_default_name(program)).rename(staging / BINARY_NAMES[program])
    (staging / ".complete").write_text(f"{tool.upstream} {tool.version}\n")
    staging.rename(out)
    _log(f"built {tool.name} in {time.monotonic() - started:.0f} s")
    return out


def _generated_main(tool: Tool, staging: Path, env: dict[str, str]) -> Path:
    """A copy of the provider's main package with the files it embeds, made by upstream's own
    generator (its cmd/pulumi-resource-kubernetes/generate.go, run at release time, so not in
    the module; go build cannot overlay files in the module cache). Returns the directory, a
    module with the tool's go.mod and go.sum (the generator imports pkg/v3's schema)."""
    command = source(tool.name) / "cmd" / "pulumi-resource-kubernetes"
    work = staging / "pulumi-resource-kubernetes-main"
    work.mkdir()
    for name in ("main.go", "generate.go", "schema.json", "terraform-mapping.json"):
        shutil.copyfile(command / name, work / name)
    for name in ("go.mod", "go.sum"):
        shutil.copyfile(tool.directory / name, work / name)
    result = subprocess.run(["go", "run", "generate.go"], cwd=work, capture_output=True, text=True,
                            env={**env, "VERSION": tool.release.lstrip("v")})
    if result.returncode != 0:
        raise EngineError(f"generating {tool.name}'s embedded schema failed:\n{result.stderr.strip()[-4000:]}")
    for name in ("generate.go", "schema.json", "terraform-mapping.json"):
        (work / name).unlink()
    return work


def _go_default_name(program: str) -> str:
    """The name go build gives a program: its last path element, or the one before a /vN suffix."""
    parts = program.rstrip("/").split("/")
    return parts[-2] if re.fullmatch(r"v\d+", parts[-1]) and len(parts) > 1 else parts[-1]


def bin_dir() -> Path:
    """One directory with every tool's binaries (symbolic links into the per-tool builds)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    go = go_version()
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, whoever asks (pytest, CI, a person)
        built = [(tool, build(tool, root, go)) for tool in tools()]
        for name in DOWNLOADED:
            source(name)  # fetched with the builds, so that a test run needs no registry
        combined = root / ("bin-" + hashlib.sha256(" ".join(d.name for _, d in built).encode()).hexdigest()[:12])
        if not (combined / ".complete").is_file():
            combined.mkdir(exist_ok=True)
            for tool, directory in built:
                for binary in tool.binaries():
                    link = combined / binary
                    if link.is_symlink() or link.exists():
                        link.unlink()
                    link.symlink_to(directory / binary)
            (combined / ".complete").write_text("\n".join(d.name for _, d in built) + "\n")
    return combined


def available() -> tuple[Path | None, str]:
    """(bin directory, "") when the engines are built or can be; (None, reason) otherwise."""
    try:
        return bin_dir(), ""
    except EngineError as error:
        return None, str(error)


def main(argv: list[str]) -> int:
    if argv != ["bin"]:
        print("usage: python -m tests.support.engines bin", file=sys.stderr)
        return 2
    try:
        print(bin_dir())
    except EngineError as error:
        print(f"engines: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
