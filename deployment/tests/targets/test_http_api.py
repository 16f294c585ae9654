"""The microservices on Lambda get one base URL — an API Gateway HTTP API — and the orders function may call
the users function's URL, signed (ENV=aws code path, in-process moto; what moto cannot show is asserted from
the calls sent)."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest

from shopctl.aws import census, prices
from shopctl.stages import STAGES, get_stage
from shopctl.targets import http_api, lambda_target

OPTIONS = lambda_target.Options(env="aws", python="3.12", quiet=True)
USERS, ORDERS = "shop-microservices-users", "shop-microservices-orders"


def the_api() -> dict:
    (api,) = boto3.client("apigatewayv2").get_apis()["Items"]
    return api


def role_statements(role: str) -> list[dict]:
    iam = boto3.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return (json.loads(document) if isinstance(document, str) else document)["Statement"]


def test_the_api_is_the_base_url_and_routes_each_path_to_its_function(aws):
    deployment = lambda_target.deploy(get_stage("microservices"), OPTIONS)
    api = the_api()
    assert api["Name"] == "shop-microservices" and api["ProtocolType"] == "HTTP"
    assert deployment.url == api["ApiEndpoint"]
    client = boto3.client("apigatewayv2")
    integrations = {i["IntegrationId"]: i for i in client.get_integrations(ApiId=api["ApiId"])["Items"]}
    arns = {
        fn: boto3.client("lambda").get_function_configuration(FunctionName=fn)["FunctionArn"] for fn in (USERS, ORDERS)
    }
    served = {}
    for route in client.get_routes(ApiId=api["ApiId"])["Items"]:
        integration = integrations[route["Target"].removeprefix("integrations/")]
        assert integration["IntegrationType"] == "AWS_PROXY" and integration["PayloadFormatVersion"] == "2.0"
        served[route["RouteKey"]] = next(fn for fn, arn in arns.items() if arn == integration["IntegrationUri"])
        assert route["AuthorizationType"] == "AWS_IAM"  # the default on AWS: signed requests only
    assert served == {
        "ANY /users": USERS, "ANY /users/{proxy+}": USERS, "ANY /orders": ORDERS, "ANY /orders/{proxy+}": ORDERS,
        "ANY /health": USERS, "ANY /docs": USERS, "ANY /openapi.json": USERS,
        "ANY /static-offline-docs/{proxy+}": USERS,
    }  # fmt: skip
    assert [s["StageName"] for s in client.get_stages(ApiId=api["ApiId"])["Items"]] == ["$default"]


def test_each_function_may_be_invoked_by_this_api_only(aws):
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    lambda_target.deploy(get_stage("microservices"), OPTIONS)  # a re-deploy adds nothing
    api_id = the_api()["ApiId"]
    for fn in (USERS, ORDERS):
        statements = json.loads(boto3.client("lambda").get_policy(FunctionName=fn)["Policy"])["Statement"]
        (statement,) = [s for s in statements if s["Principal"] == {"Service": "apigateway.amazonaws.com"}]
        assert statement["Action"] == "lambda:InvokeFunction"
        source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
        assert source == f"arn:aws:execute-api:eu-west-1:123456789012:{api_id}/*"


def test_a_public_deploy_makes_public_routes(aws):
    lambda_target.deploy(get_stage("microservices"), dataclasses.replace(OPTIONS, auth="NONE"))
    routes = boto3.client("apigatewayv2").get_routes(ApiId=the_api()["ApiId"])["Items"]
    assert {r["AuthorizationType"] for r in routes} == {"NONE"}
    lambda_target.deploy(get_stage("microservices"), OPTIONS)  # and back: every route takes signed requests again
    routes = boto3.client("apigatewayv2").get_routes(ApiId=the_api()["ApiId"])["Items"]
    assert {r["AuthorizationType"] for r in routes} == {"AWS_IAM"}


def test_orders_signs_its_calls_and_may_invoke_exactly_the_users_url(aws):
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    client = boto3.client("lambda")
    variables = client.get_function_configuration(FunctionName=ORDERS)["Environment"]["Variables"]
    assert variables["USERS_AUTH"] == "AWS_IAM"
    users_arn = client.get_function_configuration(FunctionName=USERS)["FunctionArn"]
    (invoke,) = [s for s in role_statements(f"{ORDERS}-role") if "lambda:InvokeFunctionUrl" in s["Action"]]
    assert invoke["Action"] == ["lambda:InvokeFunctionUrl"] and invoke["Resource"] == [users_arn]
    assert invoke["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}
    assert not any("lambda:" in a for s in role_statements(f"{USERS}-role") for a in s["Action"])


def test_a_public_deploy_does_not_sign(aws):
    lambda_target.deploy(get_stage("microservices"), dataclasses.replace(OPTIONS, auth="NONE"))
    variables = boto3.client("lambda").get_function_configuration(FunctionName=ORDERS)["Environment"]["Variables"]
    assert "USERS_AUTH" not in variables
    assert not any("lambda:InvokeFunctionUrl" in s["Action"] for s in role_statements(f"{ORDERS}-role"))


def test_with_snapstart_the_api_and_the_signed_call_go_to_the_alias(aws):
    lambda_target.deploy(get_stage("microservices"), dataclasses.replace(OPTIONS, snapstart=True))
    api_id = the_api()["ApiId"]
    uris = {i["IntegrationUri"] for i in boto3.client("apigatewayv2").get_integrations(ApiId=api_id)["Items"]}
    assert uris and all(uri.endswith(":live") for uri in uris)
    (invoke,) = [s for s in role_statements(f"{ORDERS}-role") if "lambda:InvokeFunctionUrl" in s["Action"]]
    assert invoke["Resource"][0].endswith(f":function:{USERS}:live")


def test_switching_to_snapstart_and_back_moves_the_routes_and_leaves_no_integration_behind(aws):
    integrations = lambda: boto3.client("apigatewayv2").get_integrations(ApiId=the_api()["ApiId"])["Items"]  # noqa: E731
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    lambda_target.deploy(get_stage("microservices"), dataclasses.replace(OPTIONS, snapstart=True))
    assert len(integrations()) == 2 and all(i["IntegrationUri"].endswith(":live") for i in integrations())
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    assert len(integrations()) == 2 and not any(i["IntegrationUri"].endswith(":live") for i in integrations())
    routes = boto3.client("apigatewayv2").get_routes(ApiId=the_api()["ApiId"])["Items"]
    assert {r["Target"] for r in routes} == {f"integrations/{i['IntegrationId']}" for i in integrations()}


def test_destroy_removes_the_api_and_the_census_sees_it_until_then(aws):
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    arn = f"arn:aws:apigateway:eu-west-1::/apis/{the_api()['ApiId']}"
    tags = boto3.client("apigatewayv2").get_tags(ResourceArn=arn)
    assert tags["Tags"]["project"] == "shapeshifting-workshop" and tags["Tags"]["deployment"] == "microservices-lambda"
    assert census.Resource("apigatewayv2", "HTTP API", "shop-microservices") in census.census()
    removed = lambda_target.destroy(get_stage("microservices"), OPTIONS)
    assert any("HTTP API shop-microservices" in line for line in removed)
    assert boto3.client("apigatewayv2").get_apis()["Items"] == []
    assert not [r for r in census.census() if r.service == "apigatewayv2"]


def test_an_api_left_alone_is_still_found_and_destroyed(aws):
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    for fn in (USERS, ORDERS):  # a destroy that stopped after the functions
        boto3.client("lambda").delete_function(FunctionName=fn)
    from shopctl.aws import state

    state.remove("microservices-lambda")
    assert lambda_target.exists(get_stage("microservices"))
    lambda_target.destroy(get_stage("microservices"), OPTIONS)
    assert http_api.find("shop-microservices") is None


@pytest.mark.parametrize("stage", ["monolith", "clean"])
def test_one_function_stages_get_no_api(aws, stage):
    deployment = lambda_target.deploy(get_stage(stage), OPTIONS)
    assert boto3.client("apigatewayv2").get_apis()["Items"] == []
    assert deployment.url == boto3.client("lambda").get_function_url_config(FunctionName=f"shop-{stage}")[
        "FunctionUrl"
    ].rstrip("/")


def test_the_plan_and_the_bill_name_the_api():
    lines = lambda_target.plan(STAGES["microservices"], OPTIONS)
    assert any(line.startswith("API Gateway HTTP API shop-microservices") for line in lines)
    assert any("may invoke the Function URL of shop-microservices-users" in line for line in lines)
    billed = lambda_target.costs(STAGES["microservices"], OPTIONS)
    (api,) = [item for item in billed if "API Gateway" in item.what]
    assert api.unit_hour == 0.0 and "$1.00 per million requests" in api.note
    assert prices.HTTP_API_MILLION_REQUESTS == 1.00
    assert not any("API Gateway" in line for line in lambda_target.plan(STAGES["clean"], OPTIONS))
