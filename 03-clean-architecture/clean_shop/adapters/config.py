"""ConfigPort adapters: one per runtime, each reading the same logical keys from a different place.

This is the heart of the talk. In the monolith, every function that needs a table name carries an
`if RUNTIME == ...` ladder. Here each runtime's way of reading settings is one small class, the code
that needs a setting asks `config.get_table_name("users")`, and bootstrap.py picks the class once.
Adding a runtime means adding a class here, not editing every entity.

    key "users/table"   LAMBDA: env var USERS_TABLE
                        ECS:    SSM parameter /shop/users/table
                        EKS:    {"users": {"table": ...}} in the mounted JSON file

None of them reads os.environ or creates AWS clients: they receive the environment mapping, the SSM
client or the file path. That keeps them testable, and keeps bootstrap.py the one place that knows
about the process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clean_shop.application.errors import ConfigurationError
from clean_shop.application.ports import ConfigPort

DEFAULT_SSM_PREFIX = "/shop"
DEFAULT_CONFIG_FILE = "/etc/shop/config.json"


def env_name(key: str) -> str:
    """`users/table` -> `USERS_TABLE`."""
    return key.replace("/", "_").upper()


class LambdaConfigAdapter(ConfigPort):
    """Lambda: settings are the function's environment variables."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, key: str) -> str:
        name = env_name(key)
        value = self._environ.get(name)
        if not value:
            raise ConfigurationError(f"environment variable {name} is not set (config key {key!r})")
        return value


class ECSConfigAdapter(ConfigPort):
    """ECS: settings are SSM Parameter Store parameters named `<prefix>/<key>`."""

    def __init__(self, ssm_client: Any, prefix: str = DEFAULT_SSM_PREFIX) -> None:
        self._ssm = ssm_client
        self._prefix = prefix.rstrip("/")
        # Every lookup is a network call with a request quota; settings do not change while the task
        # runs (a new task definition or deployment does that), so each parameter is read once.
        self._cache: dict[str, str] = {}

    def parameter_name(self, key: str) -> str:
        return f"{self._prefix}/{key}"

    def get(self, key: str) -> str:
        name = self.parameter_name(key)
        if name not in self._cache:
            try:
                response = self._ssm.get_parameter(Name=name, WithDecryption=True)
            except self._ssm.exceptions.ParameterNotFound:
                raise ConfigurationError(f"SSM parameter {name} not found (config key {key!r})") from None
            except self._ssm.exceptions.ClientError as error:
                code = error.response.get("Error", {}).get("Code", "error")
                raise ConfigurationError(f"cannot read SSM parameter {name}: {code}") from error
            except Exception as error:  # SSM unreachable or timed out: this process cannot start either
                raise ConfigurationError(f"cannot read SSM parameter {name}: {error}") from error
            self._cache[name] = response["Parameter"]["Value"]
        return self._cache[name]


class EKSConfigAdapter(ConfigPort):
    """EKS: settings are a JSON file mounted from a ConfigMap; key `users/table` is the path
    document["users"]["table"]. The file is read once, on first use; a changed ConfigMap takes effect
    when the pods restart (kubectl rollout restart).
    """

    def __init__(self, path: str | Path = DEFAULT_CONFIG_FILE) -> None:
        self._path = Path(path)
        self._document: Any = None

    def _load(self) -> Any:
        if self._document is None:
            try:
                self._document = json.loads(self._path.read_bytes())
            except FileNotFoundError:
                missing = f"config file {self._path} not found (is the ConfigMap mounted?)"
                raise ConfigurationError(missing) from None
            except OSError as error:
                raise ConfigurationError(f"cannot read config file {self._path}: {error.strerror}") from None
            except ValueError:
                raise ConfigurationError(f"config file {self._path} is not valid JSON") from None
        return self._document

    def get(self, key: str) -> str:
        node = self._load()
        for part in key.split("/"):
            if not isinstance(node, dict) or part not in node:
                raise ConfigurationError(f"config key {key!r} not found in {self._path}")
            node = node[part]
        if not isinstance(node, str) or not node:
            raise ConfigurationError(f"config key {key!r} in {self._path} must be a non-empty string")
        return node
