"""The Lambda entrypoint: the very same FastAPI app, translated from Lambda events by Mangum.

    handler: clean_shop.entrypoints.lambda_handler.handler

Module-level code runs in Lambda's init phase, once per execution environment, and the environment
is then reused for many invocations. So bootstrap() — reading settings, creating boto3 clients — is
paid once per cold start, not on every request. lifespan="off": there are no startup/shutdown hooks
to run; everything was set up right here.

With SnapStart the init phase runs once per published version instead, and every cold start resumes
a snapshot of it: the two hooks below say what that snapshot may keep and what each restored
environment makes afresh. Anywhere else (uvicorn, the tests) registering them is all that happens.
"""

from __future__ import annotations

import random

from mangum import Mangum
from snapshot_restore_py import register_after_restore, register_before_snapshot

from clean_shop.entrypoints.startup import app_or_exit, container_or_exit

app = app_or_exit()
handler = Mangum(app, lifespan="off")


@register_before_snapshot
def warm_before_snapshot() -> None:
    """Safe to share, so done once for all restored environments: the OpenAPI document (every route's
    and model's schema compiled). bootstrap() already loaded the AWS SDK's DynamoDB model when it made
    the client; boto3 keeps it cached for the clients made after restore."""
    app.openapi()


@register_after_restore
def refresh_after_restore() -> None:
    """Not safe to share. AWS clients: their connection pools and the credentials they resolved at init
    belong to the snapshot. `random`: every restored environment would resume the same generator state
    and draw the same numbers (botocore's retry jitter included: lockstep retries). uuid4 is safe as it
    is: it reads os.urandom, never the snapshot's memory."""
    random.seed()
    # The composition root again: new adapters (a new DynamoDB client, so a new pool and this
    # environment's credentials) for the same app — its routes stay compiled. create_app() keeps the
    # container in app.state, where every route's dependency reads it.
    app.state.container = container_or_exit()
