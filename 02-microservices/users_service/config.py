"""Where the users-service finds its settings: it asks which runtime it is running on, then goes and
reads them there itself.

This is the monolith's configuration code moved into a service, not removed. The service still *knows*
that Lambda means environment variables, ECS means SSM Parameter Store and EKS means a mounted file — it
ships all three runtimes' plumbing wherever it runs, and a fourth runtime (or a change in how one of
them provides settings) is an edit to this file. And the
orders-service carries its own copy of the same branches (orders_service/config.py): each service is
meant to be deployable on its own, so neither may import the other's code, and a shared "common"
package would couple their releases again. Duplication is the price of that independence here.

Logical keys are paths (`users/table`, docs/contract.md): the path is the SSM parameter name under the
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
    """The value of logical key `key` (e.g. "users/table"), read where the current runtime keeps it."""
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
        # EKS: a JSON file mounted from a ConfigMap, {"users": {"table": ...}}.
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


def users_table() -> str:
    return setting("users/table")
