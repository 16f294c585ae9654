"""The composition root: the ONE place that knows which adapters this process uses.

At startup, before the FastAPI app exists, bootstrap() reads RUNTIME once, picks the ConfigPort
adapter for that runtime, asks it for the table names, builds the repositories, and hands them to
the use cases. Everything else receives what it needs; no other module reads RUNTIME or os.environ.

    RUNTIME=LAMBDA  -> LambdaConfigAdapter(environment)            USERS_TABLE, ORDERS_TABLE
    RUNTIME=ECS     -> ECSConfigAdapter(SSM client, SSM_PREFIX)    /shop/users/table, ...
    RUNTIME=EKS     -> EKSConfigAdapter(CONFIG_FILE)               /etc/shop/config.json
    STORAGE=dynamodb (default) -> DynamoDB repositories; STORAGE=memory -> in-memory ones
    STORAGE=sqlite  -> SQLite repositories in the file SQLITE_PATH (default: in the temp directory)
    (each storage with its unit of work: the same database, changes committed as one unit)

Moving the shop to another runtime is a different environment variable; moving it to another
database is another adapter plus one branch in storage_for(). The use cases never change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clean_shop.adapters.config import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_SSM_PREFIX,
    ECSConfigAdapter,
    EKSConfigAdapter,
    LambdaConfigAdapter,
)
from clean_shop.adapters.memory_repository import InMemoryOrderRepository, InMemoryUnitOfWork, InMemoryUserRepository
from clean_shop.application.errors import ConfigurationError
from clean_shop.application.ports import ConfigPort, OrderRepository, UnitOfWorkFactory, UserRepository
from clean_shop.application.use_cases import (
    CreateOrderUseCase,
    CreateUserUseCase,
    DeleteOrderUseCase,
    DeleteUserUseCase,
    GetOrderUseCase,
    GetUserUseCase,
    ListOrdersUseCase,
    ListUsersUseCase,
)

RUNTIMES = ("LAMBDA", "ECS", "EKS")
STORAGES = ("dynamodb", "memory", "sqlite")


@dataclass(frozen=True)
class Storage:
    """The storage adapters of one process: both repositories and the unit of work that spans them."""

    users: UserRepository
    orders: OrderRepository
    unit_of_work: UnitOfWorkFactory


@dataclass(frozen=True)
class Container:
    """Everything an entrypoint needs, already wired. Built once per process."""

    runtime: str
    storage: str
    config: ConfigPort
    create_user: CreateUserUseCase
    get_user: GetUserUseCase
    list_users: ListUsersUseCase
    delete_user: DeleteUserUseCase
    create_order: CreateOrderUseCase
    get_order: GetOrderUseCase
    list_orders: ListOrdersUseCase
    delete_order: DeleteOrderUseCase


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str | None) -> str:
    raw = environ.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigurationError(f"{name} is not set; expected one of {', '.join(allowed)}")
        return default
    for value in allowed:
        if raw.upper() == value.upper():
            return value
    raise ConfigurationError(f"{name}={raw!r} is not supported; expected one of {', '.join(allowed)}")


def aws_client_config() -> Any:
    """Timeouts and retries for every AWS client this process makes.

    boto3's defaults (60 s to connect, 60 s to read, "legacy" retries) would hold a request for minutes
    when DynamoDB is unreachable — long after its caller gave up. A DynamoDB call normally takes
    milliseconds, so: 1 s to connect, 2 s to read, at most 2 attempts ("standard" retry mode backs off
    with jitter and also retries throttling). Worst case about 5 s; then the adapter raises
    StorageUnavailable (HTTP 503), and the next request tries again on a fresh connection — the process
    recovers by itself once the database is back, no restart needed.
    """
    from botocore.config import Config  # see config_for(): only where AWS is actually used

    return Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})


def config_for(runtime: str, environ: Mapping[str, str]) -> ConfigPort:
    """The talk's factory: the runtime decides where settings come from — decided here, once."""
    if runtime == "LAMBDA":
        return LambdaConfigAdapter(environ)
    if runtime == "ECS":
        # boto3 is imported only where AWS is actually used, so a STORAGE=memory process (and the
        # unit tests) never loads the AWS SDK — tests/unit/test_no_aws_sdk.py holds us to that.
        import boto3

        ssm = boto3.client("ssm", config=aws_client_config())
        return ECSConfigAdapter(ssm, environ.get("SSM_PREFIX") or DEFAULT_SSM_PREFIX)
    if runtime == "EKS":
        return EKSConfigAdapter(environ.get("CONFIG_FILE") or DEFAULT_CONFIG_FILE)
    raise ConfigurationError(f"RUNTIME={runtime!r} is not supported; expected one of {', '.join(RUNTIMES)}")


