"""The two process entrypoints, imported the way their runtimes import them: the module composes
the app at import time from the process environment.

- lambda_handler: an Application Load Balancer event (the talk's Lambda setup) through Mangum.
- server: the ASGI app uvicorn serves on ECS/EKS, and main()'s HOST/PORT.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest

from shopctl.aws.resources import TableNames, runtime_environment


def fresh_import(name: str, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> ModuleType:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delitem(sys.modules, name, raising=False)  # restored (removed again) after the test
    return importlib.import_module(name)


def alb_event(method: str, path: str, body: dict | None = None) -> dict:
    return {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:0:targetgroup/t/0"}},
        "httpMethod": method,
        "path": path,
        "queryStringParameters": {},
        "headers": {"content-type": "application/json", "host": "shop.example.com"},
        "body": json.dumps(body) if body is not None else "",
        "isBase64Encoded": False,
    }


def test_the_lambda_handler_serves_the_app_from_dynamodb(tables: TableNames, monkeypatch: pytest.MonkeyPatch) -> None:
    module = fresh_import(
        "clean_shop.entrypoints.lambda_handler", monkeypatch, runtime_environment("LAMBDA", tables.settings())
    )

    health = module.handler(alb_event("GET", "/health"), None)
    created = module.handler(alb_event("POST", "/users", {"name": "Ada", "email": "ada@example.com"}), None)

    assert json.loads(health["body"]) == {"status": "ok", "stage": "clean", "runtime": "LAMBDA"}
    assert created["statusCode"] == 201
    user_id = json.loads(created["body"])["id"]
    assert boto3.resource("dynamodb").Table(tables.users).get_item(Key={"id": user_id})["Item"]["name"] == "Ada"


def test_the_server_module_exposes_the_app_and_runs_uvicorn_on_host_and_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ = {"RUNTIME": "EKS", "CONFIG_FILE": str(tmp_path / "unused.json"), "STORAGE": "memory"}
    monkeypatch.delenv("HOST", raising=False)
    module = fresh_import("clean_shop.entrypoints.server", monkeypatch, {**environ, "PORT": "9123"})
    served = {}
    monkeypatch.setattr(module.uvicorn, "run", lambda app, host, port: served.update(app=app, host=host, port=port))

    module.main()

    assert served == {"app": module.app, "host": "0.0.0.0", "port": 9123}
    assert module.app.title.startswith("Shapeshifting shop")


@pytest.mark.parametrize(
    ("module", "environ", "message"),
    [
        ("clean_shop.entrypoints.server", {"RUNTIME": "FARGATE"}, "RUNTIME='FARGATE' is not supported"),
        (
            "clean_shop.entrypoints.lambda_handler",
            {"RUNTIME": "LAMBDA", "USERS_TABLE": "shop-users"},
            "environment variable ORDERS_TABLE is not set",
        ),
    ],
)
def test_a_misconfigured_process_exits_at_import_with_one_line(module: str, environ: dict, message: str) -> None:
    """Importing the entrypoint is the start (uvicorn; Lambda's init): it fails there, not on a request."""
    keep = {k: v for k, v in os.environ.items() if k not in ("RUNTIME", "USERS_TABLE", "ORDERS_TABLE", "STORAGE")}
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], env={**keep, **environ}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clean: cannot start: ") and message in lines[0], result.stderr
