"""Unit tests: HTTP ↔ Function URL event (payload format 2.0) ↔ HTTP, and the log line formats."""

from __future__ import annotations

import base64
import json
import re

import pytest

from shopctl.lambda_local import events, logs
from shopctl.lambda_local.events import HttpRequest, InvalidResponse, UrlInfo

URL = UrlInfo("abcdefghij", "us-east-1")


def event_for(**overrides) -> dict:
    request = HttpRequest(
        **{
            "method": "GET",
            "raw_path": "/",
            "raw_query": "",
            "headers": [("Host", "127.0.0.1:9000"), ("User-Agent", "pytest")],
            "source_ip": "10.0.0.7",
            **overrides,
        }
    )
    return events.to_event(request, request_id="req-1", url=URL, epoch_ms=1583348638390, trace_id="Root=1-x")


def test_event_envelope_is_payload_format_2():
    event = event_for(raw_path="/my/path", method="post")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/my/path"
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event
    assert "cookies" not in event
    assert "body" not in event and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context == {
        "accountId": "anonymous",
        "apiId": "abcdefghij",
        "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
        "domainPrefix": "abcdefghij",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "10.0.0.7",
            "userAgent": "pytest",
        },
        "requestId": "req-1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "04/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    }


def test_headers_are_lower_cased_and_repeats_comma_joined():
    event = event_for(headers=[("Host", "h:1"), ("X-Thing", "a"), ("x-thing", "b"), ("Accept", "*/*")])
    headers = event["headers"]
    assert headers["x-thing"] == "a,b"
    assert headers["accept"] == "*/*"
    assert all(name == name.lower() for name in headers)
    # what the Function URL front end adds
    assert headers["x-forwarded-for"] == "10.0.0.7"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == "1"
    assert headers["x-amzn-trace-id"] == "Root=1-x"


def test_query_string_raw_and_parsed_with_repeats_joined():
    event = event_for(raw_query="parameter1=value1&parameter1=value2&parameter2=value&e=&s=a%20b")
    assert event["rawQueryString"] == "parameter1=value1&parameter1=value2&parameter2=value&e=&s=a%20b"
    assert event["queryStringParameters"] == {
        "parameter1": "value1,value2",
        "parameter2": "value",
        "e": "",
        "s": "a b",
    }


def test_cookies_move_from_the_header_to_their_own_field():
    event = event_for(headers=[("Host", "h"), ("Cookie", "a=1; b=2"), ("cookie", "c=3")])
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "text/plain", "text/html", "application/xml"],
)
def test_text_bodies_stay_text(content_type):
    event = event_for(method="POST", headers=[("Content-Type", content_type)], body='{"é": 1}'.encode())
    assert event["body"] == '{"é": 1}'
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type", [None, "application/octet-stream", "image/png", "application/x-www-form-urlencoded"]
)
def test_other_bodies_are_base64(content_type):
    headers = [("Content-Type", content_type)] if content_type else []
    body = bytes(range(256))
    event = event_for(method="POST", headers=headers, body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_a_structured_response_is_returned_as_described():
    response = events.to_http(
        json.dumps(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"},
                "body": '{"message": "Hello, world!"}',
                "cookies": ["Cookie_1=Value1; Max-Age=78000", "Cookie_2=Value2"],
                "isBase64Encoded": False,
            }
        )
    )
    assert response.status == 201
    assert response.header("my-custom-header") == "Custom Value"
    assert [v for k, v in response.headers if k == "set-cookie"] == [
        "Cookie_1=Value1; Max-Age=78000",
        "Cookie_2=Value2",
    ]
    assert response.body == b'{"message": "Hello, world!"}'


def test_a_base64_response_body_is_decoded():
    payload = {"statusCode": 200, "body": base64.b64encode(b"\x00\xffPNG").decode(), "isBase64Encoded": True}
    assert events.to_http(json.dumps(payload)).body == b"\x00\xffPNG"


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ("Hello, world!", b'"Hello, world!"'),
        ({"message": "hi"}, b'{"message": "hi"}'),
        (None, b"null"),
        ([1], b"[1]"),
    ],
)
def test_any_other_result_is_a_200_json_body(result, body):
    response = events.to_http(json.dumps(result))
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert response.body == body


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "abc"},
        {"statusCode": 99},
        {"statusCode": 100},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
    ],
)
def test_malformed_responses_are_rejected(payload):
    with pytest.raises(InvalidResponse):
        events.to_http(json.dumps(payload))


def test_error_and_throttle_responses():
    error = events.error_response("r")
    assert (error.status, json.loads(error.body)) == (502, {"Message": "Internal Server Error"})
    throttled = events.throttled_response("r")
    assert (throttled.status, json.loads(throttled.body)) == (429, {"Message": "Rate Exceeded."})


def test_report_line_format():
    cold = logs.report_line("id-1", duration_ms=12.344, memory_mb=512, max_memory_mb=80, init_ms=812.34)
    assert cold == (
        "REPORT RequestId: id-1\tDuration: 12.34 ms\tBilled Duration: 825 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 80 MB\tInit Duration: 812.34 ms\t\n"
    )
    warm = logs.report_line("id-2", duration_ms=3.01, memory_mb=128, max_memory_mb=40)
    assert "Billed Duration: 4 ms" in warm and "Init Duration" not in warm
    timeout = logs.report_line("id-3", duration_ms=3000.2, memory_mb=128, max_memory_mb=40, status="timeout")
    assert timeout.endswith("Status: timeout\t\n")
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", logs.new_stream_name())
    assert logs.timeout_line("id-4", 3).endswith(" id-4 Task timed out after 3.00 seconds\n")
