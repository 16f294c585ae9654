"""The Lambda entrypoint: the very same FastAPI app, translated from Lambda events by Mangum.

    handler: clean_shop.entrypoints.lambda_handler.handler

Module-level code runs in Lambda's init phase, once per execution environment, and the environment
is then reused for many invocations. So bootstrap() — reading settings, creating boto3 clients — is
paid once per cold start, not on every request. lifespan="off": there are no startup/shutdown hooks
to run; everything was set up right here.
"""

from __future__ import annotations

from mangum import Mangum

from clean_shop.entrypoints.startup import app_or_exit

handler = Mangum(app_or_exit(), lifespan="off")
