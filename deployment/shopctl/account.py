"""Which AWS a command talks to: ENV=local (the local AWS, started if needed) or ENV=aws (a real account,
with credentials and a region checked first), and the confirmation asked before anything is created there.

Shared by `shopctl` (deploy, destroy, coldstart) and `shopctl.compare` (its Lambda cold starts on AWS).
"""

from __future__ import annotations

import os
import sys

from botocore.exceptions import BotoCoreError, ClientError

from shopctl.aws import clients
from shopctl.errors import ShopctlError
from shopctl.local import localaws


def use(env: str, aws_port: int) -> None:
    """Point boto3 at the local AWS (ENV=local, starting it if needed) or check real credentials (ENV=aws)."""
    if env == "local":
        aws, _ = localaws.start(aws_port)
        aws.use()
        return
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if "127.0.0.1" in endpoint or "localhost" in endpoint:
        raise ShopctlError(f"ENV=aws but AWS_ENDPOINT_URL points at {endpoint}", "unset AWS_ENDPOINT_URL first")
    try:
        identity = clients.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise ShopctlError(
            f"ENV=aws needs AWS credentials: {error}",
            "configure them (aws configure / AWS_PROFILE / SSO) or use ENV=local",
        ) from None
    region = clients.region()
    if not region:
        raise ShopctlError("ENV=aws needs a region", "set AWS_REGION, e.g. AWS_REGION=us-east-1")
    print(f"AWS account {identity['Account']} ({identity['Arn']}), region {region}")


CREATE = "create or update, in your AWS account (it may cost money)"


def confirm(lines: list[str], assume_yes: bool, *, verb: str = CREATE) -> None:
    print(f"This will {verb}:")
    for line in lines:
        print(f"  - {line}")
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise ShopctlError("not confirmed", "re-run with YES=1 to confirm non-interactively")
    if input("Proceed? [y/N] ").strip().lower() not in ("y", "yes"):
        raise ShopctlError("cancelled", "nothing was changed")
