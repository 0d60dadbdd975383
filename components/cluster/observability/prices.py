"""Hourly on-demand prices of the GPU instance types, for the GPU dashboard's
"idle GPU nodes and what they cost" panel and nothing else (no shared table
carries a price).

Source: AWS's EC2 On-Demand price list (https://aws.amazon.com/ec2/pricing/on-demand/),
Linux, US East (N. Virginia), USD per hour, as recorded here on 2026-11-27 from
AWS's published list prices for these families (the g5.xlarge figure of $1.006/h
was cross-checked against a June 2026 price summary). Other regions differ
(eu-west-1 is roughly 10-15% higher); Savings Plans, reservations and spot are
not reflected. Types without a recorded price show no cost on the dashboard
rather than a guessed one. Refresh this table when AWS changes its list.
"""

from __future__ import annotations

PRICE_REGION = "us-east-1"
PRICE_DATE = "2026-11-27"
PRICE_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, US East (N. Virginia))"

HOURLY_USD: dict[str, float] = {
    "g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176,
    "g4dn.12xlarge": 3.912, "g4dn.16xlarge": 4.352, "g4dn.metal": 7.824,
    "g5.xlarge": 1.006, "g5.2xlarge": 1.212, "g5.4xlarge": 1.624, "g5.8xlarge": 2.448,
    "g5.12xlarge": 5.672, "g5.16xlarge": 4.096, "g5.24xlarge": 8.144, "g5.48xlarge": 16.288,
    "g6.xlarge": 0.8048, "g6.2xlarge": 0.9776, "g6.4xlarge": 1.3232, "g6.8xlarge": 2.0144,
    "g6.12xlarge": 4.6016, "g6.16xlarge": 3.3968, "g6.24xlarge": 6.6752, "g6.48xlarge": 13.3504,
}


def hourly_price(instance_type: str) -> float | None:
    return HOURLY_USD.get(instance_type)
