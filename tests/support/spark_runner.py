"""Runs a stack's printed Spark commands for real (pyspark's spark-submit, Java 17) against a real
Kubernetes control plane (tests/support/cluster.py, one per stack, the stack applied by
tests/support/live.py), and runs the pods Spark creates as their containers would.

Pieces:

- :func:`stack_inputs`: a stack's rendered objects (``components.offline.render.render_stack``)
  and its ``spark`` stack output (``components.offline.mock_run.run_program``), the public paths.
- :func:`spark_plane`: a control plane with the stack's nodes and every object it applies, whose
  KWOK leaves pods labelled ``spark-role`` to :class:`Kubelet`.
- :class:`Workspace`: the submitting user's machine: a kubeconfig naming the real API server with
  a client certificate the plane's CA issued to a member of the team (:func:`submitter`: the group
  the stack's ``team-edit`` RoleBinding names, or kind's admin where the stack binds nobody; an EC
  key, or for the insightedge jobs an RSA key: Spark 2.4's fabric8 reads EC keys only with
  BouncyCastle, see :func:`user_credentials`), the real ``kubectl`` first on PATH, pyspark's
  ``spark-submit`` next (for the insightedge jobs, ``insightedge-submit``: Spark 2.4.8's).
  Printed commands run unchanged with ``bash -c``.
- :class:`Cluster`: one case's view of the plane: the admin's :class:`KubeApi`, the
  :class:`Kubelet`, and afterwards what the server recorded: the pods Spark created as admitted, the
  ConfigMaps and Services it left, the ResourceQuota's status and the audit log's entries (who
  called what, and the response code).
- :class:`Kubelet`: polls the API server for the team's ``spark-role`` pods; runs every pod the
  real scheduler bound to a node as its container would run (see :mod:`tests.support.pod_exec`:
  the image's root read-only, the pod's volumes, its projected service account token from a
  TokenRequest, uid 185 via ``setpriv`` in ``unshare --mount``), runs the image's entrypoint
  (:func:`entrypoint_command`), reports the pod's status through its ``status`` subresource, and
  for a deleted pod kills the container and then removes the pod, as a kubelet does.

What the API server, admission, the scheduler and the controllers decide is theirs: RBAC (a 403
shows in the audit log), Pod Security, LimitRange defaults, the ResourceQuota, where a pod goes
(KWOK nodes shaped like the stack's pools; the stack's DaemonSets' pods take their share of each
node). What stays emulated (see docs/spark.md, "How the tests run Spark"):

- the image (:class:`ImageProfile`, by the container's image): for ``apache/spark``, ``/opt/spark``
  from pyspark 4.0.1, the host's JDK 17, ``spark:185`` in /etc/passwd; the examples jar is a small
  SparkPi of our own (tests/cluster/spark/image/, same class, argument and output line); the S3A
  image of teams with S3 (any other image but insightedge's) adds the files images/spark/Dockerfile
  adds, downloaded from its addresses with its checksums (tests/support/spark_image.py), and reaches
  S3 at an emulator on loopback (moto's server; :class:`S3Emulator`), the endpoint and credentials
  being all that differs from AWS; GPU containers get a stand-in ``nvidia-smi``. For ``gigaspaces/insightedge-enterprise``, Spark
  2.4.8 (tests/support/spark24.py) as ``$GS_HOME/insightedge/spark``, the host's JDK 17 where the
  image has Java 8, ``gs_user:1000`` in ``gs_group:2000`` owning ``GS_HOME``, Spark 2.4's
  entrypoint, and a stand-in of GigaSpaces' SaveRdd example;
- cluster DNS and the network: JVMs get ``-Djdk.net.hosts.file`` (``JAVA_TOOL_OPTIONS``) mapping
  the namespace's Services and pods and ``kubernetes.default.svc`` to 127.0.0.1 (one network
  namespace: every pod IP the kubelet reports is 127.0.0.1);
- the in-cluster API address: the API server listens on 127.0.0.1 at its own port, not on the
  ``kubernetes`` Service's 443: Spark 4 drivers get ``-Dspark.kubernetes.driver.master=
  https://kubernetes.default.svc:<port>`` (``JAVA_TOOL_OPTIONS``) and ``KUBERNETES_SERVICE_PORT``
  is that port; Spark 2.4 drivers dial ``https://kubernetes.default.svc`` on 443, which
  :class:`ServicePort` forwards to the API server from a loopback address of its own (the hosts
  file gives it ``kubernetes.default.svc``; another run may hold 127.0.0.1:443);
- node memory: executor heaps above ``heap_cap`` are capped (this machine has less memory than
  the pools' nodes), each change recorded in :attr:`Kubelet.adjustments`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests
import yaml
from cryptography.hazmat.primitives import serialization

from components.cluster.spark.names import SPARK_IMAGE, SPARK_VERSION
from tests.support import spark_image
from tests.support.s3_emulator import S3Emulator
from tests.support.spark24 import spark24_home

ROOT = Path(__file__).resolve().parents[2]
IMAGE_SOURCES = ROOT / "tests" / "cluster" / "spark" / "image" / "src"
POD_EXEC = Path(__file__).resolve().parent / "pod_exec.py"
SPARK_UID = 185
IMAGE_ENV = {  # ENV of apache/spark:4.0.1-scala2.13-java17-python3-ubuntu (eclipse-temurin:17-jammy base)
    "PATH": "/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "JAVA_HOME": "/opt/java/openjdk", "LANG": "C.UTF-8",  # the image: en_US.UTF-8 (not generated here)
    "SPARK_HOME": "/opt/spark",
}
IMAGE_WORKDIR = "/opt/spark/work-dir"
CLUSTER_HOSTS = "/etc/kubegrid-cluster-hosts"
EXAMPLES_JAR_PATH = "/opt/spark/examples/jars/spark-examples.jar"
INSIGHTEDGE_HOME = "/opt/gigaspaces"
INSIGHTEDGE_EXAMPLES_JAR_PATH = f"{INSIGHTEDGE_HOME}/insightedge/examples/jars/insightedge-examples.jar"


# ---------------------------------------------------------------- prerequisites

def pyspark_home() -> Optional[Path]:
    try:
        import pyspark
    except ImportError:
        return None
    return Path(pyspark.__file__).resolve().parent


def jdk_home() -> Optional[Path]:
    javac = shutil.which("javac")
    return Path(os.path.realpath(javac)).parent.parent if javac else None


def missing_prerequisites() -> Optional[str]:
    """Why the Spark runs cannot happen here, or None."""
    home = pyspark_home()
    if home is None:
        return f"pyspark is not installed (pip install pyspark=={SPARK_VERSION}, the `test` extra)"
    import pyspark
    if pyspark.__version__ != SPARK_VERSION:
        return f"pyspark {pyspark.__version__} installed, the stacks run Spark {SPARK_VERSION}"
    for tool in ("java", "javac", "jar", "setpriv", "unshare", "mount", "openssl", "bash"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not on PATH (Java 17 with javac: openjdk-17-jdk-headless; util-linux)"
    version = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    if not re.search(r'version "17[."]', version):
        return f"Java 17 needed (the image's), found: {version.splitlines()[0] if version else '?'}"
    if os.geteuid() != 0:
        return "running pods needs root (unshare --mount, mount, chroot, setpriv to uid 185)"
    return None


# ---------------------------------------------------------------- stack inputs

@dataclass
class StackInputs:
    name: str
    spec: Any
    objects: list[dict[str, Any]]
    spark: dict[str, Any]
    """The `spark` stack output."""
    s3_objects: list[tuple[str, str]] = field(default_factory=list)
    """(bucket, key) of the S3 objects the stack itself creates (none today)."""


def stack_inputs(name: str, config: Optional[dict[str, Any]] = None) -> StackInputs:
    """A stack's objects and `spark` output, from the project's public paths; ``config`` replaces the
    stack file's."""
    from components.config import load_spec
    from components.offline.mock_run import run_program
    from components.offline.render import render_stack
    from tests.support.stacks import stack_config

    config = stack_config(name) if config is None else config
    spec = load_spec(config, name)
    objects = [r.obj for r in render_stack(spec).objects]
    run = run_program(config, name)
    s3_objects = [(r.inputs.get("bucket"), r.inputs.get("key")) for r in run.resources
                  if r.type.startswith("aws:s3/bucketObject") or r.type.startswith("aws:s3/object")]
    return StackInputs(name, spec, objects, run.outputs["spark"], s3_objects)


