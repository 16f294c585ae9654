"""The local AWS a check runs against: the one the process environment points boto3 at
(`make verify` starts its own; the tests use the session's)."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from shopctl.errors import ShopctlError
from shopctl.local import localaws


def current_aws() -> localaws.LocalAws:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    port = urlparse(endpoint).port
    if not endpoint.startswith("http://127.0.0.1:") or port is None:
        raise ShopctlError(
            "the checks run against a local AWS only (AWS_ENDPOINT_URL is not http://127.0.0.1:<port>)",
            "run them through `make verify`, which starts its own",
        )
    return localaws.LocalAws(port, None)
