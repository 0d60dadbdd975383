"""Runs a stack's printed Spark commands for real (pyspark's spark-submit, Java 17) against
:mod:`tests.support.kube_standin`, and runs the pods Spark creates as their containers would.

Pieces:

- :func:`stack_inputs`: a stack's rendered objects (``components.offline.render.render_stack``)
  and its ``spark`` stack output (``components.offline.mock_run.run_program``), the public paths.
- :class:`Workspace`: the submitting user's machine: a kubeconfig naming the stand-in, a fake
  ``kubectl`` first on PATH (only the forms the printed commands use, answered from the
  rendered objects), pyspark's ``spark-submit`` next. Printed commands run unchanged with ``bash -c``.
- :class:`Cluster`: the cluster after ``pulumi up``: the stand-in loaded with the team's rendered
  objects, RBAC from the rendered Roles and RoleBindings (a call a Role does not allow is answered
  403, as the API server would), admission (API defaulting of requests from limits, the
  LimitRange's defaults, the ResourceQuota: a pod beyond it is refused 403 "exceeded quota"), a
  scheduler, and the :class:`Kubelet`.
- :class:`Kubelet`: runs every pod the scheduler places as its container would run (see
  :mod:`tests.support.pod_exec`: the image's root read-only, the pod's volumes, uid 185 via
  ``setpriv`` in ``unshare --mount``), runs the image's entrypoint (:func:`entrypoint_command`),
  reports pod status to the stand-in, kills the container of a deleted pod.

The emulated cluster (not what the stack or Spark generate; see docs/spark.md, "How the tests run Spark"):

- nodes: in mode eks one node per node pool (its allocatable resources less the stack's
  DaemonSets' requests, from ``components.cluster.spark.sizing``) for executors, and a separate
  one for drivers and other pods; the Cluster Autoscaler that would add nodes is not emulated, so
  a pod that fits no node stays Pending (``Unschedulable``), as it would until a node is added.
  In mode existing the stack knows no nodes: one node takes every pod.
- the image (:class:`ImageProfile`, by the container's image): for ``apache/spark``, ``/opt/spark``
  from pyspark 4.0.1, the host's JDK 17, ``spark:185`` in /etc/passwd; the examples jar is a small
  SparkPi of our own (tests/cluster/spark/image/, same class, argument and output line); the S3A
  connector is a stand-in (same class name) keeping objects in a directory of the emulated cluster;
  GPU containers get a stand-in ``nvidia-smi``. For ``gigaspaces/insightedge-enterprise``, Spark
  2.4.8 (tests/support/spark24.py) as ``$GS_HOME/insightedge/spark``, the host's JDK 17 where the
  image has Java 8, ``gs_user:1000`` in ``gs_group:2000`` owning ``GS_HOME``, Spark 2.4's
  entrypoint, and a stand-in of GigaSpaces' SaveRdd example;
- cluster DNS: JVMs get ``-Djdk.net.hosts.file`` (``JAVA_TOOL_OPTIONS``) mapping the namespace's
  Services and pods to 127.0.0.1 (one network namespace: every pod IP is 127.0.0.1);
- the in-cluster API address: Spark 4 drivers get ``-Dspark.kubernetes.driver.master=<stand-in>`` the
  same way; Spark 2.4 drivers dial ``https://kubernetes.default.svc`` on 443, which :class:`ServicePort`
  forwards to the stand-in;
- node memory: executor heaps above ``heap_cap`` are capped (this machine has less memory than
  the pools' nodes), each change recorded in :attr:`Kubelet.adjustments`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from components.cluster.spark.names import SPARK_VERSION
from tests.support.kube_standin import ApiError, KubeStandIn, Request
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
S3_MOUNT = "/var/run/kubegrid-s3"
"""Where pods reach the stand-in S3 (the stand-in S3A's default root)."""
USER_TOKEN = "user-token"
EXAMPLES_JAR_PATH = "/opt/spark/examples/jars/spark-examples.jar"
S3A_JAR_PATH = "/opt/spark/jars/kubegrid-s3a-standin.jar"
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
    "s3a": ("kubegrid-s3a-standin.jar", "org/apache/hadoop/fs/s3a", pyspark_home, "17"),
    "insightedge-examples": ("insightedge-examples.jar", "org/insightedge/examples/basic", spark24_home, "8"),
}