@functools.lru_cache(maxsize=None)
def stack_inputs_of(name: str) -> StackInputs:
    """:func:`stack_inputs` of a stack file, once per test session."""
    return stack_inputs(name)


def granted(role: dict[str, Any]) -> set[tuple[str, str]]:
    """(verb, resource) of every rule of a Role."""
    return {(verb, resource) for rule in role["rules"] for resource in rule["resources"] for verb in rule["verbs"]}


def driver_ports(log: str) -> set[int]:
    """The ports a Spark driver says it bound (its RPC endpoint and its block manager)."""
    return {int(p) for p in re.findall(r"Successfully started service '(?:sparkDriver|org\.apache\.spark\."
                                       r"network\.netty\.NettyBlockTransferService)' on port (\d+)", log)}


# ---------------------------------------------------------------- the image's extra files

_BUILD_LOCK = threading.Lock()


STAND_IN_JARS = {  # key: (jar, source package, the Spark it is compiled against, javac --release)
    "examples": ("spark-examples.jar", "org/apache/spark/examples", pyspark_home, "17"),
    "insightedge-examples": ("insightedge-examples.jar", "org/insightedge/examples/basic", spark24_home, "8"),
}


def build_image_jars(out: Path, keys: tuple[str, ...] = ("examples",)) -> dict[str, Path]:
    """The stand-in jars (:data:`STAND_IN_JARS`), compiled with javac against their Spark's jars (once per
    ``out``), and the files images/spark/Dockerfile adds, by their path in the image."""
    jars = {key: out / STAND_IN_JARS[key][0] for key in keys}
    with _BUILD_LOCK:
        for key, jar in jars.items():
            if jar.exists():
                continue
            _, package, spark, release = STAND_IN_JARS[key]
            classes = out / f"classes-{key}"
            sources = sorted(str(p) for p in (IMAGE_SOURCES / package).glob("*.java"))
            subprocess.run(["javac", "-nowarn", "--release", release, "-d", str(classes), "-cp", f"{spark()}/jars/*",
                            *sources], check=True, capture_output=True)
            subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True)
    return {**jars, **(spark_image.image_files() or {})}



# ---------------------------------------------------------------- the submitting user's machine

