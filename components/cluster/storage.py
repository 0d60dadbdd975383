"""The cluster's default StorageClass: encrypted gp3 volumes through the EBS CSI driver."""

from __future__ import annotations

from typing import Any

from ..config import StackSpec
from . import labels

STORAGE_CLASS = "gp3"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def gp3_storage_class(spec: StackSpec) -> dict[str, Any]:
    """gp3, encrypted (the account's EBS key), bound where the pod lands, growable, and
    tagged with the stack (the EBS CSI driver's ``tagSpecification_N`` parameters), so every
    volume a claim creates can be found and accounted to its stack.

    Prod keeps a volume when its claim is deleted (Retain), so deleting a
    grid's claims by mistake loses no data; other stacks delete it with the claim.
    """
    tags = {f"tagSpecification_{i}": f"{key}={value}"
            for i, (key, value) in enumerate(spec.resource_tags.items(), start=1)}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "labels": labels.standard("storage"),
                     "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4", **tags},
        "reclaimPolicy": "Retain" if spec.is_prod else "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
