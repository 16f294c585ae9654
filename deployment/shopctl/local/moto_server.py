"""The local AWS's server process: moto's server, with DynamoDB's item operations made atomic (and a
transaction's backup made of its own items, not of whole tables; items put in its answers as they are,
not rebuilt from the API model; its service lookup made once, not per request; AWS managed policies
loaded into the one partition it serves; the SDK's data read once), and refusing what a real AWS
account refuses (`shopctl.local.strict`).

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
import os
import sys
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


def no_iri_grammars() -> None:
    """jsonschema checks the "iri" formats with rfc3987-syntax where that is installed (jupyter-events asks
    for it), and rfc3987-syntax builds ~25 Earley grammars when it is imported: 2 s of CPU in every process
    that imports jsonschema — here moto's API Gateway, on its first request. Nothing the local AWS validates
    has an IRI format, so this process does without it: jsonschema then skips those two formats, as it does
    wherever the package is not installed."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def transactions_save_only_their_items() -> None:
    """moto backs up every table a TransactWriteItems names — the whole table, deep-copied — so it can put
    it back if the transaction is cancelled: a cost that grows with the table, paid by every order the
    monolith and the clean stage store (a third of the local AWS's CPU time with a few hundred items; the
    contract suite's tables hold thousands). A transaction touches at most 100 items, so those are what is
    saved (before it runs) and put back (when it is cancelled); the lock above keeps other requests out
    meanwhile. DynamoDB's behaviour is unchanged: all of it is written, or none."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    transact = models.DynamoDBBackend.transact_write_items
    if getattr(transact, "__shop_per_item__", False):
        return

    class TablesKept:
        """moto's `copy` module as moto.dynamodb.models sees it: its backup of a table is the table itself
        (so putting the "backup" back changes nothing); every other copy is a real one."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def saved_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        saved = []
        for entry in transact_items:
            if not isinstance(entry, dict) or "ConditionCheck" in entry:  # a check writes nothing
                continue
            op = next(iter(entry.values()), None)
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            try:
                key = op["Key"] if "Key" in op else op["Item"]
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                item = table.get_item(hash_value, range_value)
            except Exception:  # a malformed entry: moto refuses the transaction before it writes anything
                continue
            # Copied: an Update changes the stored item in place.
            saved.append((table, hash_value, range_value, copy.deepcopy(item)))
        return saved

    def put_back(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
            return
        items = table.items[hash_value]
        if item is None:
            items.pop(range_value, None)
        else:
            items[range_value] = item
        if not items:
            del table.items[hash_value]

    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = saved_items(self, transact_items)
        try:
            return transact(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(saved):
                put_back(table, hash_value, range_value, item)
            raise

    transact_write_items.__shop_per_item__ = True  # type: ignore[attr-defined]
    models.copy = TablesKept()  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


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


def _as_sent(value: Any) -> bool:
    """Whether `value` is a DynamoDB AttributeValue in its JSON wire form with nothing to encode: one of
    S, N, SS, NS, BOOL, NULL, or an M or L of such values. Binary (B, BS: bytes, base64-encoded on the
    wire) is not."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return type(inner) is str
    if kind in ("BOOL", "NULL"):
        return type(inner) is bool
    if kind in ("SS", "NS"):
        return type(inner) is list and all(type(member) is str for member in inner)
    if kind == "M":
        return type(inner) is dict and all(type(name) is str and _as_sent(v) for name, v in inner.items())
    if kind == "L":
        return type(inner) is list and all(_as_sent(v) for v in inner)
    return False


def items_answered_as_they_are() -> None:
    """moto builds every answer from the AWS API model, walking each value's shape and trying, for each of
    an AttributeValue's ten members, the spellings a Python object might give it. An item is already in
    the form DynamoDB's JSON answer carries it, so that walk returns it unchanged, at ~0.8 ms of CPU per
    item: a Scan page of 100 items took 98 ms of the server's CPU (20 ms without the walk, measured). It
    was the largest part of the local AWS's work under the contract suite and, on a busy machine, enough
    to hold the requests queued behind it past the apps' 2-second read timeout (a 503 in a contract test).
    So a map of AttributeValues (an item, a key) with nothing to encode goes into the answer as it is;
    anything else (binary values, other shapes, other services) takes moto's walk. The answer's bytes are
    the same either way (tests/local/test_moto_server.py)."""
    from moto.core.serialize import BaseJSONSerializer

    serialise_map = BaseJSONSerializer._serialize_type_map
    if getattr(serialise_map, "__shop_as_they_are__", False):
        return

    @functools.wraps(serialise_map)
    def _serialize_type_map(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if getattr(shape.value, "name", None) == "AttributeValue" and _as_sent({"M": value}):
            self._default_serialize(serialized, value, shape, key)
            return
        serialise_map(self, serialized, value, shape, key)

    _serialize_type_map.__shop_as_they_are__ = True  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_map = _serialize_type_map  # type: ignore[method-assign]


def main() -> None:
    clients.one_sdk_loader()  # moto makes a botocore session per AWS service it serves
    no_iri_grammars()
    transactions_save_only_their_items()
    items_answered_as_they_are()
    serialise_item_operations()
    list_moto_modules_once()
    managed_policies_in_one_partition()
    strict.apply()  # a fresh local AWS behaves like a fresh account
    from moto.server import main as moto_main

    try:
        moto_main()
    except SystemExit as stop:  # moto's answer to SIGTERM/SIGINT (how localaws stops it)
        # Python's own shutdown would then free every object moto made — backends, items, AWS managed
        # policies: over a second of CPU for a server that served a test run, while whoever stops it waits.
        # The process is going away: its output is flushed and it ends at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.code if isinstance(stop.code, int) else 0)


if __name__ == "__main__":
    main()
