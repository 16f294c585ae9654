"""Who may call a public Function URL: Lambda checks the function's resource policy at every invocation.

A URL with AuthType NONE answers 403 `{"Message": "Forbidden"}` unless that policy allows everyone (`*`)
both `lambda:InvokeFunctionUrl` and — for function URLs since October 2025 — `lambda:InvokeFunction`
(Lambda developer guide, "Control access to Lambda function URLs":
https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html). moto stores the policy but never invokes
a URL; the local Lambda serves it, so it reads the policy from the local AWS (`GetPolicy`) and refuses
as AWS would. Read before the first request, then again at most once a second on a thread of its own: the
call takes ~15 ms, which a timed request (`make coldstart`) must not pay; a changed policy is seen
within about a second, as on AWS, where it is not immediate either.

Not checked here: AWS_IAM URLs (signed requests), statements' conditions, and which alias a statement is
on (moto keeps one policy per function, whatever the qualifier).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shopctl.lambda_local import function

PUBLIC_URL_ACTIONS = ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def missing_public_permissions(policy: dict[str, Any]) -> list[str]:
    """The actions of PUBLIC_URL_ACTIONS the policy does not allow to everyone."""
    allowed: set[str] = set()
    for statement in _listed(policy.get("Statement", [])):
        principal = statement.get("Principal")
        public = principal == "*" or (isinstance(principal, dict) and "*" in _listed(principal.get("AWS")))
        if statement.get("Effect") == "Allow" and public:
            allowed.update(_listed(statement.get("Action", [])))
    if allowed & {"*", "lambda:*"}:
        return []
    return [action for action in PUBLIC_URL_ACTIONS if action not in allowed]


class PublicUrlAccess:
    """Whether the function's public URL may be invoked now, by its resource policy in the local AWS (asked
    only for a URL whose AuthType is NONE: the service knows the AuthType from the function's configuration)."""

    def __init__(self, name: str, *, say: Callable[[str], None] = print) -> None:
        self.name = name
        self._say = say
        self._lock = threading.Lock()
        self._checked: float | None = None
        self._refreshing = False
        self._missing: list[str] = []
        self._lambda = boto3.client(
            "lambda", config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2})
        )

    def forbidden(self) -> bool:
        with self._lock:
            if self._checked is None:
                self._refresh()
            elif not self._refreshing and time.monotonic() - self._checked >= function.REFRESH_SECONDS:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="url-policy", daemon=True).start()
            return bool(self._missing)

    def _refresh(self) -> None:
        try:
            missing = self._read()
        except (BotoCoreError, ClientError):  # the local AWS away: keep the last answer, as the config does
            return
        finally:
            self._checked, self._refreshing = time.monotonic(), False
        if missing != self._missing and missing:
            self._say(
                f"{self.name}'s public URL answers 403: its resource policy does not allow {' and '.join(missing)} "
                "to everyone (AWS requires both for AuthType NONE)"
            )
        self._missing = missing

    def _read(self) -> list[str]:
        try:
            policy = json.loads(self._lambda.get_policy(FunctionName=self.name)["Policy"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            policy = {}  # no resource policy at all
        return missing_public_permissions(policy)
