"""spark-defaults.conf as Spark reads it."""

from __future__ import annotations

import re


def parse_properties(text: str) -> dict[str, str]:
    """spark-defaults.conf: `key value` lines, `#` comments."""
    conf = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split(None, 1)
            assert key not in conf, f"{key} twice"
            conf[key] = value.strip()
    return conf


def command_conf(command: str, defaults_text: str) -> dict[str, str]:
    """The Spark properties a printed spark-submit gives its job: the defaults file, then its ``--conf`` pairs."""
    conf = parse_properties(defaults_text)
    conf.update(re.findall(r"--conf (\S+?)=(\S+)", command))
    return conf
