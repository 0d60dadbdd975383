"""Kubernetes quantity strings from numbers."""


def cpu_millis(millicores: int) -> str:
    """1000 -> "1", 500 -> "500m"."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def cpu(cores: float) -> str:
    """1.0 -> "1", 0.5 -> "500m"."""
    return cpu_millis(round(cores * 1000))


def memory(gib: float) -> str:
    """4.0 -> "4Gi", 1.5 -> "1536Mi"."""
    mib = round(gib * 1024)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def parse_cpu_millis(quantity: str) -> int:
    """"25m" -> 25, "1" -> 1000, "0.5" -> 500."""
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def parse_memory_mi(quantity: str) -> int:
    """"64Mi" -> 64, "1Gi" -> 1024, "512Ki" -> 0 (whole MiB)."""
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return int(float(quantity[:-2]) * units[quantity[-2:]])
