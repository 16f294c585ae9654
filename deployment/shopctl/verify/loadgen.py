"""The load generator of `make verify`'s load check, run as its own process so the clients never share
an interpreter (or a GIL) with the code that judges the result:

    python -m shopctl.verify.loadgen --base-url URL --run-id ID --phase load|race --out result.json

Phase "load": `--users` units of work on `--concurrency` threads; each creates a user, `--orders` orders
for them, and reads every one back (by id, and the user's orders through `GET /orders?user_id=`).
Phase "race": `--races` times, a fresh user, then `POST /orders` for them and `DELETE /users/{id}` sent
at the same instant from two threads.

Every write carries the run id in a field (the email, the product) so the check can find exactly what
this run stored in the tables. The output records each write's outcome (status, id) and the latency of
every request; it judges only what a client can see, the tables are the check's business.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shopctl import httpclient

TIMEOUT_S = 30.0


@dataclass
class Recorder:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)  # one per POST: kind, marker, status, id
    races: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            with self.lock:
                self.statuses["error"] += 1
                self.problems.append(f"{method} {path}: {type(error).__name__}: {error}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies_ms.append(elapsed)
            self.statuses[str(response.status_code)] += 1
            if response.status_code >= 500:
                self.problems.append(f"{method} {path} -> {response.status_code}: {response.text[:120]}")
        return response

    def problem(self, line: str) -> None:
        with self.lock:
            self.problems.append(line)

    def write(self, kind: str, marker: str, response: httpx.Response | None) -> dict[str, Any] | None:
        body = response.json() if response is not None and response.status_code == 201 else None
        with self.lock:
            self.writes.append(
                {
                    "kind": kind,
                    "marker": marker,
                    "status": response.status_code if response is not None else None,
                    "id": body["id"] if body else None,
                }
            )
        return body


def _expect(rec: Recorder, response: httpx.Response | None, status: int, what: str) -> bool:
    if response is None:
        return False
    if response.status_code != status:
        rec.problem(f"{what}: {response.status_code}, expected {status}: {response.text[:120]}")
        return False
    return True


def user_and_orders(client: httpx.Client, rec: Recorder, run_id: str, n: int, orders: int) -> None:
    email = f"load-{run_id}-{n}@example.com"
    response = rec.request(client, "POST", "/users", json={"name": f"Load {n}", "email": email})
    user = rec.write("user", email, response)
    if not _expect(rec, response, 201, "POST /users") or user is None:
        return
    created = []
    for k in range(orders):
        product = f"load-{run_id}-{n}-{k}"
        body = {"user_id": user["id"], "product": product, "quantity": k + 1}
        response = rec.request(client, "POST", "/orders", json=body)
        order = rec.write("order", product, response)
        if _expect(rec, response, 201, "POST /orders") and order is not None:
            created.append(order)
    got = rec.request(client, "GET", f"/users/{user['id']}")
    if _expect(rec, got, 200, "GET /users/{id}") and got is not None and got.json() != user:
        rec.problem(f"GET /users/{user['id']} returned {got.json()}, created {user}")
    for order in created:
        got = rec.request(client, "GET", f"/orders/{order['id']}")
        if _expect(rec, got, 200, "GET /orders/{id}") and got is not None and got.json() != order:
            rec.problem(f"GET /orders/{order['id']} returned {got.json()}, created {order}")
    listed = rec.request(client, "GET", "/orders", params={"user_id": user["id"], "limit": 100})
    if _expect(rec, listed, 200, "GET /orders?user_id=") and listed is not None:
        ids = sorted(o["id"] for o in listed.json()["items"])
        if ids != sorted(o["id"] for o in created):
            rec.problem(f"GET /orders?user_id={user['id']} lists {len(ids)} orders, {len(created)} were created")


def race(client: httpx.Client, rec: Recorder, run_id: str, n: int) -> None:
    """POST /orders and DELETE /users/{id} for the same fresh user, released at the same instant."""
    email = f"race-{run_id}-{n}@example.com"
    response = rec.request(client, "POST", "/users", json={"name": f"Race {n}", "email": email})
    user = rec.write("user", email, response)
    if not _expect(rec, response, 201, "POST /users (race)") or user is None:
        return
    product = f"race-{run_id}-{n}"
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {"user_id": user["id"], "product": product}

    def order() -> None:
        barrier.wait()
        outcome["order_sent"] = time.time()
        resp = rec.request(client, "POST", "/orders", json={"user_id": user["id"], "product": product, "quantity": 1})
        created = rec.write("order", product, resp)
        outcome["order_status"] = resp.status_code if resp is not None else None
        outcome["order_id"] = created["id"] if created else None

    def delete() -> None:
        barrier.wait()
        resp = rec.request(client, "DELETE", f"/users/{user['id']}")
        outcome["delete_acked"] = time.time()
        outcome["delete_status"] = resp.status_code if resp is not None else None

    threads = [threading.Thread(target=order), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if outcome.get("order_status") not in (201, 404):
        rec.problem(f"race {n}: POST /orders -> {outcome.get('order_status')}, expected 201 or 404")
    if outcome.get("delete_status") != 204:
        rec.problem(f"race {n}: DELETE /users -> {outcome.get('delete_status')}, expected 204")
    with rec.lock:
        rec.races.append(outcome)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopctl.verify.loadgen")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--phase", choices=["load", "race"], required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--orders", type=int, default=2, help="orders per user")
    parser.add_argument("--races", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    rec = Recorder()
    limits = httpx.Limits(max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2)
    started = time.perf_counter()
    with (
        httpclient.client(base_url=args.base_url, timeout=TIMEOUT_S, limits=limits) as client,
        ThreadPoolExecutor(max_workers=args.concurrency) as pool,
    ):
        if args.phase == "load":
            jobs = [pool.submit(user_and_orders, client, rec, args.run_id, n, args.orders) for n in range(args.users)]
        else:
            jobs = [pool.submit(race, client, rec, args.run_id, n) for n in range(args.races)]
        for job in jobs:
            job.result()
    elapsed = time.perf_counter() - started
    requests = sum(rec.statuses.values())
    out = {
        "phase": args.phase,
        "requests": requests,
        "elapsed_s": elapsed,
        "rps": requests / elapsed if elapsed else 0.0,
        "p50_ms": percentile(rec.latencies_ms, 50),
        "p99_ms": percentile(rec.latencies_ms, 99),
        "statuses": dict(rec.statuses),
        "problems": rec.problems,
        "writes": rec.writes,
        "races": rec.races,
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{args.phase}: {requests} requests in {elapsed:.1f}s ({out['rps']:.0f}/s), p50 {out['p50_ms']:.1f} ms, "
          f"p99 {out['p99_ms']:.1f} ms, {len(rec.problems)} problems", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
