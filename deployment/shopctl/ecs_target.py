"""TARGET=ecs: deploy a stage as Amazon ECS services (Fargate-compatible task definitions).

The same code path for ENV=local and ENV=aws: ECR repository, cluster, roles, log group, SSM parameters,
task definitions and services are created with boto3 wherever boto3 points. Locally nothing pulls the
image: `shopctl.supervisor` runs what the *registered* task definition says (its command, environment,
health check) with the service's desired count, read back from the local AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from shopctl import alb, iam, resources, state
from shopctl import deploy_common as common
from shopctl.errors import ShopctlError
from shopctl.process import base_environ
from shopctl.stages import Service, Stage, get_stage
from shopctl.supervisor import Spec, write_spec

TARGET = "ecs"
CLUSTER = "shop"
CPU, MEMORY = "256", "512"  # the smallest Fargate size that runs FastAPI comfortably
CONTAINER_PORT = 8080
ECS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
HEALTH_PATH = "/health"
HEALTH_COMMAND = [
    "CMD",
    "python",
    "-c",
    "import sys, urllib.request; "
    f"sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{CONTAINER_PORT}{HEALTH_PATH}', timeout=2).status == 200"
    " else 1)",
]


@dataclass(frozen=True)
class Options:
    env: str = "local"
    port: int | None = None
    desired_count: int = 2
    quiet: bool = False
    tables: resources.TableNames | None = None  # share tables with another deployment (the mixed one)
    image_tag: str | None = None  # default: a digest of the image's content (shopctl.image.content_tag)


def deployment_name(stage: str) -> str:
    return f"{stage}-{TARGET}"


def ssm_prefix(stage: str) -> str:
    return f"/shop/{deployment_name(stage)}"


def family(stage: Stage, service: Service) -> str:
    return common.resource_name(stage, service)


def container_command(service: Service) -> list[str]:
    return ["python", "-m", "uvicorn", service.asgi, "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]


def plan(stage: Stage, options: Options) -> list[str]:
    name = deployment_name(stage.name)
    lines = [
        f"DynamoDB tables shop-{name}-users, shop-{name}-orders; SSM parameters under {ssm_prefix(stage.name)}/",
        f"ECR repository shop-{stage.name}, ECS cluster {CLUSTER}, log group /ecs/shop-{stage.name}",
        f"IAM roles shop-{stage.name}-ecs-execution and one task role per service (its table and parameters only)",
    ]
    for service in stage.app_services():
        lines.append(
            f"task definition + service {family(stage, service)} ({CPU} CPU units, {MEMORY} MiB, "
            f"desired count {options.desired_count})"
        )
    return lines


def _execution_role(stage: Stage, repo_arn: str, log_group: str) -> str:
    account, region = iam.account_and_region()
    statements = [
        {
            "Sid": "PullOwnImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": [repo_arn],
        },
        # The one action IAM cannot scope: ECR issues registry tokens account-wide (its API only accepts "*").
        {
            "Sid": "RegistryToken",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": ["*"],
        },
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"arn:aws:logs:{region}:{account}:log-group:{log_group}:*"],
        },
    ]
    arn, _ = iam.ensure_role(
        f"shop-{stage.name}-ecs-execution",
        ECS_TRUST,
        iam.policy(statements),
        f"ECS task execution role of shop-{stage.name}",
    )
    return arn


def _task_role(stage: Stage, service: Service, tables: resources.TableNames) -> str:
    account, region = iam.account_and_region()
    prefix = ssm_prefix(stage.name)
    statements = [
        *iam.dynamodb_statements(stage.name, common.table_kinds(service, tables)),
        {
            "Sid": "OwnParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [f"arn:aws:ssm:{region}:{account}:parameter{prefix}/{key}" for key in service.settings],
        },
    ]
    name = f"{family(stage, service)}-ecs-task"
    arn, _ = iam.ensure_role(name, ECS_TRUST, iam.policy(statements), f"ECS task role of {family(stage, service)}")
    return arn


def _container(service: Service, image: str, environment: dict[str, str], log_group: str) -> dict[str, Any]:
    _, region = iam.account_and_region()
    return {
        "name": "app",
        "image": image,
        "essential": True,
        "command": container_command(service),
        "portMappings": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "healthCheck": {
            "command": HEALTH_COMMAND,
            "interval": 10,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 15,
        },
        "readonlyRootFilesystem": True,
        "user": "10001",
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "app"},
        },
    }


def _register(name: str, container: dict[str, Any], task_role: str, execution_role: str) -> str:
    """Register a new revision only when something changed, so a second deploy changes nothing."""
    ecs = boto3.client("ecs")
    wanted = {
        "taskRoleArn": task_role,
        "executionRoleArn": execution_role,
        "networkMode": "awsvpc",
        "cpu": CPU,
        "memory": MEMORY,
        "requiresCompatibilities": ["FARGATE"],
    }
    try:
        current = ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]
    except ClientError:
        current = None
    if current and current.get("status") == "ACTIVE":
        same = all(current.get(k) == v for k, v in wanted.items())
        existing = current["containerDefinitions"][0]
        same = same and all(existing.get(k) == v for k, v in container.items())
        if same:
            return current["taskDefinitionArn"]
    return ecs.register_task_definition(
        family=name,
        containerDefinitions=[container],
        tags=[{"key": "project", "value": "shapeshifting-workshop"}],
        **wanted,
    )["taskDefinition"]["taskDefinitionArn"]


def _default_vpc() -> dict[str, Any]:
    vpcs = boto3.client("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ShopctlError("no default VPC in this region", "create one (aws ec2 create-default-vpc) or pick a region")
    return vpcs[0]


def _network(stage: Stage) -> tuple[str, dict[str, Any]]:
    """The default VPC's id, and its subnets plus a security group that admits the container port from inside
    the VPC only (the load balancer and Service Connect peers live there)."""
    ec2 = boto3.client("ec2")
    vpc = _default_vpc()
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    group_name = f"shop-{stage.name}-ecs"
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": [group_name]}]
    )["SecurityGroups"]
    if groups:
        group_id = groups[0]["GroupId"]
    else:
        group_id = ec2.create_security_group(
            GroupName=group_name,
            Description=f"shop-{stage.name} tasks: port {CONTAINER_PORT} from the VPC",
            VpcId=vpc["VpcId"],
        )["GroupId"]
        rule = {
            "IpProtocol": "tcp",
            "FromPort": CONTAINER_PORT,
            "ToPort": CONTAINER_PORT,
            "IpRanges": [{"CidrIp": vpc["CidrBlock"], "Description": "load balancer and services in the VPC"}],
        }
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
    subnet_ids = sorted(s["SubnetId"] for s in subnets)[:3]
    config = {"subnets": subnet_ids, "securityGroups": [group_id], "assignPublicIp": "ENABLED"}
    return vpc["VpcId"], {"awsvpcConfiguration": config}


def routes(stage: Stage) -> list[alb.Route]:
    """One target group per service; with several services the listener routes by path (the first is the default)."""
    services = stage.app_services()
    if len(services) == 1:
        return [alb.Route(services[0].name, family(stage, services[0]))]
    return [alb.Route(s.name, family(stage, s), (f"/{s.name}", f"/{s.name}/*")) for s in services]


def _delete_security_group(stage: Stage) -> bool:
    ec2 = boto3.client("ec2")
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"shop-{stage.name}-ecs"]}])
    for group in groups["SecurityGroups"]:
        ec2.delete_security_group(GroupId=group["GroupId"])
    return bool(groups["SecurityGroups"])


def service_connect(name: str, called_by_others: bool) -> dict[str, Any]:
    """ECS Service Connect: services of the cluster's namespace reach `name` at http://<name>:8080."""
    config: dict[str, Any] = {"enabled": True, "namespace": CLUSTER}
    if called_by_others:
        config["services"] = [
            {"portName": "http", "discoveryName": name, "clientAliases": [{"port": CONTAINER_PORT, "dnsName": name}]}
        ]
    return config


