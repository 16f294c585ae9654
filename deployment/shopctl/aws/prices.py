"""What an `ENV=aws` deploy costs while it runs: one dated price table, and the billed items each target's plan
lists (`costs()` in every target module), summed per hour and per day.

Prices are AWS's on-demand list prices in US East (N. Virginia), as published on the pricing pages below in
November 2026; other regions are up to about 30 % higher. What is billed per request (Lambda invocations,
DynamoDB on-demand reads and writes, S3, CloudWatch Logs ingestion) costs nothing while idle and is left out of
the hourly figure; storage (tables, images, logs) costs cents per GB-month.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICED = "2026-11, us-east-1"
SOURCES = {
    "Application / Network Load Balancer": "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "AWS Fargate": "https://aws.amazon.com/fargate/pricing/",
    "Amazon EKS (control plane, Auto Mode)": "https://aws.amazon.com/eks/pricing/",
    "Public IPv4 addresses (since February 2024)": "https://aws.amazon.com/vpc/pricing/",
    "Amazon EC2 on-demand (an Auto Mode node)": "https://aws.amazon.com/ec2/pricing/on-demand/",
    "Amazon API Gateway (HTTP APIs)": "https://aws.amazon.com/api-gateway/pricing/",
}
# USD per hour, each unit as AWS bills it.
ALB_HOUR = 0.0225
ALB_LCU_HOUR = 0.008  # a load balancer capacity unit; an idle workshop ALB uses a fraction of one
NLB_HOUR = 0.0225
NLB_LCU_HOUR = 0.006
PUBLIC_IPV4_HOUR = 0.005
FARGATE_VCPU_HOUR = 0.04048  # Linux/x86
FARGATE_GB_HOUR = 0.004445
EKS_CLUSTER_HOUR = 0.10  # standard support
# Auto Mode chooses the instance; two small pods fit one general-purpose node (m5.large as the estimate), and
# Auto Mode adds a management fee of about 12 % of the instance price.
AUTO_MODE_NODE_HOUR = 0.096 * 1.12
# Billed per request only, not by the hour (so not in the hourly total): an HTTP API, USD per million requests,
# the first 300 million a month (us-east-1; $0.90 beyond). Also in AWS's whitepaper "Best Practices for
# Designing Amazon API Gateway Private APIs and Private Integration", Cost optimization, table 4.
HTTP_API_MILLION_REQUESTS = 1.00


@dataclass(frozen=True)
class Billed:
    """One line of a plan's bill: what, how many, the price of one per hour (0: billed per request only)."""

    what: str
    count: float
    unit_hour: float
    note: str = ""

    @property
    def hourly(self) -> float:
        return self.count * self.unit_hour

    def line(self) -> str:
        count = f"{self.count:g} x " if self.count != 1 else ""
        price = f"${self.hourly:.4f}/h" if self.unit_hour else "per request"
        return f"{price:>13}  {count}{self.what}" + (f" ({self.note})" if self.note else "")


def hourly(items: list[Billed]) -> float:
    return sum(item.hourly for item in items)


def bill(items: list[Billed]) -> list[str]:
    """The plan's price lines: each billed item, then the total per hour and per day."""
    total = hourly(items)
    return [
        *(item.line() for item in items),
        f"≈ ${total:.3f} per hour, ${total * 24:.2f} per day while it runs (list prices {PRICED}; "
        "nothing hourly is left after make destroy)",
    ]


def public_ipv4(count: float, what: str) -> Billed:
    return Billed(f"public IPv4 address(es) of {what}", count, PUBLIC_IPV4_HOUR)


def fargate_task(vcpu: float, memory_gb: float, count: float, what: str) -> Billed:
    unit = vcpu * FARGATE_VCPU_HOUR + memory_gb * FARGATE_GB_HOUR
    return Billed(f"Fargate task(s) of {what}, {vcpu:g} vCPU / {memory_gb:g} GB", count, unit)