def build_image_jars(out: Path, keys: tuple[str, ...] = ("examples", "s3a")) -> dict[str, Path]:
    """The stand-in jars (:data:`STAND_IN_JARS`), compiled with javac against their Spark's jars (once per ``out``)."""
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
    return jars


def tls_files(directory: Path) -> dict[str, Path]:
    """The cluster's CA (kube-root-ca.crt) and the API server's certificate, for 127.0.0.1 and
    ``kubernetes.default.svc`` (made once per ``directory``)."""
    files = {k: directory / f"{k}.pem" for k in ("ca", "ca-key", "server", "server-key")}
    with _BUILD_LOCK:
        if all(f.exists() for f in files.values()):
            return files
        directory.mkdir(parents=True, exist_ok=True)
        run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kube-standin-ca",
            "-keyout", str(files["ca-key"]), "-out", str(files["ca"]))
        csr = directory / "server.csr"
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-keyout", str(files["server-key"]),
            "-out", str(csr))
        ext = directory / "server.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc,DNS:kubernetes.default,"
                       "DNS:kubernetes.default.svc.cluster.local,DNS:localhost\n")
        run("x509", "-req", "-in", str(csr), "-CA", str(files["ca"]), "-CAkey", str(files["ca-key"]),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(files["server"]))
    return files


# ---------------------------------------------------------------- fake kubectl

FAKE_KUBECTL = r'''#!__PYTHON__
"""Fake kubectl: exactly the forms the stack's Spark commands use, answered from the kubeconfig and the rendered objects."""
import json, os, re, sys, yaml
args = sys.argv[1:]
context = namespace = None
rest = []
i = 0
while i < len(args):
    a = args[i]
    if a == "--context": context = args[i + 1]; i += 2; continue
    if a.startswith("--context="): context = a.split("=", 1)[1]; i += 1; continue
    if a in ("-n", "--namespace"): namespace = args[i + 1]; i += 2; continue
    rest.append(a); i += 1
with open(os.environ.get("KUBECONFIG", os.path.expanduser("~/.kube/config"))) as f:
    config = yaml.safe_load(f)
ctx_name = context or config["current-context"]
ctx = next((c["context"] for c in config["contexts"] if c["name"] == ctx_name), None)
if ctx is None:
    sys.exit(f'error: context "{ctx_name}" does not exist')
with open(os.environ["KUBEGRID_FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
if rest == ["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]:
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
    sys.stdout.write(cluster["server"]); sys.exit(0)
if rest == ["config", "view", "--minify", "--flatten"]:  # the context alone, its files' contents embedded
    import base64
    cluster = dict(next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"]))
    with open(cluster.pop("certificate-authority"), "rb") as f:
        cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
    user = next(u for u in config["users"] if u["name"] == ctx["user"])
    yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": ctx_name, "preferences": {},
                    "clusters": [{"name": ctx["cluster"], "cluster": cluster}],
                    "contexts": [{"name": ctx_name, "context": ctx}], "users": [user]}, sys.stdout)
    sys.exit(0)
m = re.fullmatch(r'go-template=\{\{index \.data "([^"]+)"\}\}', rest[-1]) if len(rest) == 5 else None
if m and rest[:4] == ["get", "configmap", rest[2], "-o"]:
    ns = namespace or ctx.get("namespace", "default")
    with open(os.environ["KUBEGRID_FAKE_OBJECTS"]) as f:
        for doc in json.load(f):
            if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == rest[2] \
                    and doc["metadata"].get("namespace") == ns:
                sys.stdout.write(doc.get("data", {}).get(m[1], "<no value>")); sys.exit(0)
    sys.exit(f'Error from server (NotFound): configmaps "{rest[2]}" not found')
sys.exit("fake kubectl: unsupported command: " + " ".join(sys.argv[1:]))
'''


