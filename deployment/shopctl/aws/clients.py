"""boto3 clients and the region, made once per process and AWS environment.

A boto3 client costs about 10 ms of CPU to make (its service model, endpoint rules and event handlers), and a
new `boto3.session.Session()` reloads the SDK's endpoint data from disk. One `make deploy` asks for a
client a few hundred times, the tests tens of thousands, so each is made once and reused — boto3 clients are
thread-safe; sessions are not shared across threads here, only read.

What a client talks to is fixed when it is made (endpoint, region, credentials), so the cache is keyed by
every `AWS_*` environment variable and by boto3's default session: pointing boto3 at another AWS
(`localaws.LocalAws.use()`, ENV=aws, a test's own moto account) or replacing the default session gets new
clients, as a fresh `boto3.client(...)` would. Only the last few environments' clients are kept.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

import boto3
import botocore.loaders
import botocore.session

KEEP = 4  # environments whose clients are kept (a process switches between two or three at most)
_lock = threading.Lock()
_clients: dict[tuple, dict[str, Any]] = {}  # environment -> service -> client, oldest environment first
_sessions: dict[tuple, boto3.session.Session] = {}


def environment() -> tuple[tuple[str, str], ...]:
    """Every `AWS_*` variable of the process environment: what a client or session made now depends on."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def client(service: str) -> Any:
    """`boto3.client(service)` on boto3's default session, made once per AWS environment."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    key = (boto3.DEFAULT_SESSION, environment())
    made = _clients.get(key, {}).get(service)
    if made is None:
        with _lock:
            services = _clients.get(key)
            if services is None:
                services = _clients[key] = {}
                while len(_clients) > KEEP:
                    del _clients[next(iter(_clients))]
            made = services.get(service)
            if made is None:
                made = services[service] = boto3.client(service)
    return made


def session() -> boto3.session.Session:
    """A session for reading the configuration boto3 resolves now (region, credentials) — what
    `boto3.session.Session()` gives, made once per AWS environment."""
    key = environment()
    made = _sessions.get(key)
    if made is None:
        with _lock:
            made = _sessions.setdefault(key, boto3.session.Session())
            while len(_sessions) > KEEP:
                del _sessions[next(iter(_sessions))]
    return made


def region() -> str | None:
    """The region boto3 uses now (None when none is configured)."""
    return session().region_name


def forget() -> None:
    """Make every client anew from now on — e.g. after event hooks were added to the default session,
    which a client only takes when it is made."""
    with _lock:
        _clients.clear()
        _sessions.clear()


def one_sdk_loader() -> None:
    """Make every botocore session of this process share one loader of the SDK's data. Each new session
    otherwise reads and parses its JSON from disk again (endpoints.json alone is 1 MB): moto makes one per
    AWS service it serves, the tests one per moto account. What a loader returns is only ever read."""
    if getattr(botocore.session.create_loader, "__shop_shared__", False):
        return
    shared = functools.cache(botocore.loaders.create_loader)
    shared.__shop_shared__ = True  # type: ignore[attr-defined]
    botocore.session.create_loader = shared