@dataclass
class Workspace:
    """A submitting user's machine: a directory to run in, PATH and KUBECONFIG."""
    root: Path
    server: str
    ca: Path
    user: dict[str, Any]
    """The kubeconfig's user entry for the cluster (a client certificate, or a token)."""
    kubectl: Path
    """The ``kubectl`` on PATH (linked into the workspace's bin)."""
    context: str = "kubegrid"
    """The kubeconfig's context of the cluster."""
    current: Optional[str] = None
    """Another context, made current, with another cluster and token: a command must name ``context``."""
    spark24: Optional[Path] = None
    """A Spark 2.4 (tests.support.spark24): ``insightedge-submit`` on PATH runs its spark-submit."""
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.cwd = self.root / "home"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        (self.bin / "kubectl").symlink_to(self.kubectl)
        if self.spark24 is not None:
            submit = self.bin / "insightedge-submit"
            submit.write_text(INSIGHTEDGE_SUBMIT.replace("__SPARK_HOME__", str(self.spark24)))
            submit.chmod(0o755)
        self.kubeconfig = self.root / "kubeconfig"
        names = [self.context] + ([self.current] if self.current else [])
        servers = {self.context: self.server, self.current: "https://127.0.0.1:1"}
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": self.current or self.context,
            "clusters": [{"name": n, "cluster": {"server": servers[n], "certificate-authority": str(self.ca)}}
                         for n in names],
            "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in names],
            "users": [{"name": n, "user": self.user if n == self.context else {"token": f"token-of-{n}"}}
                      for n in names]}))
        self.kubeconfig.chmod(0o600)

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(self.root), "KUBECONFIG": str(self.kubeconfig),
                "JAVA_HOME": str(jdk_home()), "LANG": "C.UTF-8", "TMPDIR": str(self.root / "tmp"), **self.extra_env}

    def run(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """A printed command, exactly as printed, with bash -c."""
        return subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def start(self, command: str, log: Path) -> subprocess.Popen:
        with open(log, "w") as handle:
            return subprocess.Popen(["bash", "-c", command], cwd=self.cwd, env=self.env(), stdout=handle,
                                    stderr=subprocess.STDOUT, start_new_session=True)


# ---------------------------------------------------------------- the entrypoint

def entrypoint_command(args: list[str], env: dict[str, str], cwd: str) -> list[str]:
    """apache/spark-docker's entrypoint.sh (4.0.1), its driver and executor cases, without tini."""
    classpath = f"{env.get('SPARK_CLASSPATH', '')}:{env['SPARK_HOME']}/jars/*"
    java_opts = [env[k] for k in sorted(env) if k.startswith("SPARK_JAVA_OPT_")]  # bash "${!SPARK_JAVA_OPT_@}" order
    if env.get("SPARK_EXTRA_CLASSPATH"):
        classpath = f"{classpath}:{env['SPARK_EXTRA_CLASSPATH']}"
    if "HADOOP_CONF_DIR" in env:
        classpath = f"{env['HADOOP_CONF_DIR']}:{classpath}"
    classpath = f"{env.get('SPARK_CONF_DIR', env['SPARK_HOME'] + '/conf')}:{classpath}"
    classpath = f"{classpath}:{cwd}"  # SPARK-43540
    if args and args[0] == "driver":
        bind = env.get("SPARK_DRIVER_BIND_ADDRESS", "")
        return [f"{env['SPARK_HOME']}/bin/spark-submit", "--conf", f"spark.driver.bindAddress={bind}",
                "--conf", f"spark.executorEnv.SPARK_DRIVER_POD_IP={bind}", "--deploy-mode", "client", *args[1:]]
    if args and args[0] == "executor":
        return executor_command(env, java_opts, f"{classpath}:{env.get('SPARK_DIST_CLASSPATH', '')}",
                                "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
                                "--resourceProfileId", env.get("SPARK_RESOURCE_PROFILE_ID", ""),
                                "--podName", env.get("SPARK_EXECUTOR_POD_NAME", ""))
    return list(args)


def executor_command(env: dict[str, str], java_opts: list[str], classpath: str, backend: str,
                     *more: str) -> list[str]:
    """The executor case of Spark's Kubernetes entrypoint: java with the executor's heap, ``backend``
    with the driver, executor, cores, application and host the pod's environment gives, then ``more``."""
    memory = env.get("SPARK_EXECUTOR_MEMORY", "")
    return [f"{env['JAVA_HOME']}/bin/java", *java_opts, f"-Xms{memory}", f"-Xmx{memory}", "-cp", classpath, backend,
            "--driver-url", env.get("SPARK_DRIVER_URL", ""), "--executor-id", env.get("SPARK_EXECUTOR_ID", ""),
            "--cores", env.get("SPARK_EXECUTOR_CORES", ""), "--app-id", env.get("SPARK_APPLICATION_ID", ""),
            "--hostname", env.get("SPARK_EXECUTOR_POD_IP", ""), *more]


def entrypoint_command_24(args: list[str], env: dict[str, str], cwd: str) -> list[str]:
    """The insightedge image's entrypoint for Spark's pods: docker-entrypoint.sh adds
    ``SPARK_DIST_CLASSPATH`` (the InsightEdge jars) to ``SPARK_CLASSPATH`` and runs Spark 2.4's
    Kubernetes entrypoint.sh, whose driver and executor cases these are (without tini)."""
    classpath = f"{env.get('SPARK_CLASSPATH', '')}:{env.get('SPARK_DIST_CLASSPATH', '')}:{env['SPARK_HOME']}/jars/*"
    java_opts = [env[k] for k in sorted((k for k in env if re.fullmatch(r"SPARK_JAVA_OPT_\d+", k)),
                                        key=lambda k: int(k.rsplit("_", 1)[1]))]  # sort -t_ -k4 -n
    if env.get("SPARK_EXTRA_CLASSPATH"):
        classpath = f"{classpath}:{env['SPARK_EXTRA_CLASSPATH']}"
    if args and args[0] == "driver":
        return [f"{env['SPARK_HOME']}/bin/spark-submit", "--conf",
                f"spark.driver.bindAddress={env.get('SPARK_DRIVER_BIND_ADDRESS', '')}", "--deploy-mode", "client",
                *args[1:]]
    if args and args[0] == "executor":
        return executor_command(env, java_opts, classpath, "org.apache.spark.executor.CoarseGrainedExecutorBackend")
    return list(args)


@dataclass(frozen=True)
class ImageProfile:
    """What an emulated image brings: its Spark (a host directory with ``bin`` and ``jars``), where it
    lives, its Java's path, user, working directory, environment and entrypoint, and its extra files
    (path in the image -> key of the built stand-in jars)."""
    spark_home: str
    java_home: str
    user: tuple[str, int]
    group: tuple[str, int]
    workdir: str
    env: dict[str, str]
    entrypoint: Any
    files: dict[str, str]
    dist: Any
    """Where its Spark is on the host: a function returning the directory, or None."""
    owned: str
    """The directory the image gives its user (apache/spark: the work dir; insightedge: GS_HOME, chown -R)."""


APACHE_IMAGE = ImageProfile("/opt/spark", "/opt/java/openjdk", ("spark", SPARK_UID), ("spark", SPARK_UID),
                            IMAGE_WORKDIR, IMAGE_ENV, entrypoint_command, {EXAMPLES_JAR_PATH: "examples"},
                            pyspark_home, IMAGE_WORKDIR)
_S3A = spark_image.definition()
S3A_IMAGE = dataclasses.replace(APACHE_IMAGE, env={**APACHE_IMAGE.env, **_S3A.env},
                                files={**APACHE_IMAGE.files, **{f.path: f.path for f in _S3A.files}})
"""The image built from images/spark/Dockerfile: apache/spark's, with the files (their key is their path)
and the environment it adds."""
INSIGHTEDGE_IMAGE = ImageProfile(
    f"{INSIGHTEDGE_HOME}/insightedge/spark", "/usr/lib/jvm/java-1.8-openjdk", ("gs_user", 1000), ("gs_group", 2000),
    INSIGHTEDGE_HOME,
    {  # ENV of gigaspaces/insightedge-enterprise (Gigaspaces/docker insightedge-enterprise/Dockerfile), less the
       # InsightEdge jars' class path, which are not public; JAVA_HOME is the openjdk 8 base image's
        "PATH": "/usr/lib/jvm/java-1.8-openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "JAVA_HOME": "/usr/lib/jvm/java-1.8-openjdk", "LANG": "C.UTF-8", "GS_HOME": INSIGHTEDGE_HOME,
        "SPARK_HOME": f"{INSIGHTEDGE_HOME}/insightedge/spark", "SPARK_CONF_DIR": f"{INSIGHTEDGE_HOME}/insightedge/spark/conf",
        "SPARK_DIST_CLASSPATH": "", "INSIGHTEDGE_SPACE_NAME": "insightedge-space", "GS_LRMI_PORT": "8200-8299",
    },
    entrypoint_command_24, {INSIGHTEDGE_EXAMPLES_JAR_PATH: "insightedge-examples"}, spark24_home, INSIGHTEDGE_HOME)
"""The insightedge image as emulated: Spark 2.4.8's jars where the image has 2.4.4 with the InsightEdge jars,
the host's JDK 17 where it has Java 8, a stand-in examples jar (tests/cluster/spark/image/)."""


def image_profile(image: str) -> ImageProfile:
    """insightedge's, apache/spark's (the stack's pinned one), or for any other (a team's
    ``sparkImage``, which the stacks set only to the image built from images/spark/Dockerfile) that."""
    if image.startswith("gigaspaces/insightedge-enterprise:"):
        return INSIGHTEDGE_IMAGE
    return APACHE_IMAGE if image == SPARK_IMAGE else S3A_IMAGE


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion of command and args (``$$`` escapes)."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m[0] == "$$" else env.get(m[1], m[0]), text)


# ---------------------------------------------------------------- quantities

def cpu_m(text: Any) -> float:
    text = str(text)
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def memory_mi(text: Any) -> float:
    """A Kubernetes memory quantity, or a JVM size (2g, 512m), in MiB."""
    text = str(text).strip()
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 ** 2, "k": 1000 / 2 ** 20, "M": 1e6 / 2 ** 20,
             "G": 1e9 / 2 ** 20, "g": 1024, "m": 1, "t": 1024 ** 2}
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text)
    if not m:
        raise ValueError(text)
    return float(m[1]) * units[m[2]] if m[2] else float(m[1]) / 2 ** 20


def pod_totals(pod: dict[str, Any], which: str) -> dict[str, float]:
    """Sum over the pod's containers of requests or limits: cpu (m), memory (Mi), GPUs."""
    out = {"cpu": 0.0, "memory": 0.0, "nvidia.com/gpu": 0.0}
    for c in pod["spec"].get("containers") or []:
        values = (c.get("resources") or {}).get(which) or {}
        out["cpu"] += cpu_m(values["cpu"]) if "cpu" in values else 0
        out["memory"] += memory_mi(values["memory"]) if "memory" in values else 0
        out["nvidia.com/gpu"] += float(values.get("nvidia.com/gpu", 0))
    return out



INSIGHTEDGE_SUBMIT = """#!/usr/bin/env bash
# Stand-in for GigaSpaces' insightedge-submit (Spark's spark-submit with the InsightEdge jars on the
# class path): Spark 2.4's own spark-submit, the connector being in the image the pods run.
export SPARK_HOME=__SPARK_HOME__
exec "$SPARK_HOME/bin/spark-submit" "$@"
"""


@dataclass
class PodRun:
    name: str
    role: str
    log: Path
    node: str = ""
    process: Optional[subprocess.Popen] = None
    exit_code: Optional[int] = None
    started: float = 0.0
    ended: float = 0.0
    killed: bool = False
    spec_file: Optional[Path] = None


# ---------------------------------------------------------------- the API server, as a client

