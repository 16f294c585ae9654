"""Where the orders-service finds its settings: it asks which runtime it is running on, then goes and
reads them there itself.

Yes, this is the users-service's config.py again, with "orders" in it. The duplication is deliberate:
each service deploys on its own, so neither imports the other's code, and a shared "common" package
would tie their releases back together. Which means every runtime change — a new SSM prefix, a runtime
beyond Lambda, ECS and EKS, a different file layout — is an edit in *every* service. That is what the
microservices split did not fix; the clean-architecture stage moves this knowledge out of the application.

Logical keys are paths (`orders/table`, docs/contract.md): the path is the SSM parameter name under the
prefix, the path into the JSON file, and — upper-cased with `/` -> `_` — the environment variable name.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_SSM_PREFIX = "/shop"
DEFAULT_CONFIG_FILE = "/etc/shop/config.json"
RUNTIMES = ("LAMBDA", "ECS", "EKS")
DEFAULT_USERS_SERVICE_TIMEOUT = 2.0

# Every boto3 client this service makes (SSM here, DynamoDB in repository.py) uses these timeouts and
# retries (docs/contract.md). boto3's defaults (60 s to connect, 60 s to read) would hold a request or a
# start for minutes when AWS is unreachable. A call takes milliseconds, so: 1 s to connect, 2 s to read,
# at most 2 attempts ("standard" mode backs off with jitter and retries throttling). Worst case about 5 s.
AWS_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured (unknown RUNTIME, missing setting): the process must not start."""


def runtime() -> str:
    """RUNTIME, trimmed and upper-cased (`lambda` is `LAMBDA`); a ConfigurationError if it is no runtime."""
    raw = os.environ.get("RUNTIME", "").strip()
    if not raw:
        raise ConfigurationError(f"RUNTIME is not set; expected one of {', '.join(RUNTIMES)}")
    if raw.upper() not in RUNTIMES:
        raise ConfigurationError(f"RUNTIME={raw!r} is not supported; expected one of {', '.join(RUNTIMES)}")
    return raw.upper()


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
            raise ConfigurationError(f"environment variable {name} is not set (config key {key!r})")
        return value
    if current == "ECS":
        # ECS: SSM Parameter Store, read with boto3 — the service has to know the AWS API. The task role
        # needs ssm:GetParameter (and kms:Decrypt for a SecureString; WithDecryption is harmless otherwise).
        name = f"{os.environ.get('SSM_PREFIX', DEFAULT_SSM_PREFIX).rstrip('/')}/{key}"
        ssm = boto3.client("ssm", config=AWS_CLIENT_CONFIG)
        try:
            return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            if code == "ParameterNotFound":
                raise ConfigurationError(f"SSM parameter {name} not found (config key {key!r})") from error
            raise ConfigurationError(f"cannot read SSM parameter {name}: {code}") from error
        except BotoCoreError as error:  # SSM unreachable or timed out: this process cannot start either
            raise ConfigurationError(f"cannot read SSM parameter {name}: {error}") from error
    if current == "EKS":
        # EKS: a JSON file mounted from a ConfigMap, {"orders": {"table": ...}}.
        path = os.environ.get("CONFIG_FILE", DEFAULT_CONFIG_FILE)
        try:
            node: Any = json.loads(Path(path).read_bytes())
        except FileNotFoundError:
            raise ConfigurationError(f"config file {path} not found (is the ConfigMap mounted?)") from None
        except OSError as error:
            raise ConfigurationError(f"cannot read config file {path}: {error.strerror}") from None
        except ValueError:
            raise ConfigurationError(f"config file {path} is not valid JSON") from None
        for part in key.split("/"):
            if not isinstance(node, dict) or part not in node:
                raise ConfigurationError(f"config key {key!r} not found in {path}")
            node = node[part]
        if not isinstance(node, str) or not node:
            raise ConfigurationError(f"config key {key!r} in {path} must be a non-empty string")
        return node
    raise ConfigurationError(f"RUNTIME={current!r} is not supported")  # runtime() let through a new name


def orders_table() -> str:
    return setting("orders/table")


# Where the users-service lives is service discovery, not application configuration: every runtime
# hands it to the container/function as an environment variable (an ECS Service Connect name, a
# Kubernetes Service DNS name, a Lambda function URL or load balancer address). So no branching here.
def users_service_url() -> str:
    value = os.environ.get("USERS_SERVICE_URL", "").strip()
    if not value:
        raise ConfigurationError("USERS_SERVICE_URL is not set (the orders-service needs the users-service)")
    return value.rstrip("/")


# How the orders-service proves who it is to the users-service: nothing (NONE), or — when the users-service
# sits behind a Lambda Function URL that takes signed requests only — SigV4 with the function's own role
# (AWS_IAM). Set by the deploy, like the address; signing also needs the region, which Lambda always sets.
USERS_AUTH_TYPES = ("NONE", "AWS_IAM")


def users_auth() -> str:
    value = os.environ.get("USERS_AUTH", "").strip().upper() or "NONE"
    if value not in USERS_AUTH_TYPES:
        raise ConfigurationError(f"USERS_AUTH must be one of {', '.join(USERS_AUTH_TYPES)}, got {value!r}")
    if value == "AWS_IAM" and not os.environ.get("AWS_REGION", "").strip():
        raise ConfigurationError("USERS_AUTH=AWS_IAM needs AWS_REGION (the region to sign requests for)")
    return value


def aws_region() -> str:
    return os.environ["AWS_REGION"].strip()


def users_service_timeout() -> float:
    """Seconds to wait for the users-service; short, because a client is waiting on us meanwhile."""
    raw = os.environ.get("USERS_SERVICE_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_USERS_SERVICE_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"USERS_SERVICE_TIMEOUT must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 60:
        raise ConfigurationError(f"USERS_SERVICE_TIMEOUT must be between 0 and 60 seconds, got {raw!r}")
    return value
