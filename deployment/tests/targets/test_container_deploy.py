"""ECS and EKS deploy code against an in-process moto (mock_aws): roles scoped to exactly the stage's
tables, parameters and ServiceAccount; task definitions carrying the ECS configuration; idempotency;
destroy leaving nothing. These take the ENV=aws path (no local processes are started)."""

from __future__ import annotations

import json
import re

import boto3

from shopctl.aws import state
from shopctl.aws.iam import INDEX_ACTIONS, table_actions
from shopctl.aws.resources import TableNames
from shopctl.stages import STAGES, get_stage
from shopctl.targets import ecs_target, eks_cluster, eks_target, k8s, registry

REGION = "eu-west-1"


def inline_policy(role: str) -> dict:
    client = boto3.client("iam")
    (name,) = client.list_role_policies(RoleName=role)["PolicyNames"]
    document = client.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def grants(role: str) -> dict[str, set[str]]:
    return {res: set(s["Action"]) for s in inline_policy(role)["Statement"] for res in s["Resource"]}


ECS = ecs_target.Options(env="aws", quiet=True)


def test_ecs_task_definition_reads_config_from_ssm(pushed_images):
    ecs_target.deploy(get_stage("clean"), ECS)
    (described,) = ecs_target.describe(get_stage("clean")).values()
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


def test_ecs_parameters_carry_the_deployment_tags(pushed_images):
    ecs_target.deploy(get_stage("clean"), ecs_target.Options(env="aws", quiet=True))
    ssm = boto3.client("ssm")
    for name in ("/shop/clean-ecs/users/table", "/shop/clean-ecs/orders/table"):
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        assert {t["Key"]: t["Value"] for t in tags} == {
            "project": "shapeshifting-workshop", "stage": "clean", "target": "ecs", "deployment": "clean-ecs"
        }


def test_ecs_task_role_names_exactly_the_tables_and_parameters(pushed_images):
    ecs_target.deploy(get_stage("microservices"), ECS)
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


def test_ecs_deploying_twice_registers_no_new_revision(pushed_images):
    ecs_target.deploy(get_stage("clean"), ECS)
    ecs_target.deploy(get_stage("clean"), ECS)
    arns = boto3.client("ecs").list_task_definitions(familyPrefix="shop-clean")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == ["1"]
    parameters = boto3.client("ssm").get_parameters_by_path(Path="/shop/clean-ecs", Recursive=True)["Parameters"]
    assert [p["Version"] for p in parameters] == [1, 1], "a re-deploy rewrote unchanged SSM parameters"


def test_ecs_destroy_leaves_nothing_but_data(pushed_images):
    ecs_target.deploy(get_stage("clean"), ECS)
    registry.destroy(ecs_target, get_stage("clean"), ECS)
    ecs = boto3.client("ecs")
    assert ecs.list_task_definitions(familyPrefix="shop-clean", status="ACTIVE")["taskDefinitionArns"] == []
    services = ecs.describe_services(cluster="shop", services=["shop-clean"])["services"]
    assert all(s["status"] != "ACTIVE" for s in services)
    # ECS's service-linked role stays: it is the account's, not the deployment's
    roles = boto3.client("iam").list_roles()["Roles"]
    assert [r["RoleName"] for r in roles if not r["Path"].startswith("/aws-service-role/")] == []
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []
    repositories = boto3.client("ecr").describe_repositories()["repositories"]
    assert "shop-clean" not in {r["repositoryName"] for r in repositories}
    assert state.load("clean-ecs") is None
    elbv2 = boto3.client("elbv2")
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    groups = boto3.client("ec2").describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in groups if g["GroupName"].startswith("shop-")] == []
    assert set(boto3.client("dynamodb").list_tables()["TableNames"]) == {
        "shop-clean-ecs-users",
        "shop-clean-ecs-orders",
    }


def test_ecs_plan_names_the_load_balancer_groups_and_security_groups_deploy_creates(pushed_images):
    plan = "\n".join(ecs_target.plan(STAGES["microservices"], ECS))
    ecs_target.deploy(get_stage("microservices"), ECS)
    elbv2 = boto3.client("elbv2")
    created = [b["LoadBalancerName"] for b in elbv2.describe_load_balancers()["LoadBalancers"]]
    created += [g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]]
    groups = boto3.client("ec2").describe_security_groups()["SecurityGroups"]
    created += [g["GroupName"] for g in groups if g["GroupName"].startswith("shop-")]
    assert len(created) == 5  # one balancer, two target groups, two security groups
    named = {m.group() for m in re.finditer(r"shop-[\w-]+", plan)}  # whole names, not prefixes of others
    assert [name for name in created if name not in named] == []