class KubeApi:
    """The core API of the control plane over HTTPS with one client certificate (a session per
    thread): what the kubelet and the harness read and write. ``None`` for an object that is not there."""

    def __init__(self, server: str, ca: Path, cert: Path, key: Path):
        self.server, self.ca, self.cert, self.key = server, ca, cert, key
        self.port = int(server.rsplit(":", 1)[1])
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies of the environment would win over verify
            session.cert, session.verify = (str(self.cert), str(self.key)), str(self.ca)
        return session

    @staticmethod
    def path(resource: str, namespace: Optional[str], name: Optional[str] = None, sub: Optional[str] = None) -> str:
        out = "/api/v1" + (f"/namespaces/{namespace}" if namespace else "") + f"/{resource}"
        return out + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")

    def call(self, method: str, path: str, body: Any = None, params: Optional[dict] = None,
             content_type: str = "application/json") -> requests.Response:
        return self._session().request(method, self.server + path, params=params, timeout=60,
                                       data=None if body is None else json.dumps(body),
                                       headers={"Content-Type": content_type})

    def _json(self, response: requests.Response) -> Any:
        if response.status_code >= 400:
            raise ApiRefusal(response.status_code, response.text)
        return response.json()

    def get(self, resource: str, namespace: Optional[str], name: str) -> Optional[dict]:
        response = self.call("GET", self.path(resource, namespace, name))
        return None if response.status_code == 404 else self._json(response)

    def items(self, resource: str, namespace: Optional[str] = None, labels: Optional[str] = None) -> list[dict]:
        params = {"labelSelector": labels} if labels else None
        return self._json(self.call("GET", self.path(resource, namespace), params=params))["items"]

    def create(self, resource: str, namespace: str, obj: dict) -> dict:
        return self._json(self.call("POST", self.path(resource, namespace), obj))

    def update_status(self, namespace: str, name: str, status: dict) -> Optional[dict]:
        """A strategic merge patch of the pod's ``status`` subresource (lists merge by key, as the
        kubelet's patches do); None when the pod is gone."""
        response = self.call("PATCH", self.path("pods", namespace, name, "status"), {"status": status},
                             content_type="application/strategic-merge-patch+json")
        return None if response.status_code == 404 else self._json(response)

    def delete(self, resource: str, namespace: str, name: Optional[str] = None, labels: Optional[str] = None,
               grace: Optional[int] = None) -> None:
        params = {k: v for k, v in (("labelSelector", labels), ("gracePeriodSeconds", grace)) if v is not None}
        response = self.call("DELETE", self.path(resource, namespace, name), params=params)
        if response.status_code != 404:
            self._json(response)

    def token(self, namespace: str, account: str, pod: dict, audience: Optional[str], seconds: int) -> str:
        """A TokenRequest for ``account`` bound to ``pod``, as the kubelet makes for a projected
        ``serviceAccountToken`` source."""
        spec: dict[str, Any] = {"expirationSeconds": seconds, "boundObjectRef": {
            "apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
        if audience:
            spec["audiences"] = [audience]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        return self._json(self.call("POST", self.path("serviceaccounts", namespace, account, "token"),
                                    body))["status"]["token"]


class ApiRefusal(Exception):
    def __init__(self, code: int, text: str):
        super().__init__(f"{code}: {text}")
        self.code, self.text = code, text


# ---------------------------------------------------------------- the kubelet

def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Kubelet:
    """Runs the team's ``spark-role`` pods that the scheduler bound to a node as their containers
    would run, and reports their status; a deleted pod's container is stopped and the pod removed.

    ``api`` is a :class:`KubeApi`. With ``autorun`` false it only records the pods."""

    POLL = 0.2

    def __init__(self, api: KubeApi, namespace: str, root: Path, image_files: dict[str, Path],
                 s3: Optional[S3Emulator], autorun: bool = True, heap_cap: str = "2g"):
        self.api, self.namespace, self.root, self.image_files = api, namespace, root, image_files
        self.s3, self.autorun, self.heap_cap = s3, autorun, heap_cap
        self.runs: dict[str, PodRun] = {}
        self.seen: dict[str, dict] = {}
        """Every pod observed, by name: its first copy (as admitted) and, in :attr:`latest`, its last."""
        self.latest: dict[str, dict] = {}
        self.pending: dict[str, str] = {}
        """Pods the scheduler could not place: name -> its message."""
        self.adjustments: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.removed: set[str] = set()
        self.stopped = False
        self.root.mkdir(parents=True, exist_ok=True)
        self._thread: Optional[threading.Thread] = None
        self.track = ("configmaps", "services")
        self.service_host = "127.0.0.1"
        """Where the pods' hosts file puts ``kubernetes.default.svc``: a :class:`ServicePort`'s address, if any."""
        self.objects: dict[str, dict[str, dict]] = {r: {} for r in self.track}
        """The first copy seen of every ConfigMap and Service of the namespace (the driver deletes its own at the end)."""

    def start(self) -> "Kubelet":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self.stopped:
            try:
                pods = self.api.items("pods", self.namespace, "spark-role")
            except (requests.RequestException, ApiRefusal) as error:
                self.errors.append(f"listing pods: {error}")
                time.sleep(1)
                continue
            for pod in pods:
                self._observe(pod)
            for resource in self.track:
                try:
                    for obj in self.api.items(resource, self.namespace):
                        self.objects[resource].setdefault(obj["metadata"]["name"], obj)
                except (requests.RequestException, ApiRefusal) as error:
                    self.errors.append(f"listing {resource}: {error}")
            time.sleep(self.POLL)

    def _observe(self, pod: dict) -> None:
        meta, name = pod["metadata"], pod["metadata"]["name"]
        with self.lock:
            self.seen.setdefault(name, pod)
            self.latest[name] = pod
            run = self.runs.get(name)
            if meta.get("deletionTimestamp"):
                if run is not None and run.exit_code is None:
                    if not run.killed:
                        run.killed = True
                        grace = min(5, pod["spec"].get("terminationGracePeriodSeconds", 30))
                        threading.Thread(target=self._kill, args=(run, grace), daemon=True).start()
                elif name not in self.removed:
                    self.removed.add(name)
                    threading.Thread(target=self._remove, args=(pod,), daemon=True).start()
                return
            if not pod["spec"].get("nodeName"):
                for c in (pod.get("status") or {}).get("conditions") or []:
                    if c["type"] == "PodScheduled" and c["status"] == "False" and c.get("reason") == "Unschedulable":
                        self.pending[name] = c.get("message", "")
                return
            if self.autorun and run is None:
                self.pending.pop(name, None)
                self.start_pod(pod, pod["spec"]["nodeName"])

    def start_pod(self, pod: dict, node: str) -> None:
        name = pod["metadata"]["name"]
        self.runs[name] = PodRun(name, pod["metadata"].get("labels", {}).get("spark-role", "?"),
                                 self.root / f"{name}.log", node)
        threading.Thread(target=self._run_pod, args=(pod,), daemon=True).start()

    def _remove(self, pod: dict) -> None:
        """The kubelet's last step for a deleted pod whose containers ended: delete it for good."""
        try:
            self.api.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], grace=0)
        except (requests.RequestException, ApiRefusal) as error:
            self.errors.append(f"removing {pod['metadata']['name']}: {error}")

    # -- the pod's environment, volumes and container
    def _cluster_hosts(self, namespace: str) -> Path:
        """The JVMs' name resolution (jdk.net.hosts.file): Services and pods of the namespace on 127.0.0.1,
        ``kubernetes.default.svc`` on :attr:`service_host`."""
        service = {"kubernetes.default.svc", "kubernetes.default"}
        names = {"localhost", os.uname().nodename} | (service if self.service_host == "127.0.0.1" else set())
        for svc in self.api.items("services", namespace):
            n = svc["metadata"]["name"]
            names |= {n, f"{n}.{namespace}", f"{n}.{namespace}.svc", f"{n}.{namespace}.svc.cluster.local"}
        names |= {p["metadata"]["name"] for p in self.api.items("pods", namespace)}
        hosts = self.root / f"hosts-{namespace}-{time.monotonic_ns()}"
        hosts.write_text("127.0.0.1 " + " ".join(sorted(names)) + "\n" + (
            "" if self.service_host == "127.0.0.1" else f"{self.service_host} " + " ".join(sorted(service)) + "\n"))
        return hosts

    def _fields(self, pod: dict) -> dict[str, str]:
        meta, spec = pod["metadata"], pod["spec"]
        return {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"], "metadata.uid": meta["uid"],
                "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1", "spec.nodeName": spec.get("nodeName", ""),
                "spec.serviceAccountName": spec.get("serviceAccountName", "default")}

    def _resolve_env(self, pod: dict, container: dict) -> dict[str, str]:
        env: dict[str, str] = {}
        meta, fields = pod["metadata"], self._fields(pod)
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = expand(str(item["value"]), env)
            elif "fieldRef" in item.get("valueFrom", {}):
                env[item["name"]] = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
            elif "configMapKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["configMapKeyRef"]
                cm = self.api.get("configmaps", meta["namespace"], ref["name"]) or {}
                env[item["name"]] = (cm.get("data") or {}).get(ref["key"], "")
            else:
                self.errors.append(f"{meta['name']}: env {item['name']} source not emulated: {item}")
        return env

    def _config_map(self, namespace: str, source: dict) -> dict[str, str]:
        """The data of a configMap volume or projection; the kubelet retries until the ConfigMap exists."""
        cm = None
        for _ in range(300):
            cm = self.api.get("configmaps", namespace, source["name"])
            if cm is not None or source.get("optional"):
                break
            time.sleep(0.1)
        if cm is None and not source.get("optional"):
            raise RuntimeError(f"configMap {source['name']} not found")
        data = (cm or {}).get("data") or {}
        return {item["path"]: data[item["key"]] for item in source.get("items") or [{"key": k, "path": k} for k in data]}

    @staticmethod
    def _write_files(path: Path, files: dict[str, str], mode: int, fs_group: Optional[int]) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(mode)
            if fs_group is not None:
                os.chown(target, 0, fs_group)

    def _projected(self, pod: dict, volume: dict, path: Path, fs_group: Optional[int]) -> None:
        """A projected volume (the ServiceAccount admission plugin's kube-api-access-*: a bound token,
        the namespace's kube-root-ca.crt, the namespace from the downward API)."""
        meta, spec, fields = pod["metadata"], pod["spec"], self._fields(pod)
        files: dict[str, str] = {}
        for source in volume["projected"]["sources"]:
            if "serviceAccountToken" in source:
                token = source["serviceAccountToken"]
                files[token["path"]] = self.api.token(meta["namespace"], spec.get("serviceAccountName", "default"), pod,
                                                      token.get("audience"), token.get("expirationSeconds", 3600))
            elif "configMap" in source:
                files.update(self._config_map(meta["namespace"], source["configMap"]))
            elif "downwardAPI" in source:
                for item in source["downwardAPI"]["items"]:
                    files[item["path"]] = fields[item["fieldRef"]["fieldPath"]]
            else:
                self.errors.append(f"{meta['name']}: projection {sorted(source)} of {volume['name']} not emulated")
        self._write_files(path, files, volume["projected"].get("defaultMode", 0o644), fs_group)

    def _volumes(self, pod: dict, sandbox: Path) -> dict[str, Path]:
        """Each volume's directory on the host, prepared as the kubelet would (fsGroup ownership included)."""
        spec, meta = pod["spec"], pod["metadata"]
        fs_group = (spec.get("securityContext") or {}).get("fsGroup")
        out: dict[str, Path] = {}
        for vol in spec.get("volumes") or []:
            path = sandbox / "volumes" / vol["name"]
            if "emptyDir" in vol:
                path.mkdir(parents=True, exist_ok=True)
                if fs_group is not None:
                    os.chown(path, 0, fs_group)
                path.chmod(0o2777 if fs_group is not None else 0o777)
            elif "configMap" in vol:
                src = vol["configMap"]
                files = self._config_map(meta["namespace"], src)
                modes = {i["path"]: i["mode"] for i in src.get("items") or [] if "mode" in i}
                path.mkdir(parents=True, exist_ok=True)
                for name, text in files.items():
                    self._write_files(path, {name: text}, modes.get(name, src.get("defaultMode", 0o644)), fs_group)
            elif "projected" in vol:
                self._projected(pod, vol, path, fs_group)
            elif "persistentVolumeClaim" in vol:
                claim = vol["persistentVolumeClaim"]["claimName"]
                if self.api.get("persistentvolumeclaims", meta["namespace"], claim) is None:
                    raise RuntimeError(f'persistentvolumeclaim "{claim}" not found')
                path = self.root / "volumes" / meta["namespace"] / claim  # the claim's volume, shared by pods
                if not path.exists():
                    path.mkdir(parents=True)
                    if fs_group is not None:  # block volumes (EBS) get the pod's fsGroup
                        os.chown(path, 0, fs_group)
                    path.chmod(0o2775 if fs_group is not None else 0o777)
            else:
                self.errors.append(f"{meta['name']}: volume {vol['name']} type not emulated: {sorted(vol)}")
            out[vol["name"]] = path
        return out

    def container_spec(self, pod: dict) -> dict[str, Any]:
        """Everything the in-namespace launcher needs (see :mod:`tests.support.pod_exec`)."""
        meta, spec = pod["metadata"], pod["spec"]
        role = meta.get("labels", {}).get("spark-role", "")
        container = spec["containers"][0]
        sandbox = self.root / meta["name"]
        volumes = self._volumes(pod, sandbox)
        mounts = [{"path": m["mountPath"], "source": str(volumes[m["name"]]), "readOnly": bool(m.get("readOnly")),
                   "subPath": m.get("subPath")} for m in container.get("volumeMounts") or []]
        image = image_profile(container["image"])
        env = {**image.env, "HOSTNAME": meta["name"], "KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(self.api.port), "KUBERNETES_SERVICE_PORT_HTTPS": str(self.api.port),
               **self._resolve_env(pod, container)}
        tool_opts = [f"-Djdk.net.hosts.file={CLUSTER_HOSTS}"]
        if role == "driver":  # the API's port: not 443 here (cluster-mode drivers use spark.kubernetes.driver.master)
            tool_opts.append(f"-Dspark.kubernetes.driver.master=https://kubernetes.default.svc:{self.api.port}")
        if role == "executor" and env.get("SPARK_EXECUTOR_MEMORY") and \
                memory_mi(env["SPARK_EXECUTOR_MEMORY"]) > memory_mi(self.heap_cap):
            self.adjustments.append(f"{meta['name']}: SPARK_EXECUTOR_MEMORY {env['SPARK_EXECUTOR_MEMORY']} "
                                    f"-> {self.heap_cap} (node memory)")
            env["SPARK_EXECUTOR_MEMORY"] = self.heap_cap
        if self.s3 is not None:  # S3 is the emulator: its address and its credentials, nothing else
            tool_opts += self.s3.java_options()
            env.update(self.s3.credentials())
        env["JAVA_TOOL_OPTIONS"] = " ".join(tool_opts)
        pod_sc, c_sc = spec.get("securityContext") or {}, container.get("securityContext") or {}
        uid = c_sc.get("runAsUser", pod_sc.get("runAsUser", image.user[1]))  # the image's USER
        gid = c_sc.get("runAsGroup", pod_sc.get("runAsGroup", image.group[1]))
        groups = sorted({gid, *([pod_sc["fsGroup"]] if "fsGroup" in pod_sc else []),
                         *pod_sc.get("supplementalGroups", [])})
        cwd = container.get("workingDir") or image.workdir
        if container.get("command"):
            command = [expand(a, env) for a in container["command"] + (container.get("args") or [])]
        else:
            command = image.entrypoint([expand(a, env) for a in container.get("args") or []], env, cwd)
        missing = sorted(key for key in image.files.values() if key not in self.image_files)
        if missing:
            self.errors.append(f"{meta['name']}: the image's files {missing} are not here "
                               "(python -m tests.support.spark_image downloads them)")
        image_files = {path: str(self.image_files[key]) for path, key in image.files.items() if key in self.image_files}
        gpu = "nvidia.com/gpu" in ((container.get("resources") or {}).get("limits") or {})
        return {"name": meta["name"], "sandbox": str(sandbox), "env": env, "command": command, "cwd": cwd,
                "uid": uid, "gid": gid, "groups": groups, "mounts": mounts,
                "readOnlyRoot": bool(c_sc.get("readOnlyRootFilesystem")),
                "noNewPrivs": c_sc.get("allowPrivilegeEscalation") is False,
                "gpu": gpu, "spark": {"home": image.spark_home, "dist": str(image.dist())}, "jdk": str(jdk_home()),
                "javaHome": image.java_home, "user": [*image.user, *image.group], "owned": image.owned,
                "imageFiles": image_files,
                "clusterHosts": str(self._cluster_hosts(meta["namespace"]))}

    # -- running it
    def _status(self, pod: dict, phase: str, state: dict, ready: bool, **more: Any) -> dict:
        container = pod["spec"]["containers"][0]
        conditions = [{"type": t, "status": "True" if ok else "False", "lastTransitionTime": _now()} for t, ok in (
            ("PodReadyToStartContainers", True), ("Initialized", True), ("ContainersReady", ready),
            ("Ready", ready), ("PodScheduled", True))]
        return {"phase": phase, "conditions": conditions, "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
                "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}], **more,
                "containerStatuses": [{"name": container["name"], "image": container["image"],
                                       "imageID": container["image"], "ready": ready, "started": ready,
                                       "restartCount": 0, "state": state}]}

    def _report(self, pod: dict, status: dict) -> None:
        try:
            self.api.update_status(pod["metadata"]["namespace"], pod["metadata"]["name"], status)
        except (requests.RequestException, ApiRefusal) as error:
            self.errors.append(f"{pod['metadata']['name']}: status not reported: {error}")

    def _run_pod(self, pod: dict) -> None:
        run = self.runs[pod["metadata"]["name"]]
        name = pod["metadata"]["name"]
        try:
            spec = self.container_spec(pod)
        except Exception as error:  # the pod cannot start: say why, as a kubelet event would
            if isinstance(error, ApiRefusal) and error.code == 404 and self.api.get("pods", pod["metadata"]["namespace"], name) is None:
                # deleted before it started (a driver removing an executor that waited for room):
                # its token request finds no pod, and a kubelet has nothing to run or report
                run.exit_code = -1
                return
            self.errors.append(f"{name}: {error}")
            run.exit_code = -1
            self._report(pod, {"phase": "Failed", "reason": "CreateContainerConfigError", "message": str(error)})
            return
        run.spec_file = Path(spec["sandbox"]) / "container.json"
        run.spec_file.write_text(json.dumps(spec, indent=1))
        with open(run.log, "w") as log:
            run.started = time.time()
            run.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--", sys.executable, str(POD_EXEC),
                 str(run.spec_file)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self._report(pod, self._status(pod, "Running", {"running": {"startedAt": _now()}}, True,
                                           startTime=_now()))
            code = run.process.wait()
        run.ended = time.time()
        self._report(pod, self._status(pod, "Succeeded" if code == 0 else "Failed", {"terminated": {
            "exitCode": code, "reason": "Completed" if code == 0 else "Error", "finishedAt": _now()}}, False))
        run.exit_code = code
        if run.killed:
            with self.lock:
                self.removed.add(name)
            self._remove(pod)

    def _kill(self, run: PodRun, grace: float = 5.0) -> None:
        """A deleted pod's container gets SIGTERM, then SIGKILL after the grace period (shortened here)."""
        for _ in range(50):
            if run.process is not None or run.exit_code is not None:
                break
            time.sleep(0.1)
        if run.process is None or run.process.poll() is not None:
            return
        run.killed = True
        os.killpg(run.process.pid, signal.SIGTERM)
        try:
            run.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.autorun = False
        self.stopped = True
        if self._thread is not None:
            self._thread.join(5)
        for run in list(self.runs.values()):
            if run.process is not None and run.process.poll() is None:
                os.killpg(run.process.pid, signal.SIGKILL)
                run.process.wait()


