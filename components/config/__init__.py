"""The configuration layer: a stack's configuration, typed and validated.

No Pulumi and no cloud SDK here: everything reads plain data (a stack file,
or the values the Pulumi engine hands the program) into frozen dataclasses.
"""

from .load import STRUCTURED_KEYS, TOP_LEVEL, load_spec, read_stack_file
from .reader import ConfigError, Problem, Secret
from .spec import (NAMESPACE, AmiFamily, CapacityType, ClusterMode, ClusterSpec, Environment, GridSpec, NatGateways,
                   MonitoringMode, NodePoolSpec, ObservabilitySpec, QuotaSpec, StackSpec, Taint, TaintEffect, TeamSpec)

__all__ = [
    "NAMESPACE", "STRUCTURED_KEYS", "TOP_LEVEL", "AmiFamily", "CapacityType", "ClusterMode", "ClusterSpec",
    "ConfigError", "Environment", "GridSpec", "NatGateways", "NodePoolSpec", "Problem", "QuotaSpec", "Secret",
    "MonitoringMode", "ObservabilitySpec", "StackSpec", "Taint", "TaintEffect", "TeamSpec", "load_spec", "read_stack_file",
]