def _ensure_service(
    name: str,
    task_definition: str,
    desired: int,
    network: dict[str, Any],
    connect: dict[str, Any],
    target_group: str,
) -> None:
    ecs = boto3.client("ecs")
    balancers = [{"targetGroupArn": target_group, "containerName": "app", "containerPort": CONTAINER_PORT}]
    found = ecs.describe_services(cluster=CLUSTER, services=[name])["services"]
    if found and found[0]["status"] == "ACTIVE":
        current = found[0]
        changed = current["taskDefinition"] != task_definition or current["desiredCount"] != desired
        if changed or current.get("loadBalancers") != balancers:
            ecs.update_service(
                cluster=CLUSTER,
                service=name,
                taskDefinition=task_definition,
                desiredCount=desired,
                serviceConnectConfiguration=connect,
                loadBalancers=balancers,
            )
        return
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=name,
        taskDefinition=task_definition,
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration=network,
        serviceConnectConfiguration=connect,
        loadBalancers=balancers,
        healthCheckGracePeriodSeconds=30,
        tags=[{"key": "project", "value": "shapeshifting-workshop"}],
    )


def local_spec(stage: Stage, name: str) -> Spec:
    """What the local tasks run, read back from the local AWS: the service's registered task definition."""
    ecs = boto3.client("ecs")
    service = ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]
    task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    container = task_definition["containerDefinitions"][0]
    env = {item["name"]: item["value"] for item in container.get("environment", [])}
    match = re.search(r"127\.0\.0\.1:\d+(/\S*?)'", " ".join(container.get("healthCheck", {}).get("command", [])))
    return Spec(
        name=name,
        argv=list(container["command"]),
        env=base_environ(stage.name, env),
        replicas=service["desiredCount"],
        health_path=match.group(1) if match else "/",
        platform="ecs",
    )


