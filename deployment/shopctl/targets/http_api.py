"""TARGET=lambda, a stage of several functions (the microservices): one base URL in front of them, an API
Gateway HTTP API. The same calls on ENV=local and ENV=aws; locally the local AWS keeps the records and the
stage's gateway process carries the traffic instead (as the supervisor stands in for ECS).

What it makes: the API (tagged like every resource of the deployment), one Lambda proxy integration per
function (payload format 2.0, the event a Function URL sends too), a route per path the stage's gateway
serves locally, the `$default` stage (deployed automatically), and on each function the permission for this
API — and only this API — to invoke it. With AUTH=AWS_IAM every route takes signed requests only (SigV4,
service `execute-api`), as the Function URLs do; with AUTH=NONE the API is public.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import Tags

STAGE_NAME = "$default"  # served at the API's own URL, no stage name in the path
PERMISSION_ID = "shop-http-api-invoke"


def routes(services: list[str]) -> dict[str, str]:
    """Route path → the service that serves it. `/health`, `/docs` (its assets) and `/openapi.json` are
    the gateway's locally; on AWS there is no gateway process, so the first service answers them (its own
    /health and API page)."""
    paths = {}
    for service in services:
        paths[f"/{service}"] = service
        paths[f"/{service}/{{proxy+}}"] = service
    for path in ("/health", "/docs", "/openapi.json", "/static-offline-docs/{proxy+}"):
        paths[path] = services[0]
    return paths


def find(name: str) -> dict[str, Any] | None:
    """The project's HTTP API called `name` (by its name and the project tag), or None."""
    project = Tags().as_dict()["project"]
    for page in clients.client("apigatewayv2").get_paginator("get_apis").paginate():
        for api in page.get("Items", []):
            if api["Name"] == name and api.get("Tags", {}).get("project") == project:
                return api
    return None


def _source_arn(function_arn: str, api_id: str) -> str:
    _, partition, _, region, account, *_ = function_arn.split(":")
    return f"arn:{partition}:execute-api:{region}:{account}:{api_id}/*"


def _permit(fn: str, qualifier: str | None, source_arn: str) -> None:
    """Let this API (SourceArn) — no other — invoke `fn`; a statement left by an earlier API is replaced."""
    client = clients.client("lambda")
    where = {"Qualifier": qualifier} if qualifier else {}
    try:
        policy = json.loads(client.get_policy(FunctionName=fn, **where)["Policy"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        policy = {"Statement": []}
    current = next((s for s in policy["Statement"] if s.get("Sid") == PERMISSION_ID), None)
    if current is not None:
        if source_arn in json.dumps(current.get("Condition", {})):
            return
        client.remove_permission(FunctionName=fn, StatementId=PERMISSION_ID, **where)
    client.add_permission(
        FunctionName=fn, StatementId=PERMISSION_ID, Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com", SourceArn=source_arn, **where,
    )  # fmt: skip


def ensure(
    name: str,
    functions: dict[str, str],
    auth_type: str,
    tags: Tags,
    say: Callable[[str], None],
    qualifier: str | None = None,
) -> str:
    """The HTTP API `name` routing to `functions` (service → function name; on their alias `qualifier` with
    SnapStart), created or brought up to date. Returns its URL."""
    client = clients.client("apigatewayv2")
    api = find(name)
    created = api is None
    if api is None:
        api = client.create_api(
            Name=name, ProtocolType="HTTP", Tags=tags.as_dict(),
            Description="Shapeshifting workshop: one base URL for the stage's functions",
        )  # fmt: skip
    api_id = api["ApiId"]
    integrations = {i["IntegrationUri"]: i["IntegrationId"] for i in client.get_integrations(ApiId=api_id)["Items"]}
    targets = {}
    for service, fn in functions.items():
        arn = clients.client("lambda").get_function_configuration(FunctionName=fn)["FunctionArn"]
        uri = f"{arn}:{qualifier}" if qualifier else arn
        if uri not in integrations:
            integrations[uri] = client.create_integration(
                ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0",
            )["IntegrationId"]  # fmt: skip
        targets[service] = f"integrations/{integrations[uri]}"
        _permit(fn, qualifier, _source_arn(arn, api_id))
    present = {r["RouteKey"]: r for r in client.get_routes(ApiId=api_id)["Items"]}
    authorization = "AWS_IAM" if auth_type == "AWS_IAM" else "NONE"
    for path, service in routes(list(functions)).items():
        wanted = {"Target": targets[service], "AuthorizationType": authorization}
        route = present.get(f"ANY {path}")
        if route is None:
            client.create_route(ApiId=api_id, RouteKey=f"ANY {path}", **wanted)
        elif {key: route.get(key) for key in wanted} != wanted:
            client.update_route(ApiId=api_id, RouteId=route["RouteId"], **wanted)
    for integration in integrations.values():  # e.g. the function's, after SNAPSTART=1 moved it to the alias
        if f"integrations/{integration}" not in targets.values():
            client.delete_integration(ApiId=api_id, IntegrationId=integration)
    if not any(s["StageName"] == STAGE_NAME for s in client.get_stages(ApiId=api_id)["Items"]):
        client.create_stage(ApiId=api_id, StageName=STAGE_NAME, AutoDeploy=True, Tags=tags.as_dict())
    verb = "created" if created else "up to date"
    say(f"✓ API Gateway HTTP API {name} ({verb}): {len(routes(list(functions)))} routes, auth {authorization}")
    return api["ApiEndpoint"]


def remove(name: str) -> list[str]:
    """Delete the HTTP API `name` (its routes, integrations and stage go with it). Returns what was removed.
    The functions' permissions for it go with the functions."""
    api = find(name)
    if api is None:
        return []
    clients.client("apigatewayv2").delete_api(ApiId=api["ApiId"])
    return [f"API Gateway HTTP API {name} ({api['ApiId']})"]
