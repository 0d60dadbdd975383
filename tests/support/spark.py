"""spark-defaults.conf as Spark reads it."""

from __future__ import annotations



def parse_properties(text: str) -> dict[str, str]:
    """spark-defaults.conf: `key value` lines, `#` comments."""
    conf = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split(None, 1)
            assert key not in conf, f"{key} twice"
            conf[key] = value.strip()
    return conf