def deploy(stage_name: str, options: Options) -> state.DeploymentState:
    rollout = common.begin(stage_name, TARGET, env=options.env, tables=options.tables, quiet=options.quiet)
    stage, deployment, tables, say = rollout.stage, rollout.deployment, rollout.tables, rollout.say
    name = deployment.name
    parameters = resources.put_parameters(ssm_prefix(stage.name), tables.settings())
    say(f"✓ SSM parameters {', '.join(parameters)}")
    repo_uri, repo_arn = common.ensure_repository(stage)
    reference = common.image_reference(stage, repo_uri, options.env, say, options.image_tag)
    # idempotent; its Service Connect namespace lets services call each other by name
    boto3.client("ecs").create_cluster(clusterName=CLUSTER, serviceConnectDefaults={"namespace": CLUSTER})
    log_group = f"/ecs/shop-{stage.name}"
    common.ensure_log_group(log_group)
    execution_role = _execution_role(stage, repo_arn, log_group)
    say(f"✓ ECR repository {repo_uri}, cluster {CLUSTER}, log group {log_group}, execution role")

    vpc_id, network = _network(stage)
    balancer_url, target_groups = alb.ensure(
        name,
        vpc_id=vpc_id,
        subnets=network["awsvpcConfiguration"]["subnets"],
        routes=routes(stage),
        port=CONTAINER_PORT,
        health_path=HEALTH_PATH,
    )
    say(f"✓ load balancer {alb.load_balancer_name(name)}: {', '.join(r.target_group for r in routes(stage))}")
    urls: dict[str, str] = {}
    families = []
    for service in stage.app_services():
        fam = family(stage, service)
        families.append(fam)
        environment = {"RUNTIME": "ECS", "SSM_PREFIX": ssm_prefix(stage.name), "PYTHONUNBUFFERED": "1"}
        environment.update({f"{up.upper()}_SERVICE_URL": urls[up] for up in service.upstreams})
        container = _container(service, reference, environment, log_group)
        task_definition = _register(fam, container, _task_role(stage, service, tables), execution_role)
        called = any(service.name in other.upstreams for other in stage.app_services())
        connect = service_connect(fam, called)
        _ensure_service(fam, task_definition, options.desired_count, network, connect, target_groups[service.name])
        say(f"✓ service {fam}: {task_definition.rsplit('/', 1)[1]}, desired count {options.desired_count}")
        if options.env == "local":
            spec = local_spec(stage, fam)
            path = write_spec(spec, common.manifest_dir(name))
            what = f"local ECS service {fam}"
            port = rollout.entry_port(service, options.port)
            proc = common.local_supervisor(rollout, spec, path, port=port, what=what)
            urls[service.name] = proc.url
            say(f"✓ {spec.replicas} local tasks of {fam} behind {proc.url}")
        else:
            urls[service.name] = f"http://{fam}:{CONTAINER_PORT}"  # the Service Connect name inside the VPC
    if options.env == "local":
        # The local supervisor (and gateway, for microservices) stands in for the load balancer's DNS name.
        base_url = common.entry_url(rollout, urls, options.port, "ECS")
    else:
        say(f"… waiting for the load balancer to become active ({balancer_url})")
        boto3.client("elbv2").get_waiter("load_balancer_available").wait(Names=[alb.load_balancer_name(name)])
        say("  targets register once the tasks pass their health check (a minute or two after the first deploy)")
        base_url = balancer_url
    deployed = {
        "load_balancer": balancer_url,
        "services": families,
        "parameters": parameters,
        "repository": repo_uri,
        "log_group": log_group,
        "service_urls": urls,
    }
    return rollout.finish(base_url, deployed)