@dataclass
class Workspace:
    """A submitting user's machine: a directory to run in, PATH and KUBECONFIG."""
    root: Path
    server: str
    ca: Path
    objects: list[dict[str, Any]]
    context: str = "kubegrid"
    """The kubeconfig's context of the cluster (the stand-in)."""
    current: Optional[str] = None
    """Another context, made current, with another cluster and token: a command must name ``context``."""
    spark24: Optional[Path] = None
    """A Spark 2.4 (tests.support.spark24): ``insightedge-submit`` on PATH runs its spark-submit."""

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.cwd = self.root / "home"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        kubectl = self.bin / "kubectl"
        kubectl.write_text(FAKE_KUBECTL.replace("__PYTHON__", sys.executable))
        kubectl.chmod(0o755)
        if self.spark24 is not None:
            submit = self.bin / "insightedge-submit"
            submit.write_text(INSIGHTEDGE_SUBMIT.replace("__SPARK_HOME__", str(self.spark24)))
            submit.chmod(0o755)
        self.objects_file = self.root / "cluster-objects.json"
        self.objects_file.write_text(json.dumps(self.objects))
        self.kubeconfig = self.root / "kubeconfig"
        names = [self.context] + ([self.current] if self.current else [])
        servers = {self.context: self.server, self.current: "https://127.0.0.1:1"}
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": self.current or self.context,
            "clusters": [{"name": n, "cluster": {"server": servers[n], "certificate-authority": str(self.ca)}}
                         for n in names],
            "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in names],
            "users": [{"name": n, "user": {"token": USER_TOKEN if n == self.context else f"token-of-{n}"}}
                      for n in names]}))
        self.kubectl_log = self.root / "kubectl.log"

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(self.root), "KUBECONFIG": str(self.kubeconfig),
                "KUBEGRID_FAKE_OBJECTS": str(self.objects_file), "KUBEGRID_FAKE_LOG": str(self.kubectl_log),
                "JAVA_HOME": str(jdk_home()), "LANG": "C.UTF-8", "TMPDIR": str(self.root / "tmp")}

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
                            IMAGE_WORKDIR, IMAGE_ENV, entrypoint_command,
                            {EXAMPLES_JAR_PATH: "examples", S3A_JAR_PATH: "s3a"}, pyspark_home, IMAGE_WORKDIR)
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
    return INSIGHTEDGE_IMAGE if image.startswith("gigaspaces/insightedge-enterprise:") else APACHE_IMAGE


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


# ---------------------------------------------------------------- RBAC and admission

def role_rules_of(objects: list[dict[str, Any]], namespace: str, account: str) -> list[dict[str, Any]]:
    """The rules of every Role bound to ``account`` in ``namespace`` (rendered RoleBindings)."""
    rules = []
    for binding in objects:
        if binding["kind"] != "RoleBinding" or binding["metadata"].get("namespace") != namespace:
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                   and s.get("namespace", namespace) == namespace for s in binding.get("subjects") or []):
            continue
        ref = binding["roleRef"]
        for role in objects:
            if role["kind"] == ref["kind"] == "Role" and role["metadata"]["name"] == ref["name"] \
                    and role["metadata"].get("namespace") == namespace:
                rules.extend(role["rules"])
    return rules


def allowed(rules: list[dict[str, Any]], verb: str, resource: str, group: str = "") -> bool:
    return any((group in r.get("apiGroups", []) or "*" in r.get("apiGroups", []))
               and (resource in r.get("resources", []) or "*" in r.get("resources", []))
               and (verb in r.get("verbs", []) or "*" in r.get("verbs", [])) for r in rules)


def rbac_verb(call: Request) -> str:
    return call.verb.split("/")[0]


# ---------------------------------------------------------------- the node and the kubelet

@dataclass
class Node:
    name: str
    labels: dict[str, str]
    cpu_m: float
    memory_mi: float
    gpus: int = 0
    pods: dict[str, dict[str, float]] = field(default_factory=dict)
    """Pods bound here, with their requests."""
    used: dict[str, float] = field(default_factory=lambda: {"cpu": 0.0, "memory": 0.0, "nvidia.com/gpu": 0.0})

    def fits(self, need: dict[str, float]) -> bool:
        return (self.used["cpu"] + need["cpu"] <= self.cpu_m and self.used["memory"] + need["memory"] <= self.memory_mi
                and self.used["nvidia.com/gpu"] + need["nvidia.com/gpu"] <= self.gpus)