# ---------------------------------------------------------------- the in-cluster API address

class ServicePort:
    """The API server's Service port as an in-cluster client dials it: 443 forwarded to the API server
    on 127.0.0.1. Spark 2.4's driver dials ``https://kubernetes.default.svc`` with no port (its master URL
    is fixed; Spark 3 added ``spark.kubernetes.driver.master``). It listens on a loopback address of its
    own (:attr:`host`, a free 127.0.x.y, never 127.0.0.1: another run on the machine may hold its 443),
    which the pods' hosts file gives ``kubernetes.default.svc``."""

    def __init__(self, target_port: int, port: int = 443):
        self.target = target_port
        self.server = self._listen(port)
        self.host = self.server.getsockname()[0]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        """A listening socket on the first free 127.0.x.y (x, y from the process id, then onwards)."""
        start = os.getpid() % 250
        for i in range(250 * 250):
            x, y = divmod((start * 250 + i) % (250 * 250), 250)
            try:
                return socket.create_server((f"127.0.{x}.{y + 2}", port))
            except OSError:
                continue
        raise OSError(f"no loopback address has port {port} free")

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for end in (src, dst):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        try:  # wakes the accepting thread; close() alone leaves the socket listening while it waits
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        for conn in self.open:
            conn.close()


# ---------------------------------------------------------------- the control plane of a stack