def storage_for(storage: str, config: ConfigPort, sqlite_path: str | None = None) -> Storage:
    if storage == "memory":
        users, orders = InMemoryUserRepository(), InMemoryOrderRepository()
        return Storage(users, orders, lambda: InMemoryUnitOfWork(users, orders))
    # Resolve both table names now: a missing setting stops the process at startup with a clear
    # ConfigurationError, instead of failing the first request that happens to need it.
    users_table = config.get_table_name("users")
    orders_table = config.get_table_name("orders")
    # Each storage's adapter is imported only when it is chosen, so a process loads the libraries of the
    # storage it uses and no other (no AWS SDK on memory or SQLite: tests/unit/test_no_aws_sdk.py).
    if storage == "sqlite":
        from clean_shop.adapters.sqlite_repository import DEFAULT_SQLITE_PATH, sqlite_repositories

        return Storage(*sqlite_repositories(sqlite_path or DEFAULT_SQLITE_PATH, users_table, orders_table))
    import boto3

    from clean_shop.adapters.dynamodb_repository import (
        DynamoDBOrderRepository,
        DynamoDBUnitOfWork,
        DynamoDBUserRepository,
    )

    # No endpoint or region here: boto3 takes them from its standard environment (AWS_ENDPOINT_URL
    # points it at the local AWS), so the very same code talks to a real account. One client for both
    # repositories and the unit of work: clients are thread-safe, and each one costs a cold start its creation.
    dynamodb = boto3.client("dynamodb", config=aws_client_config())
    return Storage(
        DynamoDBUserRepository(dynamodb, users_table),
        DynamoDBOrderRepository(dynamodb, orders_table),
        lambda: DynamoDBUnitOfWork(dynamodb, users_table, orders_table),
    )


def bootstrap(environ: Mapping[str, str] = os.environ) -> Container:
    """Read the process settings once and wire the application. Raises ConfigurationError."""
    runtime = _choice(environ, "RUNTIME", RUNTIMES, default=None)
    storage = _choice(environ, "STORAGE", STORAGES, default="dynamodb")
    config = config_for(runtime, environ)
    adapters = storage_for(storage, config, environ.get("SQLITE_PATH"))
    users, orders = adapters.users, adapters.orders
    return Container(
        runtime=runtime,
        storage=storage,
        config=config,
        create_user=CreateUserUseCase(users),
        get_user=GetUserUseCase(users),
        list_users=ListUsersUseCase(users),
        delete_user=DeleteUserUseCase(users),
        create_order=CreateOrderUseCase(adapters.unit_of_work),
        get_order=GetOrderUseCase(orders),
        list_orders=ListOrdersUseCase(orders),
        delete_order=DeleteOrderUseCase(orders),
    )


def listen_address(environ: Mapping[str, str] = os.environ) -> tuple[str, int]:
    """HOST and PORT for the container server (default 0.0.0.0:8080) — process settings live here too."""
    host = environ.get("HOST") or "0.0.0.0"
    port = environ.get("PORT") or "8080"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(f"PORT={port!r} is not a TCP port number")
    return host, int(port)
