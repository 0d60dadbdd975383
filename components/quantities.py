"""Kubernetes quantity strings from the spec's numbers."""


def cpu(cores: float) -> str:
    """1.0 -> "1", 0.5 -> "500m"."""
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory(gib: float) -> str:
    """4.0 -> "4Gi", 1.5 -> "1536Mi"."""
    mib = round(gib * 1024)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"
