"""The Lambda deploy code against an in-process moto (mock_aws): what it creates, how narrowly the role is
scoped, that a second deploy changes nothing, and that destroy leaves nothing behind.

These tests take the ENV=aws code path (the local Lambda service is not started): the package is built
for the function's runtime on AWS (python3.12 manylinux wheels), exactly as for a real account.
"""

from __future__ import annotations

import json
import zipfile

import boto3
import pytest

from shopctl.aws import state
from shopctl.aws.iam import INDEX_ACTIONS, table_actions
from shopctl.package import package_path
from shopctl.stages import STAGES, get_stage
from shopctl.targets import lambda_function, lambda_target

OPTIONS = lambda_target.Options(env="aws", python="3.12", quiet=True)


def inline_policy(role: str) -> dict:
    iam = boto3.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def test_clean_stage_function_configuration(aws):
    deployment = lambda_target.deploy(get_stage("clean"), OPTIONS)
    client = boto3.client("lambda")
    config = client.get_function_configuration(FunctionName="shop-clean")
    assert config["Runtime"] == "python3.12"
    assert config["Handler"] == "clean_shop.entrypoints.lambda_handler.handler"
    assert config["MemorySize"] == lambda_target.MEMORY_MB and config["Timeout"] == lambda_function.TIMEOUT_S
    assert config["Architectures"] == ["x86_64"]
    assert config["Environment"]["Variables"] == {
        "RUNTIME": "LAMBDA",
        "USERS_TABLE": "shop-clean-lambda-users",
        "ORDERS_TABLE": "shop-clean-lambda-orders",
    }
    url = client.get_function_url_config(FunctionName="shop-clean")
    assert url["AuthType"] == "AWS_IAM"  # the default on AWS: no public URL unless asked for
    assert deployment.url == url["FunctionUrl"].rstrip("/")
    assert boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/shop-clean")["logGroups"]


def test_execution_role_names_exactly_the_tables_index_and_log_group(aws):
    lambda_target.deploy(get_stage("clean"), OPTIONS)
    dynamodb = boto3.client("dynamodb")
    users_arn = dynamodb.describe_table(TableName="shop-clean-lambda-users")["Table"]["TableArn"]
    orders_arn = dynamodb.describe_table(TableName="shop-clean-lambda-orders")["Table"]["TableArn"]
    statements = inline_policy("shop-clean-role")["Statement"]
    by_resource = {resource: set(s["Action"]) for s in statements for resource in s["Resource"]}
    account = boto3.client("sts").get_caller_identity()["Account"]
    assert by_resource == {
        users_arn: set(table_actions("clean", "users")),
        orders_arn: set(table_actions("clean", "orders")),
        f"{orders_arn}/index/user_id-index": set(INDEX_ACTIONS["orders"]),
        f"arn:aws:logs:eu-west-1:{account}:log-group:/aws/lambda/shop-clean:*": {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        },
    }
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in statement["Action"])
        assert not any(resource == "*" or resource.endswith(":*:*") for resource in statement["Resource"])


def test_microservices_get_two_functions_each_scoped_to_its_own_table(aws):
    lambda_target.deploy(get_stage("microservices"), OPTIONS)
    client = boto3.client("lambda")
    users = client.get_function_configuration(FunctionName="shop-microservices-users")
    orders = client.get_function_configuration(FunctionName="shop-microservices-orders")
    assert users["Environment"]["Variables"] == {
        "RUNTIME": "LAMBDA",
        "USERS_TABLE": "shop-microservices-lambda-users",
    }
    users_url = client.get_function_url_config(FunctionName="shop-microservices-users")["FunctionUrl"]
    assert orders["Environment"]["Variables"] == {
        "RUNTIME": "LAMBDA",
        "ORDERS_TABLE": "shop-microservices-lambda-orders",
        "USERS_SERVICE_URL": users_url.rstrip("/"),
        "USERS_AUTH": "AWS_IAM",  # its URL takes signed requests only (the default on AWS): orders signs
    }
    users_resources = {r for s in inline_policy("shop-microservices-users-role")["Statement"] for r in s["Resource"]}
    orders_resources = {r for s in inline_policy("shop-microservices-orders-role")["Statement"] for r in s["Resource"]}
    assert not any("orders" in r for r in users_resources if ":dynamodb:" in r)
    assert not any("users" in r for r in orders_resources if ":dynamodb:" in r)


def test_package_holds_the_stage_code_and_runtime_wheels_only(aws):
    lambda_target.deploy(get_stage("monolith"), OPTIONS)
    names = zipfile.ZipFile(package_path("monolith", "app", platform=OPTIONS.platform())).namelist()
    assert "monolith/main.py" in names
    assert not any(n.startswith(("clean_shop/", "users_service/", "tests/")) or "/tests/" in n for n in names)
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    # Built for the function's runtime (python3.12 on x86_64), not for the machine that built it.
    assert any(n.startswith("pydantic_core/") and "cpython-312-x86_64-linux-gnu" in n for n in names)


