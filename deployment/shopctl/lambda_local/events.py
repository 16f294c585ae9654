"""HTTP ↔ Lambda, the way a Function URL does it (payload format 2.0).

`to_event` turns an HTTP request into the event a Function URL hands to the function;
`to_http` turns what the function returned into the HTTP response the caller sees. Both are pure
functions of their inputs, so they are unit-tested without any process or AWS.

Reference: https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

# Request bodies arrive as text only for these content types; everything else (a missing
# Content-Type and application/x-www-form-urlencoded included) is base64-encoded, as on AWS.
TEXT_CONTENT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")

# Lambda's synchronous payload limits (request and response): 6 MB.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # 6291556, the figure in Lambda's error message

_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # as sent, percent-encoding kept
    raw_query: str  # without the '?'
    headers: list[tuple[str, str]]  # in order, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True)
class UrlInfo:
    """Who the Function URL belongs to: what requestContext reports."""

    url_id: str
    region: str
    account_id: str = "anonymous"  # what AWS reports for an auth-type NONE URL

    @property
    def domain_name(self) -> str:
        return f"{self.url_id}.lambda-url.{self.region}.on.aws"


class InvalidResponse(ValueError):
    """The function returned something a Function URL cannot turn into HTTP (the caller gets a 502)."""


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(TEXT_CONTENT_TYPES)


def request_time(epoch_ms: int) -> str:
    """requestContext.time, e.g. '12/Mar/2020:19:03:58 +0000'."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def to_event(
    request: HttpRequest,
    *,
    request_id: str,
    url: UrlInfo,
    epoch_ms: int | None = None,
    trace_id: str | None = None,
) -> dict:
    """The Function URL event (payload format 2.0) for one HTTP request."""
    epoch_ms = int(time.time() * 1000) if epoch_ms is None else epoch_ms
    cookies: list[str] = []
    pairs: list[tuple[str, str]] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":  # cookies travel in their own field, not as a header
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            pairs.append((key, value))
    headers = _joined(pairs)
    # What the Function URL front end adds (locally the scheme and port are the real local ones).
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "")
    if "x-forwarded-port" not in headers:
        headers["x-forwarded-port"] = host.rsplit(":", 1)[1] if ":" in host else "80"
    if trace_id:
        headers["x-amzn-trace-id"] = trace_id

    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path or "/",
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        params = _joined(parse_qsl(request.raw_query, keep_blank_values=True))
        if params:
            event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": url.account_id,
        "apiId": url.url_id,
        "domainName": url.domain_name,
        "domainPrefix": url.url_id,
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path or "/",
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": request_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    if request.body:
        if is_text(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(request.body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def to_http(payload: bytes | str) -> HttpResponse:
    """The HTTP response for what the function returned (its JSON-serialized result).

    A JSON object with a `statusCode` is a response description (statusCode, headers, cookies,
    body, isBase64Encoded). Any other valid JSON is the body of a 200 application/json response.
    Raises InvalidResponse for anything a Function URL would answer with 502.
    """
    raw = payload.encode() if isinstance(payload, str) else payload
    if len(raw) > MAX_RESPONSE_BYTES:
        raise InvalidResponse(f"response payload is {len(raw)} bytes, over {MAX_RESPONSE_BYTES}")
    try:
        result = json.loads(raw)
    except ValueError:
        raise InvalidResponse("the function's response is not valid JSON") from None
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("content-type", "application/json")], raw)

    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise InvalidResponse(f"statusCode {result['statusCode']!r} is not an HTTP status code")

    headers: list[tuple[str, str]] = []
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise InvalidResponse("headers must be an object")
    for name, value in raw_headers.items():
        if value is None or name.lower() in _HOP_BY_HOP:
            continue
        if isinstance(value, dict | list):
            raise InvalidResponse(f"header {name!r} must be a string")
        headers.append((str(name), value if isinstance(value, str) else json.dumps(value)))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise InvalidResponse("cookies must be a list of strings")
    headers += [("set-cookie", cookie) for cookie in cookies]

    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise InvalidResponse(f"body must be a string, not {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidResponse("isBase64Encoded is true but body is not base64") from None
    else:
        data = body.encode("utf-8")
    return HttpResponse(status, headers, data)


def json_response(status: int, document: dict, request_id: str | None = None) -> HttpResponse:
    headers = [("content-type", "application/json")]
    if request_id:
        headers.append(("x-amzn-requestid", request_id))
    return HttpResponse(status, headers, json.dumps(document).encode())


def error_response(request_id: str | None = None) -> HttpResponse:
    """What a Function URL answers when the invocation failed (error, timeout, crash, bad response)."""
    return json_response(502, {"Message": "Internal Server Error"}, request_id)


def throttled_response(request_id: str | None = None) -> HttpResponse:
    """What a Function URL answers when the function is at its concurrency limit."""
    return json_response(429, {"Message": "Rate Exceeded."}, request_id)