def spark_plane(name: str, directory: Path, bin_dir: Path):
    """A control plane with stack ``name``'s nodes and every object it applies; KWOK leaves the
    status of ``spark-role`` pods to :class:`Kubelet`."""
    from tests.support import live

    stack = live.start(name, directory, bin_dir, own_pods="spark-role")
    try:
        live.apply_stack(stack)
        kube = stack.kube
        for team in stack.spec.teams:  # the root CA publisher and the token controller reach the namespace
            kube.wait_for(f"kube-root-ca.crt in {team.name}", lambda: kube.run(
                "get", "configmap", "kube-root-ca.crt", "-n", team.name, check=False).returncode == 0)
    except BaseException:
        stack.plane.stop()
        raise
    return stack


class Planes:
    """One control plane at a time, for the stack a test asks for (tests are grouped by stack)."""

    def __init__(self, factory, bin_dir: Path):
        self.factory, self.bin_dir = factory, bin_dir
        self.current = None

    def __call__(self, name: str):
        if self.current is not None and self.current.name != name:
            self.close()
        if self.current is None:
            self.current = spark_plane(name, self.factory.mktemp(f"control-plane-{name}"), self.bin_dir)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.plane.stop()
            self.current = None


def submitter(objects: list[dict[str, Any]], team: str) -> tuple[str, list[str]]:
    """Who submits the team's jobs, as the stack binds them: a member of the group (mode eks) or
    the user (mode existing) of its ``edit`` RoleBinding; where the stack binds nobody, kind's admin
    (``kubernetes-admin`` in ``system:masters``, what kind's kubeconfig holds)."""
    for binding in objects:
        if binding["kind"] == "RoleBinding" and binding["metadata"].get("namespace") == team \
                and binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}:
            subject = binding["subjects"][0]
            if subject["kind"] == "Group":
                return f"{team}-member@example.com", [subject["name"]]
            return subject["name"], []
    return "kubernetes-admin", ["system:masters"]


def user_credentials(pki: Path, directory: Path, user: str, groups: list[str], rsa_key: bool = False) -> dict[str, str]:
    """A kubeconfig user entry with a client certificate for ``user`` in ``groups`` from the plane's
    CA. The key is written as SEC1 (``EC PRIVATE KEY``): fabric8, Spark's client, reads a PKCS#8 key
    as RSA unless the PEM header says EC (with PKCS#8 it fails: "Invalid DER: object is not integer").
    ``rsa_key``: an RSA key (PKCS#1, ``RSA PRIVATE KEY``, as kubeadm and kind write them), for Spark 2.4:
    its fabric8 (4.6.1) reads EC keys only with BouncyCastle, which Spark 2.4 does not ship ("JcaPEMKeyConverter
    is provided by BouncyCastle, an optional dependency. To use support for EC Keys you must explicitly add
    this dependency to classpath")."""
    from tests.support.cluster_pki import Authority

    assert len(groups) <= 1, groups  # Authority.issue writes one organization (O=, the group)
    pair = Authority.load(pki).issue(f"user-{re.sub(r'[^A-Za-z0-9.-]', '-', user)}", user,
                                     groups[0] if groups else None, rsa_key=rsa_key)
    key = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
    sec1 = directory / "user.key"
    sec1.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    sec1.chmod(0o600)
    return {"client-certificate": str(pair.cert), "client-key": str(sec1)}


