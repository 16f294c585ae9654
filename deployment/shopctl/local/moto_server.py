"""The local AWS's server process: moto's server, with DynamoDB's item operations made atomic (and its
service lookup made once, not per request; AWS managed policies loaded into the one partition it serves;
the SDK's data read once), and refusing what a real AWS account refuses (`shopctl.local.strict`).

Why: moto serves requests on threads, and its TransactWriteItems is not isolated from them — it copies
the tables, applies the items one by one (even after a condition check failed) and, on cancellation,
puts the copies back, undoing whatever other requests wrote meanwhile. Under concurrent load that loses
acknowledged deletes and writes, and lets a cancelled transaction's Put be seen: nothing the monolith's
condition-checked transaction can do about it, and not what DynamoDB does (its transactions are
serializable with single-item writes). `make verify`'s load check found it; one lock around the item
operations gives the local AWS DynamoDB's guarantee. moto is CPU-bound under the GIL anyway, so
serialising these calls costs next to no throughput.

    python -m shopctl.local.moto_server -H 127.0.0.1 -p 5000      (what shopctl.local.localaws starts)
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from shopctl.aws import clients
from shopctl.local import strict

# (moto is imported inside the functions: main() first gives the SDK's data one loader, which moto's
# imports already use.)

ITEM_OPERATIONS = (
    "get_item", "put_item", "update_item", "delete_item", "query", "scan",
    "batch_get_item", "batch_write_item", "transact_get_items", "transact_write_items",
    "execute_statement", "execute_transaction", "batch_execute_statement",
)  # fmt: skip
_LOCK = threading.RLock()  # re-entrant: a transaction calls put_item/delete_item itself


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    wrapper.__shop_serialised__ = True  # type: ignore[attr-defined]
    return wrapper


def serialise_item_operations() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in ITEM_OPERATIONS:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "__shop_serialised__", False):
            setattr(DynamoDBBackend, name, _serialised(method))


def list_moto_modules_once() -> None:
    """moto finds the service a request is for by listing its own package folder — a stat per entry, on
    every request: a quarter of the server's CPU time under the tests' load. The list cannot change while
    the server runs, so it is read once."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def managed_policies_in_one_partition(partition: str = "aws") -> None:
    """AWS managed policies (`arn:aws:iam::aws:policy/…`) exist in every real account, and the EKS cluster
    roles attach some, so the local AWS asks moto for them (MOTO_IAM_LOAD_MANAGED_POLICIES). moto then
    builds all ~1,600 of them in each of the six partitions' IAM (aws, aws-cn, aws-us-gov, …) on the first
    request, to look up whose access key it is: half a second of every server's start. The local AWS
    stands in for an account in the standard partition (`arn:aws:…`), so they are built there only."""
    from moto.iam.models import IAMBackend

    load = IAMBackend._init_aws_policies
    if getattr(load, "__shop_one_partition__", False):
        return

    def in_one_partition(self: Any) -> Any:
        return load(self) if self.region_name == partition else []

    in_one_partition.__shop_one_partition__ = True  # type: ignore[attr-defined]
    IAMBackend._init_aws_policies = in_one_partition  # type: ignore[method-assign]


def main() -> None:
    clients.one_sdk_loader()  # moto makes a botocore session per AWS service it serves
    serialise_item_operations()
    list_moto_modules_once()
    managed_policies_in_one_partition()
    strict.apply()  # a fresh local AWS behaves like a fresh account
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