def test_ecs_load_balancer_routes_each_path_to_its_service(pushed_images):
    deployed = ecs_target.deploy(get_stage("microservices"), ECS)
    ecs_target.deploy(get_stage("microservices"), ECS)  # a second deploy adds no rule, group or balancer
    elbv2 = boto3.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert deployed.url == f"http://{balancer['DNSName']}"
    assert balancer["Scheme"] == "internet-facing" and balancer["Type"] == "application"
    groups = {g["TargetGroupName"]: g for g in elbv2.describe_target_groups()["TargetGroups"]}
    assert set(groups) == {"shop-microservices-users", "shop-microservices-orders"}
    for group in groups.values():
        assert (group["TargetType"], group["Port"], group["HealthCheckPath"]) == ("ip", 8080, "/health")
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80
    routed = {}
    for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
        target = rule["Actions"][0]["TargetGroupArn"]
        patterns = [v for c in rule["Conditions"] for v in c.get("PathPatternConfig", {}).get("Values", [])]
        routed[tuple(patterns) or "default"] = target
    assert routed == {
        "default": groups["shop-microservices-users"]["TargetGroupArn"],
        ("/orders", "/orders/*"): groups["shop-microservices-orders"]["TargetGroupArn"],
    }
    services = boto3.client("ecs").describe_services(
        cluster="shop", services=["shop-microservices-users", "shop-microservices-orders"]
    )["services"]
    for service in services:
        (attached,) = service["loadBalancers"]
        assert attached["targetGroupArn"] == groups[service["serviceName"]]["TargetGroupArn"]
        assert (attached["containerName"], attached["containerPort"]) == ("app", 8080)


def test_eks_pod_role_is_trusted_by_exactly_its_service_account(managed_policies):
    options = eks_target.Options(env="local", quiet=True)
    cluster = eks_target._cluster(options, print)  # locally: a stand-in cluster record with a real OIDC issuer
    provider = eks_cluster.oidc_provider(cluster)
    assert eks_cluster.oidc_provider(cluster) == provider  # found, not created twice
    stage = STAGES["microservices"]
    tables = TableNames.for_deployment("microservices-eks")
    from shopctl.aws.resources import ensure_tables

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


def test_eks_on_aws_needs_an_existing_cluster_unless_asked_to_create_one(aws):
    import pytest

    from shopctl.errors import ShopctlError

    with pytest.raises(ShopctlError, match="CREATE_CLUSTER=1"):
        eks_target._cluster(eks_target.Options(env="aws", cluster_name="workshop"), print)
    assert boto3.client("eks").list_clusters()["clusters"] == []


def test_eks_create_cluster_asks_for_auto_mode_with_its_roles(managed_policies):
    sent: list[dict] = []
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "provide-client-params.eks.CreateCluster", lambda params, **_: sent.append(dict(params))
    )
    lines: list[str] = []
    options = eks_target.Options(env="aws", cluster_name="workshop", create_cluster=True)
    cluster = eks_target._cluster(options, lines.append)
    assert cluster["name"] == "workshop" and cluster["status"] == "ACTIVE"
    assert any("15 minutes" in line and "billed" in line for line in lines)  # the cost warning is printed
    (params,) = sent
    assert params["computeConfig"] == {
        "enabled": True,
        "nodePools": ["general-purpose", "system"],
        "nodeRoleArn": boto3.client("iam").get_role(RoleName="workshop-eks-node")["Role"]["Arn"],
    }
    assert params["kubernetesNetworkConfig"] == {"elasticLoadBalancing": {"enabled": True}}
    assert params["storageConfig"] == {"blockStorage": {"enabled": True}}
    client = boto3.client("iam")
    attached = {
        role: {p["PolicyName"] for p in client.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
        for role in ("workshop-eks-cluster", "workshop-eks-node")
    }
    assert attached == {
        "workshop-eks-cluster": set(eks_cluster.AUTO_MODE_CLUSTER_POLICIES),
        "workshop-eks-node": set(eks_cluster.AUTO_MODE_NODE_POLICIES),
    }
    assert eks_target._cluster(options, lines.append)["arn"] == cluster["arn"]  # found, not created twice
    removed = eks_cluster.delete_cluster("workshop", wait=False)
    assert removed[0] == "EKS cluster workshop"
    assert removed[-2:] == ["role workshop-eks-cluster", "role workshop-eks-node"]
    assert removed[1].startswith("tag kubernetes.io/role/elb of subnets ")  # deploy's tag goes with the cluster
    assert boto3.client("eks").list_clusters()["clusters"] == []


def test_ecs_destroy_keeps_the_repository_while_a_lambda_image_function_runs_its_image(pushed_images):
    ecs_target.deploy(get_stage("clean"), ECS)
    repository = boto3.client("ecr").describe_repositories(repositoryNames=["shop-clean"])["repositories"][0]
    role = boto3.client("iam").create_role(RoleName="image-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    functions = boto3.client("lambda")
    functions.create_function(  # what `make deploy TARGET=lambda PACKAGE=image` creates: the same image
        FunctionName="shop-clean", PackageType="Image", Code={"ImageUri": f"{repository['repositoryUri']}:x"},
        Role=role,
    )
    registry.destroy(ecs_target, get_stage("clean"), ECS)
    names = {r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]}
    assert "shop-clean" in names
    functions.delete_function(FunctionName="shop-clean")
    ecs_target.deploy(get_stage("clean"), ECS)
    registry.destroy(ecs_target, get_stage("clean"), ECS)
    names = {r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]}
    assert "shop-clean" not in names