AUDIT_STAGES = ("ResponseComplete", "ResponseStarted", "Panic")


def audit_entries(log: Path, offset: int) -> list[dict]:
    """The audit log's events written after ``offset``, one per request (a watch's first stage)."""
    out, ids = [], set()
    with open(log, "rb") as handle:
        handle.seek(offset)
        for line in handle.read().splitlines():
            event = json.loads(line)
            if event.get("stage") in AUDIT_STAGES and event["auditID"] not in ids:
                ids.add(event["auditID"])
                out.append(event)
    return out


def audit_call(event: dict) -> tuple[str, str]:
    """(verb, resource) of an audit event; a subresource as ``pods/status``."""
    ref = event.get("objectRef") or {}
    resource = ref.get("resource", "")
    return event["verb"], f"{resource}/{ref['subresource']}" if ref.get("subresource") else resource


class Cluster:
    """One case on the plane of its stack: the team's namespace cleared of earlier Spark objects, the
    kubelet, the submitting user's credentials; :meth:`stop` records what the server holds."""

    def __init__(self, stack, inputs: StackInputs, team: str, root: Path, image_files: dict[str, Path], full: bool,
                 s3_keys: Optional[list[tuple[str, str]]] = None, rsa_key: bool = False):
        self.stack, self.inputs, self.team, self.root = stack, inputs, team, root
        plane = stack.plane
        self.plane, self.pki, self.ca = plane, plane.pki, plane.pki / "ca.crt"
        self.api = KubeApi(plane.server, self.ca, self.pki / "admin.crt", self.pki / "admin.key")
        self.rendered = {(o["kind"], o["metadata"]["name"]) for o in inputs.objects
                         if o.get("metadata", {}).get("namespace") == team}
        self.clear()
        self.audit_offset = plane.audit_log.stat().st_size
        self.user, self.groups = submitter(inputs.objects, team)
        self.credentials = user_credentials(self.pki, root, self.user, self.groups, rsa_key)
        s3 = None
        team_spec = next(t for t in inputs.spec.teams if t.name == team)
        if inputs.spec.is_eks and team_spec.s3_access:
            # the team's buckets exist; their prefixes hold only the objects the stack creates
            s3 = S3Emulator(inputs.spec.region).start(
                [location.removeprefix("s3://").split("/")[0] for location in team_spec.s3_access], s3_keys or [])
        self.s3 = s3
        self.s3_objects: list[tuple[str, str]] = []
        """What the S3 emulator held when the case ended: (bucket, key)."""
        self.history_apps: Optional[list[dict]] = None
        """What the team's history server listed, when the case ran it (:func:`history_applications`)."""
        self.history_pod: Optional[str] = None
        """The history server's pod, which the test (as the cluster's admin) created."""
        self.kubelet = Kubelet(self.api, team, root / "node", image_files, s3, autorun=full).start()
        self.created: dict[str, list[dict]] = {}
        self.quota: Optional[dict] = None
        self.audit: list[dict] = []
        self.left: list[dict] = []
        """The Spark pods still in the namespace when the case ended (before they are cleared)."""
        self.nodes: dict[str, dict] = {}

    def user_api(self) -> KubeApi:
        """The API as the submitting user (its client certificate)."""
        return KubeApi(self.plane.server, self.ca, Path(self.credentials["client-certificate"]),
                       Path(self.credentials["client-key"]))

    def _spark_made(self, resource: str, obj: dict) -> bool:
        kind = {"configmaps": "ConfigMap", "services": "Service"}[resource]
        return (kind, obj["metadata"]["name"]) not in self.rendered and obj["metadata"]["name"] != "kube-root-ca.crt"

    def spark_objects(self, resource: str) -> list[dict]:
        """ConfigMaps or Services of the namespace that the stack did not create (nor Kubernetes)."""
        return [o for o in self.api.items(resource, self.team) if self._spark_made(resource, o)]

    def clear(self, timeout: float = 60) -> None:
        """Removes what Spark left in the namespace (pods at once: no kubelet finishes them here)."""
        self.api.delete("pods", self.team, labels="spark-role", grace=0)
        for resource in ("configmaps", "services"):
            for obj in self.spark_objects(resource):
                self.api.delete(resource, self.team, obj["metadata"]["name"])
        deadline = time.monotonic() + timeout
        while self.api.items("pods", self.team, "spark-role") and time.monotonic() < deadline:
            time.sleep(0.2)

    def audit_since_start(self) -> list[dict]:
        return audit_entries(self.plane.audit_log, self.audit_offset)

    def stop(self) -> None:
        self.kubelet.stop()
        if self.s3 is not None:
            self.s3_objects = self.s3.objects()
            self.s3.stop()
        for resource in self.kubelet.track:  # what the kubelet saw, and what is there now
            for obj in self.spark_objects(resource):
                self.kubelet.objects[resource].setdefault(obj["metadata"]["name"], obj)
        self.created = {r: [o for o in self.kubelet.objects[r].values() if self._spark_made(r, o)]
                        for r in self.kubelet.track}
        self.created["pods"] = list(self.kubelet.seen.values())
        self.left = self.api.items("pods", self.team, "spark-role")
        self.nodes = {n["metadata"]["name"]: n for n in self.api.items("nodes")}
        (self.quota,) = self.api.items("resourcequotas", self.team)
        self.audit = self.audit_since_start()
        (self.root / "audit.json").write_text(json.dumps(self.audit, indent=1))
        self.clear()


# ---------------------------------------------------------------- one case

SPARK_USERS = ("spark-driver", "spark-executor")


@dataclass
class CaseResult:
    stack: str
    team: str
    kind: str
    full: bool
    command: str
    fetch: Optional[subprocess.CompletedProcess]
    submit_code: Optional[int]
    submit_log: str
    cluster: Cluster
    workspace: Optional[Workspace]
    timings: dict[str, float]

    @property
    def kubelet(self) -> Kubelet:
        return self.cluster.kubelet

    def log(self, role: str) -> str:
        return "\n".join(r.log.read_text(errors="replace") for r in self.kubelet.runs.values()
                         if r.role == role and r.log.exists())

    def created(self, resource: str) -> list[dict]:
        """What the clients created in the team's namespace, as the API server admitted it."""
        return self.cluster.created[resource]

    def pods(self, role: str) -> list[dict]:
        return [p for p in self.created("pods") if p["metadata"].get("labels", {}).get("spark-role") == role]

    def node(self, name: str) -> dict:
        return self.cluster.nodes[name]

    def node_of(self, pod: str) -> Optional[dict]:
        """The node the scheduler bound ``pod`` to (its last copy seen), or None."""
        name = (self.kubelet.latest.get(pod) or {}).get("spec", {}).get("nodeName")
        return self.cluster.nodes.get(name) if name else None

    def audit(self, user: Optional[str] = None) -> list[dict]:
        """The audit log's entries of the case (of ``user``)."""
        return [e for e in self.cluster.audit if user is None or e["user"]["username"] == user]

    def account(self, name: str) -> str:
        return f"system:serviceaccount:{self.team}:{name}"

    def rbac_checked(self, role: dict, *refusals_of: str) -> set[tuple[str, str]]:
        """The driver's calls, checked: nothing was refused (403) to ``refusals_of`` (everyone when
        none is named), the driver's calls are within ``role``, and the driver's and the
        submitting user's calls stayed in the team's namespace (kubectl's discovery aside)."""
        driver, user = self.account("spark-driver"), self.cluster.user
        refused = self.refused(*refusals_of)
        assert not refused, [(e["user"]["username"], e["verb"], e["requestURI"]) for e in refused]
        driver_calls, allowed = self.driver_calls(), granted(role)
        assert driver_calls <= allowed, driver_calls - allowed
        for event in self.audit(driver) + self.audit(user):
            if "objectRef" in event:
                assert event["objectRef"].get("namespace") == self.team, event["requestURI"]
            else:  # kubectl's API discovery
                assert event["verb"] == "get" and re.fullmatch(r"/(api|apis)(\?.*)?", event["requestURI"]), event
        return driver_calls

    def pod_admissions(self, enforce: str) -> list[dict[str, str]]:
        """The audit annotations of every pod the case created in the team's namespace, each
        checked to have been admitted (201) by Pod Security enforcing ``enforce``."""
        creates = [e for e in self.audit() if audit_call(e) == ("create", "pods")
                   and e["objectRef"].get("namespace") == self.team]
        assert {e["objectRef"]["name"] for e in creates} == {p["metadata"]["name"] for p in self.created("pods")}
        annotations = []
        for event in creates:
            found = event.get("annotations") or {}
            assert event["responseStatus"]["code"] == 201, event
            assert found["pod-security.kubernetes.io/enforce-policy"].startswith(enforce + ":"), found
            annotations.append(found)
        return annotations

    def driver_calls(self) -> set[tuple[str, str]]:
        """(verb, resource) of every call made with a driver's own token."""
        return {audit_call(e) for e in self.audit(self.account("spark-driver"))}

    def refused(self, *users: str) -> list[dict]:
        """Entries the server answered 403 (of ``users``)."""
        return [e for e in self.cluster.audit if (e.get("responseStatus") or {}).get("code") == 403
                and (not users or e["user"]["username"] in users)]


