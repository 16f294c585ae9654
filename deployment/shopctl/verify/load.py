"""Load: bounded concurrent traffic from a separate process, then the tables are read to prove that
nothing acknowledged was lost, nothing was stored twice and no order points at a user who is missing.

Per stage, served as `make run` serves it (target "local"):
1. `python -m shopctl.verify.loadgen --phase load`: users, their orders, every one read back — gives the
   throughput and p50/p99 latency figures (reported, never asserted: machines are shared and noisy).
2. The tables, scanned with boto3: every write answered 201 is stored exactly once with the id the client
   got; every write refused (4xx) stored nothing; no order of step 1 lacks its user.
3. `--phase race`: POST /orders and DELETE /users/{id} for the same user at the same instant. DynamoDB
   Streams on both tables (enabled for this phase) time-stamp each write in the local AWS, so the check
   can tell an order written *after* its user's deletion — the race docs/contract.md ("Concurrency")
   describes — from one written before it (which the contract keeps: deleting a user keeps their orders).
   The monolith writes the order in a transaction with a condition check on the user, so it must show
   none; the microservices and clean stages check, then write, and may: those are counted and reported
   as the contract's documented behaviour, not as failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from shopctl.aws import clients
from shopctl.aws.resources import TableNames
from shopctl.serving import serve
from shopctl.verify.env import current_aws
from shopctl.verify.result import Result

CHECK = "load"
# Stages whose order write is conditional on the user in the same transaction: the monolith's ConditionCheck
# in its TransactWriteItems, the clean stage's unit of work (the same transaction, made by its DynamoDB adapter).
# The microservices cannot: the user lives in another service's table (docs/contract.md, "Concurrency").
ATOMIC_USER_CHECK = {"monolith", "clean"}
FULL = {"users": 100, "orders": 3, "concurrency": 8, "races": 40}
REDUCED = {"users": 12, "orders": 2, "concurrency": 4, "races": 8}
LOADGEN_TIMEOUT_S = 600


def cases(stages: list[str], targets: list[str]) -> list[tuple[str, str]]:
    return [(stage, "local") for stage in stages] if "local" in targets else []


def scan(table: str) -> list[dict[str, Any]]:
    client = clients.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items += [{k: next(iter(v.values())) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def enable_streams(tables: TableNames) -> dict[str, str]:
    """Turn on a KEYS_ONLY stream on both tables; returns table -> stream ARN."""
    client = clients.client("dynamodb")
    arns = {}
    for table in (tables.users, tables.orders):
        description = client.describe_table(TableName=table)["Table"]
        if description.get("StreamSpecification", {}).get("StreamEnabled"):
            arns[table] = description["LatestStreamArn"]
            continue
        updated = client.update_table(
            TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
        )
        arns[table] = updated["TableDescription"]["LatestStreamArn"]
    return arns


def stream_events(stream_arn: str) -> list[tuple[str, str, datetime]]:
    """(eventName, id, ApproximateCreationDateTime) of every record of the stream."""
    streams = clients.client("dynamodbstreams")
    events = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                data = record["dynamodb"]
                events.append((record["eventName"], data["Keys"]["id"]["S"], data["ApproximateCreationDateTime"]))
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return events


def loadgen(base_url: str, run_id: str, phase: str, sizes: dict[str, int], workdir: Path) -> dict[str, Any]:
    out = workdir / f"{phase}.json"
    argv = [
        sys.executable, "-m", "shopctl.verify.loadgen", "--base-url", base_url, "--run-id", run_id,
        "--phase", phase, "--users", str(sizes["users"]), "--orders", str(sizes["orders"]),
        "--races", str(sizes["races"]), "--concurrency", str(sizes["concurrency"]), "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=LOADGEN_TIMEOUT_S)
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the load generator failed (exit {done.returncode}): {tail[0]}")
    return json.loads(out.read_text())


def check_writes(
    result: Result, writes: list[dict[str, Any]], stored: dict[str, list[dict[str, Any]]], deleted: set[str]
) -> None:
    """Acknowledged: stored exactly once, with the id the client got — or gone, if its deletion was
    acknowledged (the race users). Refused: nothing stored."""
    for write in writes:
        items = stored.get(write["marker"], [])
        if write["id"] in deleted:
            if items:
                result.fail(f"{write['kind']} {write['marker']}: deletion answered 204, yet still stored")
        elif write["status"] == 201:
            if len(items) != 1:
                result.fail(f"{write['kind']} {write['marker']}: acknowledged, stored {len(items)} times")
            elif items[0]["id"] != write["id"]:
                result.fail(f"{write['kind']} {write['marker']}: stored as {items[0]['id']}, client got {write['id']}")
        elif write["status"] is not None and items:
            result.fail(f"{write['kind']} {write['marker']}: answered {write['status']}, yet stored")


def run(stage: str, target: str, *, reduced: bool) -> list[Result]:
    sizes = REDUCED if reduced else FULL
    result = Result(CHECK, stage, target)
    run_id = uuid.uuid4().hex[:10]
    with (
        tempfile.TemporaryDirectory(prefix="shop-load-") as scratch,
        serve(stage, target, current_aws(), logs=Path(scratch) / "logs") as deployed,
    ):
        workdir = Path(scratch)
        load = loadgen(deployed.base_url, run_id, "load", sizes, workdir)
        arns = enable_streams(deployed.tables)
        races = loadgen(deployed.base_url, run_id, "race", sizes, workdir)
        users = [u for u in scan(deployed.tables.users) if run_id in u.get("email", "")]
        orders = [o for o in scan(deployed.tables.orders) if run_id in o.get("product", "")]
        user_events = stream_events(arns[deployed.tables.users])
        order_events = stream_events(arns[deployed.tables.orders])

    result.tried = load["requests"] + races["requests"]
    for line in load["problems"] + races["problems"]:
        result.fail(line)
    by_marker: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for user in users:
        by_marker[user["email"]].append(user)
    for order in orders:
        by_marker[order["product"]].append(order)
    deleted = {r["user_id"] for r in races["races"] if r.get("delete_status") == 204}
    check_writes(result, load["writes"] + races["writes"], by_marker, deleted)

    user_ids = {u["id"] for u in users}
    for order in orders:
        if order["product"].startswith("load-") and order["user_id"] not in user_ids:
            result.fail(f"order {order['id']} (no race involved) belongs to missing user {order['user_id']}")

    deleted_at = {key: when for name, key, when in user_events if name == "REMOVE"}
    written_at = {key: when for name, key, when in order_events if name == "INSERT"}
    late, kept, refused = 0, 0, 0
    for race in races["races"]:
        if race.get("order_status") == 404:
            refused += 1
            continue
        if race.get("order_status") != 201:
            continue
        if race.get("order_sent", 0) > race.get("delete_acked", float("inf")):
            result.fail(f"race: order {race['order_id']} accepted although its user's deletion had been answered")
        order_time, delete_time = written_at.get(race["order_id"]), deleted_at.get(race["user_id"])
        if order_time is None or delete_time is None:
            result.fail(f"race: no stream record for order {race['order_id']} or user {race['user_id']}")
        elif order_time > delete_time:
            late += 1
        else:
            kept += 1
    if stage in ATOMIC_USER_CHECK and late:
        result.fail(f"race: {late} order(s) written after their user's deletion despite the transaction")
    elif late:
        result.notes.append(
            f"{late} of {len(races['races'])} racing orders were written after their user's deletion (orphans): "
            "this stage checks the user, then writes — docs/contract.md 'Concurrency' documents it"
        )
    elif stage not in ATOMIC_USER_CHECK:
        result.notes.append(
            f"no orphan in {len(races['races'])} races this run, but this stage can orphan an order "
            "(check-then-write, docs/contract.md 'Concurrency')"
        )
    result.figures = {
        "rps": round(load["rps"], 1),
        "p50_ms": round(load["p50_ms"], 1),
        "p99_ms": round(load["p99_ms"], 1),
        "races": len(races["races"]),
        "race_201": late + kept,
        "race_404": refused,
        "orphans": late,
    }
    return [result]
