"""ECS and EKS deploy code against an in-process moto (mock_aws): roles scoped to exactly the stage's
tables, parameters and ServiceAccount; task definitions carrying the ECS configuration; idempotency;
destroy leaving nothing. These take the ENV=aws path (no local processes are started)."""

from __future__ import annotations

import json

import boto3

from shopctl import ecs_target, eks_target, k8s, state
from shopctl.iam import INDEX_ACTIONS, table_actions
from shopctl.resources import TableNames
from shopctl.stages import STAGES

REGION = "eu-west-1"


def inline_policy(role: str) -> dict:
    client = boto3.client("iam")
    (name,) = client.list_role_policies(RoleName=role)["PolicyNames"]
    document = client.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def grants(role: str) -> dict[str, set[str]]:
    return {res: set(s["Action"]) for s in inline_policy(role)["Statement"] for res in s["Resource"]}


ECS = ecs_target.Options(env="aws", quiet=True)


def test_ecs_task_definition_reads_config_from_ssm(aws):
    ecs_target.deploy("clean", ECS)
    (described,) = ecs_target.describe("clean").values()
    container = described["containerDefinitions"][0]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env == {"RUNTIME": "ECS", "SSM_PREFIX": "/shop/clean-ecs", "PYTHONUNBUFFERED": "1"}
    assert container["command"] == [
        "python",
        "-m",
        "uvicorn",
        "clean_shop.entrypoints.server:app",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
    ]
    assert container["portMappings"][0]["containerPort"] == 8080
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert "/health" in " ".join(container["healthCheck"]["command"])
    assert described["networkMode"] == "awsvpc" and described["requiresCompatibilities"] == ["FARGATE"]
    ssm = boto3.client("ssm")
    assert ssm.get_parameter(Name="/shop/clean-ecs/users/table")["Parameter"]["Value"] == "shop-clean-ecs-users"
    service = boto3.client("ecs").describe_services(cluster="shop", services=["shop-clean"])["services"][0]
    assert service["desiredCount"] == 2


def test_ecs_task_role_names_exactly_the_tables_and_parameters(aws):
    ecs_target.deploy("microservices", ECS)
    account = boto3.client("sts").get_caller_identity()["Account"]
    dynamodb = boto3.client("dynamodb")
    users_arn = dynamodb.describe_table(TableName="shop-microservices-ecs-users")["Table"]["TableArn"]
    orders_arn = dynamodb.describe_table(TableName="shop-microservices-ecs-orders")["Table"]["TableArn"]
    parameter = f"arn:aws:ssm:{REGION}:{account}:parameter/shop/microservices-ecs"
    assert grants("shop-microservices-users-ecs-task") == {
        users_arn: set(table_actions("microservices", "users")),
        f"{parameter}/users/table": {"ssm:GetParameter"},
    }
    assert grants("shop-microservices-orders-ecs-task") == {
        orders_arn: set(table_actions("microservices", "orders")),
        f"{orders_arn}/index/user_id-index": set(INDEX_ACTIONS["orders"]),
        f"{parameter}/orders/table": {"ssm:GetParameter"},
    }
    execution = inline_policy("shop-microservices-ecs-execution")["Statement"]
    wildcards = [s for s in execution if "*" in s["Resource"]]
    # The single documented exception: ECR's registry token cannot be scoped to a resource.
    assert [s["Action"] for s in wildcards] == [["ecr:GetAuthorizationToken"]]


def test_ecs_deploying_twice_registers_no_new_revision(aws):
    ecs_target.deploy("clean", ECS)
    ecs_target.deploy("clean", ECS)
    arns = boto3.client("ecs").list_task_definitions(familyPrefix="shop-clean")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == ["1"]
    parameters = boto3.client("ssm").get_parameters_by_path(Path="/shop/clean-ecs", Recursive=True)["Parameters"]
    assert [p["Version"] for p in parameters] == [1, 1], "a re-deploy rewrote unchanged SSM parameters"


def test_ecs_destroy_leaves_nothing_but_data(aws):
    ecs_target.deploy("clean", ECS)
    ecs_target.destroy("clean", ECS)
    ecs = boto3.client("ecs")
    assert ecs.list_task_definitions(familyPrefix="shop-clean", status="ACTIVE")["taskDefinitionArns"] == []
    services = ecs.describe_services(cluster="shop", services=["shop-clean"])["services"]
    assert all(s["status"] != "ACTIVE" for s in services)
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []
    assert boto3.client("ecr").describe_repositories()["repositories"] == []
    assert state.load("clean-ecs") is None
    assert set(boto3.client("dynamodb").list_tables()["TableNames"]) == {
        "shop-clean-ecs-users",
        "shop-clean-ecs-orders",
    }


def test_eks_pod_role_is_trusted_by_exactly_its_service_account(aws):
    options = eks_target.Options(env="local", quiet=True)
    cluster = eks_target._cluster(options)  # locally: a stand-in cluster record with a real OIDC issuer
    provider = eks_target._oidc_provider(cluster)
    assert eks_target._oidc_provider(cluster) == provider  # found, not created twice
    stage = STAGES["microservices"]
    tables = TableNames.for_deployment("microservices-eks")
    from shopctl.resources import ensure_tables

    ensure_tables(tables)
    arn = eks_target._pod_role(stage, stage.service("orders"), tables, provider)
    role = boto3.client("iam").get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": provider[0]}
    assert statement["Condition"]["StringEquals"] == {
        f"{provider[1]}:sub": "system:serviceaccount:shop:shop-microservices-orders",
        f"{provider[1]}:aud": "sts.amazonaws.com",
    }
    resources = set(grants(arn.rsplit("/", 1)[1]))
    assert all("orders" in r for r in resources) and len(resources) == 2  # its table and its index, nothing else


def test_eks_local_pods_run_what_the_deployment_says(aws, tmp_path):
    stage = STAGES["microservices"]
    tables = TableNames.for_deployment("microservices-eks")
    docs = k8s.render("microservices", image="img", tables=tables)
    users_url = k8s.service_url(stage, stage.service("users"))
    spec = eks_target.local_spec(stage, docs, stage.service("orders"), tmp_path, {users_url: "http://127.0.0.1:9"})
    container = k8s.container_spec(docs, "orders")
    assert spec.argv == container["command"]
    assert spec.replicas == 2 and spec.health_path == "/health"
    assert spec.env["RUNTIME"] == "EKS"
    assert spec.env["USERS_SERVICE_URL"] == "http://127.0.0.1:9"  # the in-cluster DNS name, resolved locally
    (path, content) = next(iter(spec.files.items()))
    assert spec.env["CONFIG_FILE"] == path and path.startswith(str(tmp_path))
    assert json.loads(content) == {"users": {"table": tables.users}, "orders": {"table": tables.orders}}
