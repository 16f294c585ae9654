"""Start the app or stop the process: what both process entrypoints (server.py, lambda_handler.py) do first.

bootstrap() raises ConfigurationError when a setting is missing (an SSM parameter, the mounted config
file, an environment variable, an unknown RUNTIME). At startup that is not an exception to show as a
traceback but a deployment to stop: the process exits with one line naming what is missing — an ECS
task or EKS pod then fails its start instead of serving 500s, and on Lambda the init phase fails (the
Function URL answers 502 and Lambda retries the init on the next invoke).
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from clean_shop.application.errors import ConfigurationError
from clean_shop.bootstrap import Container, bootstrap
from clean_shop.entrypoints.http import create_app


def container_or_exit() -> Container:
    try:
        return bootstrap()
    except ConfigurationError as error:
        sys.exit(f"clean: cannot start: {error}")


def app_or_exit() -> FastAPI:
    return create_app(container_or_exit())
