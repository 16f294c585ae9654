"""The one place that knows the shop's AWS resources: the two DynamoDB tables and the configuration
each runtime reads (environment variables, SSM parameters, a mounted JSON file).

Used by `make run`, by the tests and by the deploy code, so all of them create exactly the same thing.
The table layout is documented in docs/contract.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import Tags

RUNTIMES = ("LAMBDA", "ECS", "EKS")
ORDERS_BY_USER_INDEX = "user_id-index"
DEFAULT_SSM_PREFIX = "/shop"


@dataclass(frozen=True)
class TableNames:
    users: str
    orders: str

    @classmethod
    def for_deployment(cls, name: str) -> TableNames:
        """`shop-<name>-users` / `shop-<name>-orders`, e.g. name = "clean" or "clean-ecs"."""
        return cls(users=f"shop-{name}-users", orders=f"shop-{name}-orders")

    def settings(self) -> dict[str, str]:
        """The logical configuration keys every stage reads (docs/contract.md)."""
        return {"users/table": self.users, "orders/table": self.orders}


TABLE_SCHEMAS: dict[str, dict[str, Any]] = {
    "users": {
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    },
    "orders": {
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": ORDERS_BY_USER_INDEX,
                "KeySchema": [
                    {"AttributeName": "user_id", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    },
}


def ensure_table(client: Any, name: str, kind: str, tags: Tags | None = None) -> bool:
    """Create table `name` with the `kind` ("users"/"orders") schema unless it exists, tagged with `tags`
    (the project only when None). True if created."""
    try:
        status = client.describe_table(TableName=name)["Table"]["TableStatus"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        status = None
    if status == "DELETING":
        # A destroy just removed it (deletion takes seconds on AWS): creating it now would fail with
        # ResourceInUseException, and treating it as there would leave the deployment without a table.
        _wait_deleted(client, name)
    elif status is not None:
        return False
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", Tags=(tags or Tags()).key_value(), **TABLE_SCHEMAS[kind]
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return True


def ensure_tables(tables: TableNames, client: Any | None = None, tags: Tags | None = None) -> list[str]:
    """Create both tables if missing (tagged with `tags`); returns the names created."""
    client = client or clients.client("dynamodb")
    created = []
    for kind, name in (("users", tables.users), ("orders", tables.orders)):
        if ensure_table(client, name, kind, tags):
            created.append(name)
    return created


def delete_tables(tables: TableNames, client: Any | None = None) -> list[str]:
    client = client or clients.client("dynamodb")
    deleted = []
    for name in (tables.users, tables.orders):
        try:
            client.delete_table(TableName=name)
            deleted.append(name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    for name in deleted:  # gone for good when this returns: a deploy right after creates them afresh
        _wait_deleted(client, name)
    return deleted


def _wait_deleted(client: Any, name: str) -> None:
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})


def parameter_name(prefix: str, key: str) -> str:
    return f"{prefix.rstrip('/')}/{key}"


def put_parameters(
    prefix: str, settings: dict[str, str], client: Any | None = None, tags: Tags | None = None
) -> list[str]:
    """Write settings as SSM String parameters `<prefix>/<key>` (what the ECS config lookup reads), new ones
    tagged with `tags` (the project only when None)."""
    client = client or clients.client("ssm")
    names = []
    for key, value in settings.items():
        name = parameter_name(prefix, key)
        # Written only when it changes: every PutParameter makes a new parameter version, and a re-deploy
        # that changes nothing must leave nothing changed.
        try:
            current = client.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ParameterNotFound":
                raise
            current = None
        if current is None:  # PutParameter takes Tags only when it creates, not with Overwrite
            client.put_parameter(Name=name, Value=value, Type="String", Tags=(tags or Tags()).key_value())
        elif current != value:
            client.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        names.append(name)
    return names


def delete_parameters(prefix: str, keys: list[str], client: Any | None = None) -> None:
    client = client or clients.client("ssm")
    names = [parameter_name(prefix, key) for key in keys]
    if names:
        client.delete_parameters(Names=names)


def config_document(settings: dict[str, str]) -> dict[str, Any]:
    """Nest `a/b` keys into the JSON document the EKS config lookup reads: {"users": {"table": …}}."""
    document: dict[str, Any] = {}
    for key, value in settings.items():
        node = document
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return document


def write_config_file(path: Path, settings: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config_document(settings), indent=2) + "\n")
    return path


def env_name(key: str) -> str:
    """`users/table` -> `USERS_TABLE` (what the Lambda config lookup reads)."""
    return key.replace("/", "_").upper()


def runtime_environment(
    runtime: str,
    settings: dict[str, str],
    *,
    ssm_prefix: str = DEFAULT_SSM_PREFIX,
    config_file: Path | None = None,
) -> dict[str, str]:
    """Publish `settings` where `runtime` looks for them and return the process environment to set.

    LAMBDA: environment variables. ECS: SSM parameters under `ssm_prefix`. EKS: a JSON file at
    `config_file` (on Kubernetes a ConfigMap mounted there).
    """
    runtime = runtime.upper()
    if runtime == "LAMBDA":
        return {"RUNTIME": runtime, **{env_name(k): v for k, v in settings.items()}}
    if runtime == "ECS":
        put_parameters(ssm_prefix, settings)
        return {"RUNTIME": runtime, "SSM_PREFIX": ssm_prefix}
    if runtime == "EKS":
        if config_file is None:
            raise ValueError("EKS needs a config_file path")
        write_config_file(config_file, settings)
        return {"RUNTIME": runtime, "CONFIG_FILE": str(config_file)}
    raise ValueError(f"unknown RUNTIME {runtime!r}; expected one of {', '.join(RUNTIMES)}")
