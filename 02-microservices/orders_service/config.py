"""Where the orders-service finds its settings: it asks which runtime it is running on, then goes and
reads them there itself.

Yes, this is the users-service's config.py again, with "orders" in it. The duplication is deliberate:
each service deploys on its own, so neither imports the other's code, and a shared "common" package
would tie their releases back together. Which means every runtime change — a new SSM prefix, a fifth
runtime, a different file layout — is now an edit in *every* service. That is what the microservices
split did not fix; the clean-architecture stage moves this knowledge out of the application.

Logical keys are paths (`orders/table`, docs/contract.md): the path is the SSM parameter name under the
prefix, the path into the JSON file, and — upper-cased with `/` -> `_` — the environment variable name.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_SSM_PREFIX = "/shop"
DEFAULT_CONFIG_FILE = "/etc/shop/config.json"
DEFAULT_USERS_SERVICE_TIMEOUT = 2.0


# Read at startup only: short timeouts, so a task that cannot reach SSM fails its start in seconds.
SSM_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})


class ConfigError(RuntimeError):
    """The deployment is misconfigured (a server problem, never something a client did)."""


def runtime() -> str | None:
    """The runtime this process was told it runs on: LAMBDA, ECS or EKS (None when unset)."""
    value = os.environ.get("RUNTIME", "").strip().upper()
    return value or None


# Cached for the life of the process (one Lambda execution environment, one container): an SSM call or
# a file read on every request would add latency, and SSM's GetParameter has an account-wide rate
# limit. The flip side: a changed parameter is only seen after a restart — and tests must call
# `setting.cache_clear()` between runtimes.
@functools.cache
def setting(key: str) -> str:
    """The value of logical key `key` (e.g. "orders/table"), read where the current runtime keeps it."""
    current = runtime()
    if current == "LAMBDA":
        # Lambda: the function's environment variables (set in the function configuration).
        name = key.replace("/", "_").upper()
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"RUNTIME=LAMBDA but environment variable {name} is not set")
        return value
    if current == "ECS":
        # ECS: SSM Parameter Store, read with boto3 — the service has to know the AWS API.
        prefix = os.environ.get("SSM_PREFIX", DEFAULT_SSM_PREFIX).rstrip("/")
        name = f"{prefix}/{key}"
        try:
            return boto3.client("ssm", config=SSM_CONFIG).get_parameter(Name=name)["Parameter"]["Value"]
        except BotoCoreError as error:  # SSM unreachable or timed out
            raise ConfigError(f"RUNTIME=ECS but SSM parameter {name} cannot be read: {error}") from error
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ParameterNotFound":
                raise ConfigError(f"RUNTIME=ECS but SSM parameter {name} does not exist") from error
            raise ConfigError(f"RUNTIME=ECS but reading SSM parameter {name} failed: {code}") from error
    if current == "EKS":
        # EKS: a JSON file mounted from a ConfigMap, {"orders": {"table": ...}}.
        path = os.environ.get("CONFIG_FILE", DEFAULT_CONFIG_FILE)
        try:
            with open(path, encoding="utf-8") as file:
                node: Any = json.load(file)
        except (OSError, ValueError) as error:
            raise ConfigError(f"RUNTIME=EKS but config file {path} cannot be read: {error}") from error
        for part in key.split("/"):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"RUNTIME=EKS but config file {path} has no {key!r}")
            node = node[part]
        if not isinstance(node, str) or not node:
            raise ConfigError(f"RUNTIME=EKS but {key!r} in config file {path} is not a non-empty string")
        return node
    raise ConfigError(f"unknown RUNTIME {os.environ.get('RUNTIME')!r}; expected one of LAMBDA, ECS, EKS")


def orders_table() -> str:
    return setting("orders/table")


# Where the users-service lives is service discovery, not application configuration: every runtime
# hands it to the container/function as an environment variable (an ECS Service Connect name, a
# Kubernetes Service DNS name, a Lambda function URL or load balancer address). So no branching here.
def users_service_url() -> str:
    value = os.environ.get("USERS_SERVICE_URL", "").strip()
    if not value:
        raise ConfigError("USERS_SERVICE_URL is not set (the orders-service needs the users-service)")
    return value.rstrip("/")


def users_service_timeout() -> float:
    """Seconds to wait for the users-service; short, because a client is waiting on us meanwhile."""
    raw = os.environ.get("USERS_SERVICE_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_USERS_SERVICE_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"USERS_SERVICE_TIMEOUT must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 60:
        raise ConfigError(f"USERS_SERVICE_TIMEOUT must be between 0 and 60 seconds, got {raw!r}")
    return value