def pod_affinity_pools(pod: dict[str, Any]) -> Optional[set[str]]:
    """The pool names the pod's node selector (Spark 2.4's placement) or required node affinity (the
    templates') admits; None: any node."""
    selected = (pod["spec"].get("nodeSelector") or {}).get("kubegrid.io/pool")
    if selected:
        return {selected}
    terms = ((((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")) or []
    pools: set[str] = set()
    for term in terms:
        for e in term.get("matchExpressions") or []:
            if e["key"] == "kubegrid.io/pool" and e["operator"] == "In":
                pools |= set(e["values"])
    return pools if terms else None


def cluster_nodes(spec: Any) -> list[Node]:
    """The emulated cluster's nodes: see the module docstring."""
    from components.cluster.scheduling import node_labels
    from components.cluster.spark.sizing import pool_sizing

    if not spec.is_eks:
        return [Node("kind-control-plane", {}, math.inf, math.inf, 0)]
    nodes = []
    for pool in spec.node_pools:
        budget = pool_sizing(spec, pool).budget
        nodes.append(Node(f"{pool.name}-node-1", node_labels(pool), budget.free_cpu_m, budget.free_memory_mi,
                          pool.shape.gpus))
    nodes.append(Node("drivers-node", {}, math.inf, math.inf, 0))
    return nodes


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


class Kubelet:
    """Schedules the stand-in's new pods onto :class:`Node` s and runs them as containers."""

    def __init__(self, api: KubeStandIn, root: Path, nodes: list[Node], image_files: dict[str, Path],
                 ca: Path, s3_root: Optional[Path], autorun: bool = True, heap_cap: str = "2g"):
        self.api, self.root, self.nodes, self.image_files, self.ca = api, root, nodes, image_files, ca
        self.s3_root, self.autorun, self.heap_cap = s3_root, autorun, heap_cap
        self.runs: dict[str, PodRun] = {}
        self.pending: dict[str, str] = {}
        """Pods that fit no node: name -> why."""
        self.adjustments: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)
        self.api.subscribe(self._event)

    def _event(self, kind: str, resource: str, obj: dict) -> None:
        if resource != "pods" or not self.autorun:
            return
        name = obj["metadata"]["name"]
        with self.lock:
            if kind == "ADDED" and name not in self.runs and name not in self.pending:
                node = self._schedule(obj)
                if node is None:
                    return
                self.runs[name] = PodRun(name, obj["metadata"].get("labels", {}).get("spark-role", "?"),
                                         self.root / f"{name}.log", node.name)
                threading.Thread(target=self._run_pod, args=(obj,), daemon=True).start()
            elif kind == "DELETED":
                self.pending.pop(name, None)
                if name in self.runs:
                    self._release(name)
                    threading.Thread(target=self._kill, args=(self.runs[name],), daemon=True).start()

    def _schedule(self, pod: dict) -> Optional[Node]:
        need = pod_totals(pod, "requests")
        pools = pod_affinity_pools(pod)
        for node in self.nodes:
            pool = node.labels.get("kubegrid.io/pool")
            if (pool is None) == (pools is None) and (pools is None or pool in pools) and node.fits(need):
                for k in node.used:
                    node.used[k] += need[k]
                node.pods[pod["metadata"]["name"]] = need
                return node
        why = f"0/{len(self.nodes)} nodes are available: insufficient resources or no node of pools {sorted(pools or [])}"
        self.pending[pod["metadata"]["name"]] = why
        threading.Thread(target=self.api.update_status, daemon=True, args=(
            pod["metadata"]["namespace"], pod["metadata"]["name"],
            {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                 "reason": "Unschedulable", "message": why}]})).start()
        return None

    def _release(self, name: str) -> None:
        for node in self.nodes:
            need = node.pods.pop(name, None)
            for k, v in (need or {}).items():
                node.used[k] -= v

    # -- the pod's environment, volumes and container
    def _cluster_hosts(self, namespace: str) -> Path:
        """The JVMs' name resolution (jdk.net.hosts.file): Services and pods of the namespace on 127.0.0.1."""
        names = {"localhost", os.uname().nodename, "kubernetes.default.svc", "kubernetes.default"}
        for svc in self.api.items("services", namespace):
            n = svc["metadata"]["name"]
            names |= {n, f"{n}.{namespace}", f"{n}.{namespace}.svc", f"{n}.{namespace}.svc.cluster.local"}
        names |= {p["metadata"]["name"] for p in self.api.items("pods", namespace)}
        hosts = self.root / f"hosts-{namespace}-{time.monotonic_ns()}"
        hosts.write_text("127.0.0.1 " + " ".join(sorted(names)) + "\n")
        return hosts

    def _resolve_env(self, pod: dict, container: dict) -> dict[str, str]:
        env: dict[str, str] = {}
        meta, spec = pod["metadata"], pod["spec"]
        fields = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"], "metadata.uid": meta["uid"],
                  "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1", "spec.nodeName": "node-1",
                  "spec.serviceAccountName": spec.get("serviceAccountName", "default")}
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
                path.mkdir(parents=True, exist_ok=True)
                src = vol["configMap"]
                cm = None
                for _ in range(300):  # the kubelet retries the mount until the ConfigMap exists (30 s)
                    cm = self.api.get("configmaps", meta["namespace"], src["name"])
                    if cm is not None or src.get("optional"):
                        break
                    time.sleep(0.1)
                if cm is None and src.get("optional"):
                    cm = {}
                if cm is None:
                    raise RuntimeError(f"configMap {src['name']} of volume {vol['name']} not found")
                data = cm.get("data") or {}
                items = src.get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    target = path / item["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(data[item["key"]])
                    target.chmod(item.get("mode", src.get("defaultMode", 0o644)))
                    if fs_group is not None:
                        os.chown(target, 0, fs_group)
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

    def _service_account(self, pod: dict, sandbox: Path) -> Optional[Path]:
        spec, meta = pod["spec"], pod["metadata"]
        account = self.api.get("serviceaccounts", meta["namespace"], spec.get("serviceAccountName", "default")) or {}
        mount = spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True))
        if not mount:
            return None
        path = sandbox / "volumes" / "kube-api-access"
        path.mkdir(parents=True, exist_ok=True)
        (path / "token").write_text(f"token-of-{meta['namespace']}-{spec.get('serviceAccountName', 'default')}")
        (path / "namespace").write_text(meta["namespace"])
        shutil.copy(self.ca, path / "ca.crt")  # kube-root-ca.crt
        for f in path.iterdir():
            f.chmod(0o644)
        return path

    def container_spec(self, pod: dict) -> dict[str, Any]:
        """Everything the in-namespace launcher needs (see :mod:`tests.support.pod_exec`)."""
        meta, spec = pod["metadata"], pod["spec"]
        role = meta.get("labels", {}).get("spark-role", "")
        container = spec["containers"][0]
        sandbox = self.root / meta["name"]
        volumes = self._volumes(pod, sandbox)
        mounts = [{"path": m["mountPath"], "source": str(volumes[m["name"]]), "readOnly": bool(m.get("readOnly")),
                   "subPath": m.get("subPath")} for m in container.get("volumeMounts") or []]
        token = self._service_account(pod, sandbox)
        if token:
            mounts.append({"path": "/var/run/secrets/kubernetes.io/serviceaccount", "source": str(token),
                           "readOnly": True, "subPath": None})
        if self.s3_root is not None:
            mounts.append({"path": S3_MOUNT, "source": str(self.s3_root), "readOnly": False, "subPath": None})
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
        image_files = {path: str(self.image_files[key]) for path, key in image.files.items()
                       if key != "s3a" or self.s3_root is not None}
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
    def _run_pod(self, pod: dict) -> None:
        run = self.runs[pod["metadata"]["name"]]
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            spec = self.container_spec(pod)
        except Exception as error:  # the pod cannot start: say why, as a kubelet event would
            self.errors.append(f"{name}: {error}")
            self.api.update_status(ns, name, {"phase": "Failed", "reason": "CreateContainerConfigError",
                                              "message": str(error)})
            return
        run.spec_file = Path(spec["sandbox"]) / "container.json"
        run.spec_file.write_text(json.dumps(spec, indent=1))
        container = pod["spec"]["containers"][0]["name"]
        with open(run.log, "w") as log:
            run.started = time.time()
            run.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--", sys.executable, str(POD_EXEC),
                 str(run.spec_file)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.api.update_status(ns, name, {
                "phase": "Running", "podIP": "127.0.0.1", "hostIP": "127.0.0.1", "startTime": _now(),
                "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": container, "ready": True, "restartCount": 0,
                                       "state": {"running": {"startedAt": _now()}}}]})
            code = run.process.wait()
        run.exit_code, run.ended = code, time.time()
        self.api.update_status(ns, name, {
            "phase": "Succeeded" if code == 0 else "Failed",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": container, "ready": False, "restartCount": 0, "state": {
                "terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                               "finishedAt": _now()}}}]})

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
        for run in list(self.runs.values()):
            if run.process is not None and run.process.poll() is None:
                os.killpg(run.process.pid, signal.SIGKILL)
                run.process.wait()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- the cluster

class ServicePort:
    """The API server's Service port as an in-cluster client dials it: 443 on 127.0.0.1 forwarded to the
    stand-in. Spark 2.4's driver dials ``https://kubernetes.default.svc`` with no port (its master URL is
    fixed; Spark 3 added ``spark.kubernetes.driver.master``)."""

    def __init__(self, target_port: int, port: int = 443):
        self.target = target_port
        self.server = socket.create_server(("127.0.0.1", port))
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


class Cluster:
    """The cluster after `pulumi up`, for one team: the stand-in with the team's objects, RBAC,
    admission and a kubelet."""

    def __init__(self, inputs: StackInputs, team: str, root: Path, image_files: dict[str, Path], full: bool,
                 s3_keys: Optional[list[tuple[str, str]]] = None):
        self.inputs, self.team, self.root = inputs, team, root
        self.objects = [o for o in inputs.objects
                        if o["kind"] == "Namespace" or o.get("metadata", {}).get("namespace") == team]
        tls = tls_files(root.parent / "tls")
        self.ca = tls["ca"]
        self.api = KubeStandIn(tls=(str(tls["server"]), str(tls["server-key"]))).start()
        for obj in self.objects:
            self.api.load(obj)
        self.loaded = {o["metadata"]["uid"] for o in self.api.objects.values()}
        self.denied: list[Request] = []
        self.refused: list[str] = []
        self.admitted: list[dict[str, Any]] = []
        self.api.authorize = self._authorize
        self.api.admit = self._admit
        s3 = None
        team_spec = next(t for t in inputs.spec.teams if t.name == team)
        if inputs.spec.is_eks and team_spec.s3_access:
            s3 = root / "s3"
            for location in team_spec.s3_access:  # the team's buckets exist; their prefixes hold nothing yet
                (s3 / location.removeprefix("s3://").split("/")[0]).mkdir(parents=True, exist_ok=True)
            for bucket, key in s3_keys or []:  # objects that exist before the job (a key ending in / is a marker)
                if (s3 / bucket).is_dir():
                    target = s3 / bucket / key
                    if key.endswith("/"):
                        target.mkdir(parents=True, exist_ok=True)
                    else:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.touch()
            for path in [s3, *s3.rglob("*")]:
                path.chmod(0o777 if path.is_dir() else 0o666)
        self.s3_root = s3
        self.kubelet = Kubelet(self.api, root / "node", cluster_nodes(inputs.spec), image_files, self.ca, s3,
                               autorun=full)

    def subject(self, call: Request) -> str:
        token = call.authorization.removeprefix("Bearer ")
        if token == USER_TOKEN:
            return "user"
        m = re.fullmatch(r"token-of-(.+?)-(spark-.+)", token)
        return f"system:serviceaccount:{m[1]}:{m[2]}" if m else "system:anonymous"

    def _authorize(self, call: Request) -> Optional[str]:
        subject = self.subject(call)
        if subject == "user":  # the team's admins and editors: the built-in admin/edit ClusterRoles
            return None
        if subject == "system:anonymous":
            return "anonymous request"
        _, _, namespace, account = subject.split(":")
        rules = role_rules_of(self.objects, namespace, account)
        if call.namespace == namespace and allowed(rules, rbac_verb(call), call.resource or ""):
            return None
        self.denied.append(call)
        return (f'{call.resource} is forbidden: User "{subject}" cannot {rbac_verb(call)} resource '
                f'"{call.resource}" in API group "" in the namespace "{call.namespace}"')

    def _admit(self, resource: str, namespace: Optional[str], obj: dict) -> dict:
        """API defaulting, LimitRanger, ResourceQuota: for pods of the team's namespace."""
        if resource != "pods" or namespace != self.team:
            return obj
        limit_range = next(o for o in self.objects if o["kind"] == "LimitRange")
        quota = next(o for o in self.objects if o["kind"] == "ResourceQuota")
        for c in [*(obj["spec"].get("initContainers") or []), *(obj["spec"].get("containers") or [])]:
            res = c.setdefault("resources", {})
            limits, requests = res.get("limits") or {}, res.get("requests") or {}
            for key, value in limits.items():  # API defaulting: an unset request is the limit
                requests.setdefault(key, value)
            for item in limit_range["spec"]["limits"]:  # LimitRanger: defaults for what is still unset
                if item["type"] == "Container":
                    for key, value in (item.get("default") or {}).items():
                        limits.setdefault(key, value)
                    for key, value in (item.get("defaultRequest") or {}).items():
                        requests.setdefault(key, value)
            res["limits"], res["requests"] = limits, requests
        hard = quota["spec"]["hard"]
        live = [p for p in self.api.items("pods", namespace)
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        want = {"requests": pod_totals(obj, "requests"), "limits": pod_totals(obj, "limits")}
        used = {w: {k: sum(pod_totals(p, w)[k] for p in live) for k in want[w]} for w in want}
        checks = [("requests.cpu", "requests", "cpu", cpu_m), ("limits.cpu", "limits", "cpu", cpu_m),
                  ("requests.memory", "requests", "memory", memory_mi), ("limits.memory", "limits", "memory", memory_mi),
                  ("requests.nvidia.com/gpu", "requests", "nvidia.com/gpu", float)]
        problems = []
        for key, which, res_key, parse in checks:
            if key in hard and used[which][res_key] + want[which][res_key] > parse(hard[key]) + 1e-6:
                problems.append(f"{key}={hard[key]}, used: {used[which][res_key]:g}, "
                                f"requested: {want[which][res_key]:g}")
        if "pods" in hard and len(live) + 1 > int(hard["pods"]):
            problems.append(f"pods={hard['pods']}")
        if problems:
            message = f'pods "{obj["metadata"].get("name")}" is forbidden: exceeded quota: team-quota, ' + \
                      "; ".join(problems)
            self.refused.append(message)
            raise ApiError(403, "Forbidden", message)
        self.admitted.append(obj)
        return obj

    def stop(self) -> None:
        self.kubelet.stop()
        self.api.stop()
        (self.root / "requests.json").write_text(
            json.dumps([r.__dict__ for r in self.api.requests], indent=1, default=str))


# ---------------------------------------------------------------- one case

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
    def api(self) -> KubeStandIn:
        return self.cluster.api

    @property
    def kubelet(self) -> Kubelet:
        return self.cluster.kubelet

    def log(self, role: str) -> str:
        return "\n".join(r.log.read_text(errors="replace") for r in self.kubelet.runs.values()
                         if r.role == role and r.log.exists())

    def created(self, resource: str) -> list[dict]:
        """What the clients created, as admitted (POST, or a server-side apply that created)."""
        return [obj for (_, key, kind, obj) in self.api.history
                if kind == "ADDED" and key[1] == resource and key[2] == self.team
                and obj["metadata"].get("uid") not in self._loaded_uids()]

    def _loaded_uids(self) -> set[str]:
        return self.cluster.loaded

    def driver_calls(self) -> set[tuple[str, str]]:
        """(verb, resource) of every call made with a driver's own token."""
        return {(rbac_verb(c), c.resource) for c in self.api.requests
                if self.cluster.subject(c).endswith(":spark-driver")}

    def pods(self, role: str) -> list[dict]:
        return [p for p in self.created("pods") if p["metadata"].get("labels", {}).get("spark-role") == role]


def submit_case(inputs: StackInputs, team: str, kind: str, base: Path, image_files: dict[str, Path],
                full: bool = True, timeout: float = 240, s3_keys: Optional[list] = None) -> CaseResult:
    """Fetch the team's files and submit its ``kind`` job with the printed commands, as printed.

    ``full``: the kubelet runs the driver and executor pods and the submit waits for the app
    to finish. Otherwise nothing is scheduled and the submit is ended once Spark has created
    the driver pod, its Service and ConfigMaps and watches the pod (the submit's whole part).
    """
    out = inputs.spark[team]
    if kind == "insightedge":
        from tests.support.spark24 import spark24_home
        command, spark24 = out["insightedge"]["submit"], spark24_home()
    else:
        command, spark24 = out["sparkSubmitGpu" if kind == "gpu" else "sparkSubmitCpu"], None
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster = Cluster(inputs, team, base, image_files, full, s3_keys)
    service_port = ServicePort(cluster.api.port) if full and kind == "insightedge" else None
    timings: dict[str, float] = {}
    try:
        context = inputs.spec.cluster.context
        ws = Workspace(base / "ws", cluster.api.url, cluster.ca, inputs.objects, context=context or "kubegrid",
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
                    r.verb == "watch" and r.resource == "pods" for r in cluster.api.requests):
                time.sleep(0.2)
        code = process.poll()
        if code is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        timings["submit"] = time.time() - t0
        _wait_pods_end(cluster.kubelet, 30)
        for run in cluster.kubelet.runs.values():
            if run.ended:
                timings[f"pod:{run.role}:{run.name}"] = run.ended - run.started
    finally:
        cluster.stop()
        if service_port is not None:
            service_port.close()
    return CaseResult(inputs.name, team, kind, full, command, fetch, code,
                      (base / "submit.log").read_text(errors="replace"), cluster, ws, timings)


def _wait_pods_end(kubelet: Kubelet, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and any(r.process is not None and r.process.poll() is None
                                         for r in kubelet.runs.values() if r.role == "executor"):
        time.sleep(0.2)


def notebook_case(inputs: StackInputs, team: str, pod: dict[str, Any], base: Path, image_files: dict[str, Path],
                  timeout: float = 240, s3_keys: Optional[list] = None) -> CaseResult:
    """A notebook pod of the team's namespace whose Spark runs in client mode: the pod is created
    (as the team's member applies it) and runs until its job ends."""
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster = Cluster(inputs, team, base, image_files, True, s3_keys)
    timings: dict[str, float] = {}
    name = pod["metadata"]["name"]
    try:
        t0 = time.time()
        cluster.api.create("", "pods", team, cluster._admit("pods", team, json.loads(json.dumps(pod))))  # kubectl apply
        deadline = time.time() + timeout
        while time.time() < deadline:
            run = cluster.kubelet.runs.get(name)
            if run is not None and run.exit_code is not None:
                break
            if name in cluster.kubelet.pending or (run is None and time.time() - t0 > 10):
                break
            time.sleep(0.2)
        timings["notebook"] = time.time() - t0
        _wait_pods_end(cluster.kubelet, 30)
    finally:
        cluster.stop()
    run = cluster.kubelet.runs.get(name)
    log = run.log.read_text(errors="replace") if run and run.log.exists() else ""
    return CaseResult(inputs.name, team, "notebook", True, " ".join(pod["spec"]["containers"][0].get("args") or []),
                      None, run.exit_code if run else None, log, cluster, None, timings)
