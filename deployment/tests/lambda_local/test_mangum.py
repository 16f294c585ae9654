"""A FastAPI app behind Mangum, packaged with its dependencies, runs unchanged on the local Lambda."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shopctl import httpclient
from shopctl.lambda_local import testing

pytestmark = pytest.mark.e2e

APP = """
from fastapi import FastAPI, Query, Request, Response
from mangum import Mangum

app = FastAPI()


@app.get("/items/{item_id}")
def item(item_id: int, request: Request, q: list[str] = Query(default=[])):
    return {"item_id": item_id, "q": q, "cookies": dict(request.cookies), "path": request.url.path}


@app.post("/echo")
async def echo(request: Request):
    return Response(await request.body(), media_type=request.headers.get("content-type"))


@app.get("/login")
def login(response: Response):
    response.set_cookie("session", "abc")
    response.set_cookie("theme", "dark")
    return {"ok": True}


handler = Mangum(app, lifespan="off")
"""


@pytest.fixture(scope="module")
def fastapi_fn(local_aws, tmp_path_factory):
    name = f"ll-mangum-{uuid.uuid4().hex[:8]}"
    package = testing.build_zip({"app.py": APP}, distributions=["fastapi", "mangum"])
    testing.deploy(name, package, handler="app.handler", timeout=10, memory=256)
    service = testing.start(name, Path(tmp_path_factory.mktemp("mangum")) / "lambda.log")
    yield service
    service.stop()


def test_path_query_and_cookies_reach_the_app(fastapi_fn):
    response = httpclient.get(f"{fastapi_fn.url}/items/42?q=a&q=b%20c", headers={"cookie": "a=1; b=2"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "item_id": 42,
        "q": ["a", "b c"],
        "cookies": {"a": "1", "b": "2"},
        "path": "/items/42",
    }


def test_app_errors_are_http_responses_not_lambda_errors(fastapi_fn):
    assert httpclient.get(f"{fastapi_fn.url}/nowhere", timeout=30).status_code == 404
    invalid = httpclient.get(f"{fastapi_fn.url}/items/not-a-number", timeout=30)
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["path", "item_id"]


def test_binary_and_text_bodies_round_trip(fastapi_fn):
    payload = bytes(range(256))
    binary = httpclient.post(
        f"{fastapi_fn.url}/echo",
        content=payload,
        headers={"content-type": "application/octet-stream"},
        timeout=30,
    )
    assert binary.status_code == 200 and binary.content == payload
    text = httpclient.post(f"{fastapi_fn.url}/echo", json={"é": [1, 2]}, timeout=30)
    assert text.json() == {"é": [1, 2]}


def test_set_cookie_headers_come_back_one_per_cookie(fastapi_fn):
    response = httpclient.get(f"{fastapi_fn.url}/login", timeout=30)
    assert response.json() == {"ok": True}
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2 and cookies[0].startswith("session=abc") and cookies[1].startswith("theme=dark")
