"""HTTP clients for the deploy code and the tests: one TLS context per process.

httpx builds a new `ssl.SSLContext` for every client it makes, `httpx.get(...)` included: it reads and
parses the CA bundle, ~16 ms of CPU, even for a plain-http URL that never uses it. A loop that polls a
starting server, or a client per test, paid that hundreds of times: a tenth of `make test`'s CPU. The
context is the same every time (httpx's default: certifi's CAs, `SSL_CERT_FILE` honoured), so it is made
once and handed to every client; certificates are still verified for https (a real Function URL or ALB).

The stages do not use this module: each of their HTTP clients is made once per process already.
"""
from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls() -> ssl.SSLContext:
    """httpx's default context, made once (an SSLContext is safe to share between clients and threads)."""
    return httpx.create_ssl_context()


def client(**options: Any) -> httpx.Client:
    return httpx.Client(verify=tls(), **options)


def async_client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=tls(), **options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    return httpx.request(method, url, verify=tls(), **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)
