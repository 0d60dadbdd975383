"""Shapes of the EC2 instance types a node pool may use.

vCPUs, memory and GPUs are AWS's published figures; ``max_pods`` is the
VPC CNI's default pod limit per instance type (``eni-max-pods.txt``), which
EKS uses to size the kubelet's memory reservation. A pool may only use types
listed here, so that GPU pools, executor sizing and autoscaler hints rest on
known figures. To add a type, add its row and run the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional


class Arch(str, Enum):
    X86_64 = "x86_64"
    ARM_64 = "arm64"


@dataclass(frozen=True)
class InstanceShape:
    name: str
    vcpu: int
    memory_gib: float
    max_pods: int
    arch: Arch
    gpus: int = 0
    gpu_model: Optional[str] = None

    @property
    def family(self) -> str:
        return self.name.split(".")[0]

    @property
    def is_gpu(self) -> bool:
        return self.gpus > 0


# Pod limits for the usual ENI layouts: (ENIs, IPs per ENI) -> ENIs * (IPs - 1) + 2.
_PODS = {"medium": 8, "large": 29, "xlarge": 58, "2xlarge": 58, "4xlarge": 234, "8xlarge": 234,
         "9xlarge": 234, "12xlarge": 234, "16xlarge": 737, "18xlarge": 737, "24xlarge": 737,
         "32xlarge": 737, "48xlarge": 737, "metal": 737}


def _family(family: str, arch: Arch, mem_per_vcpu: int, sizes: dict[str, int]) -> list[InstanceShape]:
    return [InstanceShape(f"{family}.{size}", vcpu, float(vcpu * mem_per_vcpu), _PODS[size], arch)
            for size, vcpu in sizes.items()]


_X86_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
              "12xlarge": 48, "16xlarge": 64, "24xlarge": 96}
_X86_SIZES_32 = {**_X86_SIZES, "32xlarge": 128}
_GRAVITON_SIZES = {"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16,
                   "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}
_C5_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "9xlarge": 36,
             "12xlarge": 48, "18xlarge": 72, "24xlarge": 96}

_GENERAL: list[InstanceShape] = [
    *_family("m5", Arch.X86_64, 4, _X86_SIZES),
    *_family("m6i", Arch.X86_64, 4, _X86_SIZES_32),
    *_family("m7i", Arch.X86_64, 4, {**_X86_SIZES, "48xlarge": 192}),
    *_family("m6g", Arch.ARM_64, 4, _GRAVITON_SIZES),
    *_family("m7g", Arch.ARM_64, 4, _GRAVITON_SIZES),
    *_family("c5", Arch.X86_64, 2, _C5_SIZES),
    *_family("c6i", Arch.X86_64, 2, _X86_SIZES_32),
    *_family("c7i", Arch.X86_64, 2, {**_X86_SIZES, "48xlarge": 192}),
    *_family("c6g", Arch.ARM_64, 2, _GRAVITON_SIZES),
    *_family("c7g", Arch.ARM_64, 2, _GRAVITON_SIZES),
    *_family("r5", Arch.X86_64, 8, _X86_SIZES),
    *_family("r6i", Arch.X86_64, 8, _X86_SIZES_32),
    *_family("r7i", Arch.X86_64, 8, {**_X86_SIZES, "48xlarge": 192}),
    *_family("r6g", Arch.ARM_64, 8, _GRAVITON_SIZES),
    *_family("r7g", Arch.ARM_64, 8, _GRAVITON_SIZES),
]


def _gpu(name: str, vcpu: int, memory_gib: float, gpus: int, model: str, max_pods: int,
         arch: Arch = Arch.X86_64) -> InstanceShape:
    return InstanceShape(name, vcpu, memory_gib, max_pods, arch, gpus, model)


_GPU: list[InstanceShape] = [
    _gpu("g4dn.xlarge", 4, 16, 1, "T4", 29),
    _gpu("g4dn.2xlarge", 8, 32, 1, "T4", 29),
    _gpu("g4dn.4xlarge", 16, 64, 1, "T4", 29),
    _gpu("g4dn.8xlarge", 32, 128, 1, "T4", 58),
    _gpu("g4dn.12xlarge", 48, 192, 4, "T4", 234),
    _gpu("g4dn.16xlarge", 64, 256, 1, "T4", 58),
    _gpu("g4dn.metal", 96, 384, 8, "T4", 737),
    _gpu("g5.xlarge", 4, 16, 1, "A10G", 58),
    _gpu("g5.2xlarge", 8, 32, 1, "A10G", 58),
    _gpu("g5.4xlarge", 16, 64, 1, "A10G", 234),
    _gpu("g5.8xlarge", 32, 128, 1, "A10G", 234),
    _gpu("g5.12xlarge", 48, 192, 4, "A10G", 737),
    _gpu("g5.16xlarge", 64, 256, 1, "A10G", 234),
    _gpu("g5.24xlarge", 96, 384, 4, "A10G", 737),
    _gpu("g5.48xlarge", 192, 768, 8, "A10G", 345),
    _gpu("g5g.xlarge", 4, 8, 1, "T4G", 58, Arch.ARM_64),
    _gpu("g5g.2xlarge", 8, 16, 1, "T4G", 58, Arch.ARM_64),
    _gpu("g5g.4xlarge", 16, 32, 1, "T4G", 234, Arch.ARM_64),
    _gpu("g5g.8xlarge", 32, 64, 1, "T4G", 234, Arch.ARM_64),
    _gpu("g5g.16xlarge", 64, 128, 2, "T4G", 737, Arch.ARM_64),
    _gpu("g6.xlarge", 4, 16, 1, "L4", 58),
    _gpu("g6.2xlarge", 8, 32, 1, "L4", 58),
    _gpu("g6.4xlarge", 16, 64, 1, "L4", 234),
    _gpu("g6.8xlarge", 32, 128, 1, "L4", 234),
    _gpu("g6.12xlarge", 48, 192, 4, "L4", 234),
    _gpu("g6.16xlarge", 64, 256, 1, "L4", 737),
    _gpu("g6.24xlarge", 96, 384, 4, "L4", 737),
    _gpu("g6.48xlarge", 192, 768, 8, "L4", 737),
    _gpu("g6e.xlarge", 4, 32, 1, "L40S", 58),
    _gpu("g6e.2xlarge", 8, 64, 1, "L40S", 58),
    _gpu("g6e.4xlarge", 16, 128, 1, "L40S", 234),
    _gpu("g6e.8xlarge", 32, 256, 1, "L40S", 234),
    _gpu("g6e.12xlarge", 48, 384, 4, "L40S", 234),
    _gpu("g6e.16xlarge", 64, 512, 1, "L40S", 737),
    _gpu("g6e.24xlarge", 96, 768, 4, "L40S", 737),
    _gpu("g6e.48xlarge", 192, 1536, 8, "L40S", 737),
    _gpu("p4d.24xlarge", 96, 1152, 8, "A100", 737),
    _gpu("p5.48xlarge", 192, 2048, 8, "H100", 100),
]

SHAPES: dict[str, InstanceShape] = {s.name: s for s in (*_GENERAL, *_GPU)}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(s.family for s in SHAPES.values()))


def shape(instance_type: str) -> InstanceShape:
    """The shape of a listed instance type; KeyError for any other."""
    return SHAPES[instance_type]
