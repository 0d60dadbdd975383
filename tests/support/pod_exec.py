"""Runs one container of the emulated node (see :mod:`tests.support.spark_runner`).

Called as ``unshare --mount --propagation private -- python pod_exec.py SPEC.json``, as root,
in a mount namespace of its own. Standard library only: it runs outside the project's imports.

It builds the container's root file system and execs the container's command:

- the *image layer* (a tmpfs): what the image has and the host lacks (the spec's ``spark``,
  ``javaHome``, ``user``): its Spark home with the Spark distribution's ``bin``, ``sbin``,
  ``python`` (bound read-only) and ``jars`` (links to the distribution's jars, leaving room for
  the image's extra files: stand-in examples jars, the stand-in S3A file system), its Java home
  (the host's JDK 17), ``/etc/passwd`` and ``group`` with the image's user (``spark:185`` for
  ``apache/spark``, ``gs_user:1000`` in ``gs_group:2000`` for ``insightedge-enterprise``), the
  cluster's hosts file, and on GPU containers the ``nvidia-smi`` the NVIDIA container runtime
  injects (a stand-in printing one GPU);
- an overlay of that layer over the host's ``/``, without an upper layer (so read-only) when
  the container says ``readOnlyRootFilesystem``;
- ``/dev``, ``/proc``, ``/sys`` of the host; the pod's volumes bound at their mount paths
  (``readOnly`` honoured);
- then ``chroot``, the working directory, and ``setpriv`` to the pod's uid, gid and groups
  with no capabilities (and no new privileges when ``allowPrivilegeEscalation: false``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CLUSTER_HOSTS = "/etc/kubegrid-cluster-hosts"
FAKE_NVIDIA_SMI = "#!/bin/sh\n# injected by the emulated NVIDIA container runtime: one GPU, index 0\necho 0\n"


HOST_JARS = ".pyspark-jars"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def pod_exec(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    box = Path(spec["sandbox"])
    layer, root = box / "layer", box / "root"
    layer.mkdir(exist_ok=True)
    root.mkdir(exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=755", "image-layer", str(layer))
    home = spec["spark"]["home"]
    spark = layer / home.lstrip("/")
    for d in ("bin", "sbin", "jars", "examples/jars", "conf", "python", "work-dir"):
        (spark / d).mkdir(parents=True, exist_ok=True)
    (spark / "RELEASE").write_text("")
    dist = Path(spec["spark"]["dist"])
    # the distribution's jars are bound at HOST_JARS and linked from jars/ by their path inside the pod: a
    # link to the host's path would break where the pod mounts a volume over a directory on that path (its
    # /tmp, when the checkout lives under /tmp); links keep room in jars/ for the image's extra jars.
    (spark / HOST_JARS).mkdir()
    for jar in sorted((dist / "jars").iterdir()):
        (spark / "jars" / jar.name).symlink_to(f"{home}/{HOST_JARS}/{jar.name}")
    for name, source in spec["imageFiles"].items():
        target = layer / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    (layer / spec["javaHome"].lstrip("/")).mkdir(parents=True)
    user, uid, group_name, gid = spec["user"]
    owned = layer / spec["owned"].lstrip("/")
    for path in [owned, *owned.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)
    etc = layer / "etc"
    etc.mkdir()
    def without(text: str, name: str, number: int) -> str:  # the host's entries of the same name or number
        return "".join(line + "\n" for line in text.splitlines()
                       if line.split(":")[0] != name and line.split(":")[2:3] != [str(number)])

    passwd = without(Path("/etc/passwd").read_text(), user, uid) + f"{user}:x:{uid}:{gid}::/nonexistent:/usr/sbin/nologin\n"
    group = without(Path("/etc/group").read_text(), group_name, gid) + f"{group_name}:x:{gid}:\n"
    (etc / "passwd").write_text(passwd)
    (etc / "group").write_text(group)
    shutil.copy(spec["clusterHosts"], layer / CLUSTER_HOSTS.lstrip("/"))
    if spec["gpu"]:
        smi = layer / "usr/bin/nvidia-smi"
        smi.parent.mkdir(parents=True)
        smi.write_text(FAKE_NVIDIA_SMI)
        smi.chmod(0o755)
    for m in spec["mounts"]:
        (layer / m["path"].lstrip("/")).mkdir(parents=True, exist_ok=True)
    if spec["readOnlyRoot"]:
        _mount("-t", "overlay", "overlay", "-o", f"lowerdir={layer}:/", str(root))  # no upper layer: read-only
    else:
        upper = box / "upper"
        (upper / "data").mkdir(parents=True, exist_ok=True)
        (upper / "work").mkdir(exist_ok=True)
        _mount("-t", "overlay", "overlay", "-o", f"lowerdir={layer}:/,upperdir={upper}/data,workdir={upper}/work",
               str(root))
    for d in ("dev", "proc", "sys"):
        _mount("--rbind", f"/{d}", str(root / d))
    _mount("--bind", "-o", "ro", str(dist / "jars"), str(root / home.lstrip("/") / HOST_JARS))
    for d in ("bin", "sbin", "python"):
        if (dist / d).exists():
            _mount("--bind", "-o", "ro", str(dist / d), str(root / home.lstrip("/") / d))
    _mount("--bind", "-o", "ro", spec["jdk"], str(root / spec["javaHome"].lstrip("/")))
    for m in sorted(spec["mounts"], key=lambda m: m["path"].rstrip("/").count("/")):
        source = os.path.join(m["source"], m["subPath"]) if m.get("subPath") else m["source"]
        target = str(root / m["path"].lstrip("/"))
        try:  # a mount point inside an earlier volume: the runtime creates it there
            os.makedirs(target, exist_ok=True)
        except OSError:
            pass
        _mount("--bind", source, target)
        if m["readOnly"]:
            _mount("-o", "remount,bind,ro", target)
    os.chroot(root)
    os.chdir(spec["cwd"])
    setpriv = ["setpriv", f"--reuid={spec['uid']}", f"--regid={spec['gid']}",
               f"--groups={','.join(map(str, spec['groups']))}", "--inh-caps=-all", "--bounding-set=-all"]
    if spec["noNewPrivs"]:
        setpriv.append("--no-new-privs")
    sys.stdout.flush()
    os.execvpe("setpriv", [*setpriv, "--", *spec["command"]], spec["env"])


if __name__ == "__main__":
    pod_exec(sys.argv[1])
