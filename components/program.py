"""The Pulumi program: read the spec, build the platform, export outputs."""

from __future__ import annotations

import pulumi

from .config_reader import ConfigError
from .platform import build_platform
from .spec import load_spec, runtime_config


def main() -> None:
    config, is_secret = runtime_config()
    try:
        spec = load_spec(config, pulumi.get_stack(), is_secret)
    except ConfigError as error:
        # RunError is shown to the user without a traceback.
        raise pulumi.RunError("invalid stack configuration:\n  " + "\n  ".join(map(str, error.problems))) from None
    for key, value in build_platform(spec).items():
        pulumi.export(key, value)