def submit_case(stack, inputs: StackInputs, team: str, kind: str, base: Path, image_files: dict[str, Path],
                full: bool = True, timeout: float = 240, s3_keys: Optional[list] = None,
                history: Optional[list[dict]] = None) -> CaseResult:
    """Fetch the team's files and submit its ``kind`` job with the printed commands, as printed, to
    ``stack`` (a :func:`spark_plane`).

    ``full``: the kubelet runs the driver and executor pods and the submit waits for the app
    to finish. Otherwise nothing runs and the submit is ended once Spark has created the driver
    pod, its Service and ConfigMaps and watches the pod (the submit's whole part).
    ``history``: the team's history server objects (its ServiceAccount and Deployment); after
    the job, :func:`history_applications` runs it and records what it lists.
    """
    out = inputs.spark[team]
    if kind == "insightedge":
        command, spark24 = out["insightedge"]["submit"], spark24_home()
    else:
        command, spark24 = out["sparkSubmitGpu" if kind == "gpu" else "sparkSubmitCpu"], None
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster = Cluster(stack, inputs, team, base, image_files, full, s3_keys, rsa_key=spark24 is not None)
    service_port = ServicePort(cluster.api.port) if full and kind == "insightedge" else None
    if service_port is not None:
        cluster.kubelet.service_host = service_port.host
    timings: dict[str, float] = {}
    ws = None
    try:
        context = inputs.spec.cluster.context
        ws = Workspace(base / "ws", cluster.plane.server, cluster.ca, cluster.credentials,
                       cluster.plane.bin / "kubectl", context=context or "kubegrid",
                       current="elsewhere" if context else None, spark24=spark24)
        t0 = time.time()
        fetch = ws.run(out["fetchFiles"])
        timings["fetch"] = time.time() - t0
        t0 = time.time()
        process = ws.start(command, base / "submit.log")
        if full:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            deadline = time.time() + timeout
            while time.time() < deadline and process.poll() is None and not any(
                    audit_call(e) == ("watch", "pods") for e in cluster.audit_since_start()
                    if e["user"]["username"] == cluster.user):
                time.sleep(0.2)
            time.sleep(Kubelet.POLL * 2)  # the kubelet's next look records the pods as they are
        code = process.poll()
        if code is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        timings["submit"] = time.time() - t0
        _wait_pods_end(cluster.kubelet, 30)
        if history:
            t0 = time.time()
            cluster.history_apps = history_applications(cluster, history)
            timings["history"] = time.time() - t0
        for run in cluster.kubelet.runs.values():
            if run.ended:
                timings[f"pod:{run.role}:{run.name}"] = run.ended - run.started
    finally:
        cluster.stop()
        if service_port is not None:
            service_port.close()
    return CaseResult(inputs.name, team, kind, full, command, fetch, code,
                      (base / "submit.log").read_text(errors="replace"), cluster, ws, timings)


HISTORY_ROLE = "history-server"
"""The ``spark-role`` label the test gives the history server's pod: KWOK leaves such pods to
:class:`Kubelet`, which runs them (Spark itself labels only drivers and executors)."""


def history_applications(cluster: "Cluster", objects: list[dict], timeout: float = 150) -> list[dict]:
    """Runs the team's history server as the stack makes it: its ServiceAccount, and a pod of its
    Deployment's template (admitted, scheduled and run like the Spark pods), then asks its REST API
    (``/api/v1/applications``) until it lists an application; returns the list ([] at timeout)."""
    account = next(o for o in objects if o["kind"] == "ServiceAccount")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    namespace = deployment["metadata"]["namespace"]
    template = deployment["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": template["spec"],
           "metadata": {"name": f"{deployment['metadata']['name']}-0", "namespace": namespace,
                        "labels": {**template["metadata"]["labels"], "spark-role": HISTORY_ROLE}}}
    cluster.api.create("serviceaccounts", namespace, account)
    cluster.api.create("pods", namespace, pod)
    cluster.history_pod = pod["metadata"]["name"]
    port = next(p["containerPort"] for p in template["spec"]["containers"][0]["ports"] if p["name"] == "http")
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            try:
                listed = requests.get(f"http://127.0.0.1:{port}/api/v1/applications", timeout=5)
                if listed.status_code == 200 and listed.json():
                    return listed.json()
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(1)
        return []
    finally:
        cluster.api.delete("pods", namespace, pod["metadata"]["name"], grace=5)
        deadline = time.time() + 30
        while time.time() < deadline and cluster.api.get("pods", namespace, pod["metadata"]["name"]) is not None:
            time.sleep(0.2)
        cluster.api.delete("serviceaccounts", namespace, account["metadata"]["name"])


def _wait_pods_end(kubelet: Kubelet, timeout: float) -> None:
    """Until the executors' containers have ended and their deleted pods are gone."""
    deadline = time.time() + timeout
    while time.time() < deadline and (
            any(r.process is not None and r.process.poll() is None for r in kubelet.runs.values() if r.role == "executor")
            or any(p["metadata"].get("deletionTimestamp") for p in kubelet.api.items("pods", kubelet.namespace,
                                                                                 "spark-role"))):
        time.sleep(0.2)


def notebook_case(stack, inputs: StackInputs, team: str, pod: dict[str, Any], base: Path,
                  image_files: dict[str, Path], timeout: float = 240, s3_keys: Optional[list] = None) -> CaseResult:
    """A notebook pod of the team's namespace whose Spark runs in client mode: the pod is created
    by the team's member (as ``kubectl apply`` would) and runs until its job ends."""
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster = Cluster(stack, inputs, team, base, image_files, True, s3_keys)
    timings: dict[str, float] = {}
    name = pod["metadata"]["name"]
    refusal = None
    try:
        t0 = time.time()
        try:
            cluster.user_api().create("pods", team, pod)
        except ApiRefusal as error:
            refusal = error
        deadline = time.time() + timeout
        while refusal is None and time.time() < deadline:
            run = cluster.kubelet.runs.get(name)
            if run is not None and run.exit_code is not None:
                break
            if name in cluster.kubelet.pending:
                break
            time.sleep(0.2)
        timings["notebook"] = time.time() - t0
        _wait_pods_end(cluster.kubelet, 30)
    finally:
        cluster.stop()
    run = cluster.kubelet.runs.get(name)
    log = run.log.read_text(errors="replace") if run and run.log.exists() else str(refusal or "")
    return CaseResult(inputs.name, team, "notebook", True, " ".join(pod["spec"]["containers"][0].get("args") or []),
                      None, run.exit_code if run else None, log, cluster, None, timings)
