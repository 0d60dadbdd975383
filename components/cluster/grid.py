"""The data grid: its contract with its clients, its namespace, license
Secret and the kubegrid chart's values.

The contract (Service names, ports, space name, cluster domain) is defined
here once. The chart gets it through its values and creates exactly these
Services and ports; the Spark settings, the network policies and the stack
outputs (`lookupLocators`, `restManagerUrl`) are computed from the same
definitions. The values are a pure function of the spec, so `kubegrid
render` hands the chart exactly what `pulumi up` hands Helm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..config import StackSpec
from . import labels, pod_security, quantities

RELEASE_NAME = "kubegrid"
FULLNAME = RELEASE_NAME
"""The chart's fullname for our release: the release name, since it contains the chart name."""
CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "kubegrid"
CHART_PATH_IN_PROJECT = "./charts/kubegrid"
"""Relative, so the stack's state does not depend on where the project is checked out."""
LICENSE_SECRET = "kubegrid-stack-license"
"""The license Secret the stack creates. Not the chart's own `kubegrid-license` (the evaluation
license): a stack that gains a license creates its Secret while the chart's still exists."""
LICENSE_KEY = "license"
CLUSTER_DOMAIN = "cluster.local"
SPACE_NAME = "kubegrid-space"
"""The space the partitions form; Spark jobs and notebooks connect to it by this name."""
PRODUCT_IMAGES = {"smart-cache": "gigaspaces/smart-cache-enterprise",
                  "insightedge": "gigaspaces/insightedge-enterprise"}
"""GigaSpaces' published image of each product; its tag is the version. The chart holds the same map."""
NOTEBOOK_IMAGE = PRODUCT_IMAGES["insightedge"]
"""Zeppelin and Spark live in the insightedge image, whatever the grid's product."""


@dataclass(frozen=True)
class GridPorts:
    """The ports of the grid's processes, as the chart's `ports` values."""

    lookup: int = 4174
    """Lookup service (Jini discovery by unicast locators)."""
    rest: int = 8090
    """REST manager."""
    zookeeper_client: int = 2181
    zookeeper_peer: int = 2888
    zookeeper_election: int = 3888
    lrmi_first: int = 8200
    """First port of the LRMI range every grid JVM binds (data traffic, and callbacks to clients)."""
    lrmi_last: int = 8299
    probes: int = 8089
    """The data pods' liveness and readiness endpoints."""

    def values(self) -> dict[str, Any]:
        return {"lookup": self.lookup, "rest": self.rest,
                "zookeeper": {"client": self.zookeeper_client, "peer": self.zookeeper_peer,
                              "election": self.zookeeper_election},
                "lrmi": {"first": self.lrmi_first, "last": self.lrmi_last}, "probes": self.probes}


PORTS = GridPorts()


MANAGER = f"{FULLNAME}-manager"
"""The manager name GigaSpaces' images derive their Service names from (``manager.name``)."""


@dataclass(frozen=True)
class GridNames:
    """Names of the chart's objects that clients depend on, as the chart's `names` values.

    GigaSpaces derives every name from the manager name M (docs/gigaspaces.md): the
    StatefulSet M, its headless Service ``M-hs``, the client Service ``M-service``, and
    the headless Service ``M-insightedge-manager-hs`` the Spark connector (16.3 and
    later) looks the grid up through when given ``spark.insightedge.space.manager=M``.
    """

    management: str = MANAGER
    """The managers' StatefulSet M (its pods are ``M-<i>``): the ``manager.name`` data pods and Spark are given."""
    management_headless: str = f"{MANAGER}-hs"
    """Headless Service of the managers (the StatefulSet's serviceName): stable DNS names for peers and lookup clients."""
    management_service: str = f"{MANAGER}-service"
    """Client Service of the managers: REST manager and lookup service."""
    spark_locator_service: str = f"{MANAGER}-insightedge-manager-hs"
    """Headless Service of the managers' lookup services that the Spark connector derives from the manager name."""

    @property
    def manager(self) -> str:
        """The manager name M, for ``manager.name`` and ``spark.insightedge.space.manager``."""
        return self.management

    def values(self) -> dict[str, str]:
        return {"management": self.management, "managementHeadless": self.management_headless,
                "managementService": self.management_service, "sparkLocatorService": self.spark_locator_service}