def destroy(stage_name: str, options: Options, *, keep_data: bool = True) -> list[str]:
    stage = get_stage(stage_name)
    name = deployment_name(stage.name)
    deployment = state.load(name)
    removed = common.stop_processes(deployment)
    ecs = boto3.client("ecs")
    for service in stage.app_services():
        fam = family(stage, service)
        found = ecs.describe_services(cluster=CLUSTER, services=[fam])["services"]
        if found and found[0]["status"] == "ACTIVE":
            ecs.update_service(cluster=CLUSTER, service=fam, desiredCount=0)
            ecs.delete_service(cluster=CLUSTER, service=fam)
            removed.append(f"service {fam}")
        arns = ecs.list_task_definitions(familyPrefix=fam, status="ACTIVE")["taskDefinitionArns"]
        for arn in arns:
            ecs.deregister_task_definition(taskDefinition=arn)
        if arns:
            removed.append(f"{len(arns)} task definition revision(s) of {fam}")
        if iam.delete_role(f"{fam}-ecs-task"):
            removed.append(f"role {fam}-ecs-task")
    removed += alb.delete(name, [r.target_group for r in routes(stage)], wait=options.env == "aws")
    if iam.delete_role(f"shop-{stage.name}-ecs-execution"):
        removed.append(f"role shop-{stage.name}-ecs-execution")
    if _delete_security_group(stage):
        removed.append(f"security group shop-{stage.name}-ecs")
    if common.delete_log_group(f"/ecs/shop-{stage.name}"):
        removed.append(f"log group /ecs/shop-{stage.name}")
    tables = common.recorded_tables(deployment, name)
    resources.delete_parameters(ssm_prefix(stage.name), list(tables.settings()))
    removed.append(f"SSM parameters under {ssm_prefix(stage.name)}/")
    if common.delete_repository_unless_used(stage, by_other=f"{stage.name}-eks"):
        removed.append(f"ECR repository shop-{stage.name}")
    if not keep_data:
        removed += [f"table {t}" for t in resources.delete_tables(tables)]
    state.remove(name)
    return common.report_removed(removed, keep_data=keep_data, quiet=options.quiet)


def describe(stage_name: str) -> dict[str, Any]:
    stage = get_stage(stage_name)
    ecs = boto3.client("ecs")
    out = {}
    for service in stage.app_services():
        fam = family(stage, service)
        svc = ecs.describe_services(cluster=CLUSTER, services=[fam])["services"][0]
        out[fam] = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    return json.loads(json.dumps(out, default=str))