def test_deploying_twice_changes_nothing_and_keeps_the_url(aws):
    first = lambda_target.deploy(get_stage("clean"), OPTIONS)
    client = boto3.client("lambda")
    before = client.get_function_configuration(FunctionName="shop-clean")
    second = lambda_target.deploy(get_stage("clean"), OPTIONS)
    after = client.get_function_configuration(FunctionName="shop-clean")
    assert second.url == first.url
    assert after["CodeSha256"] == before["CodeSha256"]
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == ["shop-clean"]
    assert len(boto3.client("iam").list_roles()["Roles"]) == 1
    assert len(boto3.client("s3").list_objects_v2(Bucket=first.resources.artifact_bucket)["Contents"]) == 1


def test_a_package_already_in_s3_is_not_uploaded_again(aws_calls):
    lambda_target.deploy(get_stage("clean"), OPTIONS)
    lambda_target.deploy(get_stage("clean"), OPTIONS)  # unchanged code: its key (the content's sha256) is there
    assert aws_calls.operations("s3").count("s3.PutObject") == 1
    assert aws_calls.operations("s3").count("s3.HeadObject") == 2


def test_a_package_whose_presence_s3_will_not_tell_is_uploaded(aws_calls):
    from botocore.exceptions import ClientError

    def forbidden() -> None:  # what S3 answers for a missing key to a caller without s3:ListBucket
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    aws_calls.before("s3", "HeadObject", forbidden)
    lambda_target.deploy(get_stage("clean"), OPTIONS)
    assert aws_calls.operations("s3").count("s3.PutObject") == 1


def test_destroy_removes_everything_but_the_data_unless_asked(aws):
    lambda_target.deploy(get_stage("clean"), OPTIONS)
    lambda_target.destroy(get_stage("clean"), OPTIONS)
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"] == []
    assert state.load("clean-lambda") is None
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert set(tables) == {"shop-clean-lambda-users", "shop-clean-lambda-orders"}  # data kept by default
    lambda_target.deploy(get_stage("clean"), OPTIONS)
    lambda_target.destroy(get_stage("clean"), OPTIONS, keep_data=False)
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []


def test_public_url_needs_both_invoke_permissions(aws):
    options = lambda_target.Options(env="aws", python="3.12", auth="NONE", quiet=True)
    lambda_target.deploy(get_stage("clean"), options)
    lambda_target.deploy(get_stage("clean"), options)  # a re-deploy must not add the statements again
    policy = json.loads(boto3.client("lambda").get_policy(FunctionName="shop-clean")["Policy"])
    actions = [s["Action"] for s in policy["Statement"]]
    assert sorted(actions) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]


@pytest.mark.parametrize("stage", list(STAGES))
def test_plan_lists_what_will_be_created(stage):
    lines = lambda_target.plan(STAGES[stage], OPTIONS)
    assert any("DynamoDB tables" in line for line in lines)
    assert sum("Lambda function" in line for line in lines) == len(lambda_target.lambda_services(STAGES[stage]))


DEPLOYMENT_TAGS = {
    "project": "shapeshifting-workshop", "stage": "clean", "target": "lambda", "deployment": "clean-lambda"
}


def test_function_role_log_group_and_tables_carry_the_deployment_tags(aws):
    lambda_target.deploy(get_stage("clean"), OPTIONS)
    function_arn = boto3.client("lambda").get_function_configuration(FunctionName="shop-clean")["FunctionArn"]
    assert boto3.client("lambda").list_tags(Resource=function_arn)["Tags"] == DEPLOYMENT_TAGS
    role_tags = boto3.client("iam").list_role_tags(RoleName="shop-clean-role")["Tags"]
    assert {t["Key"]: t["Value"] for t in role_tags} == DEPLOYMENT_TAGS
    assert boto3.client("logs").list_tags_log_group(logGroupName="/aws/lambda/shop-clean")["tags"] == DEPLOYMENT_TAGS
    dynamodb = boto3.client("dynamodb")
    for table in ("shop-clean-lambda-users", "shop-clean-lambda-orders"):
        arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
        tags = dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]
        assert {t["Key"]: t["Value"] for t in tags} == DEPLOYMENT_TAGS


@pytest.mark.parametrize(
    ("url", "signed_for"),
    [
        ("https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws", "aws:amz:eu-west-2:lambda"),
        ("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "aws:amz:us-east-1:execute-api"),
        ("http://127.0.0.1:8080", None),  # the local Lambda: AUTH=NONE by default, nothing to sign
    ],
)
def test_the_hint_after_a_deploy_says_how_to_sign_an_aws_url(url, signed_for):
    deployment = state.DeploymentState(name="clean-lambda", stage="clean", target="lambda", env="local", url=url)
    hints = lambda_target.hints(get_stage("clean"), deployment)
    assert hints[0].startswith(f"try:  curl -s {url}/health")
    signing = [line for line in hints if "--aws-sigv4" in line]
    if signed_for is None:
        assert signing == []
    else:
        assert len(signing) == 1 and f'--aws-sigv4 "{signed_for}"' in signing[0] and f"{url}/health" in signing[0]
    assert hints[-1] == "cold starts: make coldstart STAGE=clean TARGET=lambda N=5"