NAMES = GridNames()


def service_host(service: str, namespace: str) -> str:
    """The cluster DNS name of a Service."""
    return f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"


def manager_hosts(spec: StackSpec) -> list[str]:
    """The DNS name of every manager pod, through the managers' headless Service."""
    headless = service_host(NAMES.management_headless, spec.grid.namespace)
    return [f"{NAMES.management}-{i}.{headless}" for i in range(spec.grid.managers)]


def lookup_locators(spec: StackSpec) -> str:
    """host:port of every lookup service, as grid clients that take explicit locators need them."""
    return ",".join(f"{host}:{PORTS.lookup}" for host in manager_hosts(spec))


def spark_locator(spec: StackSpec) -> str:
    """The lookup locator the Spark connector derives from ``spark.insightedge.space.manager``
    (no port: the connector uses the default lookup port)."""
    return service_host(NAMES.spark_locator_service, spec.grid.namespace)


def rest_url(spec: StackSpec) -> str:
    return f"http://{service_host(NAMES.management_service, spec.grid.namespace)}:{PORTS.rest}"


def grid_image(spec: StackSpec) -> str:
    """The image the managers and data pods run."""
    return f"{spec.grid.image_repository or PRODUCT_IMAGES[spec.grid.product]}:{spec.grid.version}"


def insightedge_image(spec: StackSpec) -> str:
    """The insightedge image of the grid's version: Spark 2.4 with the grid's connector (and Zeppelin). When
    the grid itself runs it, the grid's image, from its mirror if it has one."""
    return grid_image(spec) if spec.grid.product == "insightedge" else f"{NOTEBOOK_IMAGE}:{spec.grid.version}"


def license_secret_name(spec: StackSpec) -> str:
    """The Secret the chart reads the license from; empty lets the chart create one."""
    if spec.grid.license_secret_name:
        return spec.grid.license_secret_name
    return LICENSE_SECRET if spec.grid.license is not None else ""


def claim_retention(spec: StackSpec) -> dict[str, str]:
    """What happens to the data pods' claims when the grid is deleted: prod keeps them (and its
    StorageClass keeps their volumes); other stacks delete them with the grid, so destroying the
    stack releases its EBS volumes while the CSI driver still runs. Scaling down keeps them everywhere."""
    return {"whenDeleted": "Retain" if spec.is_prod else "Delete", "whenScaled": "Retain"}


def grid_values(spec: StackSpec) -> dict[str, Any]:
    """The kubegrid chart's values for this stack."""
    g = spec.grid
    return {
        "clusterDomain": CLUSTER_DOMAIN,
        "names": NAMES.values(),
        "ports": PORTS.values(),
        "product": g.product,
        "version": g.version,
        "image": {"repository": g.image_repository},
        "management": {"ha": g.managers == 3, "cpu": quantities.cpu(g.manager_cpu),
                       "memory": quantities.memory(g.manager_memory_gib)},
        "partitions": {"count": g.partitions, "backups": g.backups, "zoneAware": g.zone_aware,
                       "cpu": quantities.cpu(g.partition_cpu), "memory": quantities.memory(g.partition_memory_gib),
                       "spaceName": SPACE_NAME},
        "persistence": {"enabled": g.persistence, "size": f"{g.storage_gib}Gi", "storageClass": g.storage_class,
                        "retentionPolicy": claim_retention(spec)},
        "license": {"existingSecret": license_secret_name(spec), "existingSecretKey": LICENSE_KEY},
        "zeppelin": {"enabled": g.zeppelin},
        "gridClients": {"namespaceLabel": labels.GRID_CLIENT_LABEL},
    }


def grid_namespace(spec: StackSpec) -> dict[str, Any]:
    """The grid's namespace, held to the restricted Pod Security profile."""
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": spec.grid.namespace,
                     "labels": {**labels.standard("grid"), **pod_security.namespace_labels()}},
    }


def license_secret(spec: StackSpec, value: Any = "[secret]") -> Optional[dict[str, Any]]:
    """The license Secret the stack creates when the license is in its config."""
    if spec.grid.license is None:
        return None
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": LICENSE_SECRET, "namespace": spec.grid.namespace, "labels": labels.standard("grid")},
        "stringData": {LICENSE_KEY: value},
    }
