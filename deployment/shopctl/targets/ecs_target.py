"""TARGET=ecs: deploy a stage as Amazon ECS services (Fargate-compatible task definitions).

The same code path for ENV=local and ENV=aws: ECR repository, cluster, roles, log group, SSM parameters,
task definitions and services are created with boto3 wherever boto3 points. Locally nothing pulls the
image: `shopctl.local.supervisor` runs what the *registered* task definition says (its command, environment,
health check) with the service's desired count, read back from the local AWS.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients, ecr, iam, prices, resources, state
from shopctl.aws import image as images
from shopctl.aws.logs import delete_log_group, ensure_log_group
from shopctl.aws.tagging import Tags
from shopctl.local.deployment import local_supervisor, manifest_dir, stop_processes
from shopctl.local.process import base_environ
from shopctl.local.supervisor import Spec, write_spec
from shopctl.stages import Service, Stage
from shopctl.targets import alb, ecs_cluster, naming, rollout, security_groups
from shopctl.targets.ecs_cluster import CLUSTER, delete_cluster_if_unused, ensure_cluster
from shopctl.targets.ecs_rollout import POLL_SECONDS, wait_stable

TARGET = "ecs"
LABEL = "ECS"
PORT_BASE = 9200
CPU, MEMORY = "256", "512"  # the smallest Fargate size that runs FastAPI comfortably
CONTAINER_PORT = naming.CONTAINER_PORT
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


# A revision whose tasks keep failing their health check is stopped by ECS and the service rolled back
# to the last revision that was healthy, instead of replacing tasks forever. Rolling updates start the
# new tasks before stopping old ones (200 % / 100 %), so the service never drops below its desired count.
CIRCUIT_BREAKER = {"enable": True, "rollback": True}
DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": CIRCUIT_BREAKER,
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


@dataclass(frozen=True)
class Options:
    env: str = "local"
    port: int | None = None
    desired_count: int = 2
    quiet: bool = False
    tables: resources.TableNames | None = None  # share tables with another deployment (the mixed one)
    image_tag: str | None = None  # default: a digest of the image's content (shopctl.aws.image.content_tag)


def add_arguments(group: Any) -> None:
    """ECS reads only the flags every target has."""


def options(args: argparse.Namespace) -> Options:
    return Options(env=args.env, port=args.port)


def warnings(options: Options) -> list[str]:
    return []


def hints(stage: Stage, deployment: state.DeploymentState) -> list[str]:
    return [f"try:  curl -s {deployment.url}/health"]


def destroy_confirmations(stage: Stage, options: Options) -> list[str]:
    return []


def teardown_options(env: str) -> Options:
    return Options(env=env, quiet=True)


def deployment_name(stage: Stage) -> str:
    return naming.deployment_name(stage, TARGET)


def ssm_prefix(stage: str) -> str:
    return f"/shop/{stage}-{TARGET}"


def family(stage: Stage, service: Service) -> str:
    return naming.resource_name(stage, service)


def plan(stage: Stage, options: Options) -> list[str]:
    name = deployment_name(stage)
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
    # Every ECS deployment gets its own internet-facing load balancer: the one resource here with a fixed
    # hourly price (about $0.0225/hour plus capacity units on AWS), so the plan names it.
    balancer = alb.load_balancer_name(name)
    lines.append(
        f"Application Load Balancer {balancer} (HTTP {alb.LISTENER_PORT}), target group(s) "
        f"{', '.join(r.target_group for r in routes(stage))}; security groups {balancer}-alb and shop-{stage.name}-ecs"
    )
    return lines


def costs(stage: Stage, options: Options) -> list[prices.Billed]:
    """The ALB and its addresses (one per Availability Zone it spans), the Fargate tasks and their public IPs
    (assignPublicIp: the tasks pull the image without a NAT gateway)."""
    services = stage.app_services()
    tasks = len(services) * options.desired_count
    zones = ecs_cluster.MAX_SUBNETS
    balancer = alb.load_balancer_name(deployment_name(stage))
    size = f"{len(services)} service(s) x {options.desired_count}"
    return [
        prices.Billed(f"Application Load Balancer {balancer}", 1, prices.ALB_HOUR),
        prices.Billed("its load balancer capacity units (an idle one uses part of one)", 1, prices.ALB_LCU_HOUR),
        prices.public_ipv4(zones, "the load balancer (one per Availability Zone)"),
        prices.fargate_task(int(CPU) / 1024, int(MEMORY) / 1024, tasks, size),
        prices.public_ipv4(tasks, "the tasks"),
        prices.Billed("DynamoDB on-demand tables, SSM parameters, logs, the image in ECR", 1, 0.0),
    ]


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
        Tags(stage.name, TARGET),
    )
    return arn


def _task_role(stage: Stage, service: Service, tables: resources.TableNames) -> str:
    account, region = iam.account_and_region()
    prefix = ssm_prefix(stage.name)
    statements = [
        *iam.dynamodb_statements(stage.name, naming.table_kinds(service, tables)),
        {
            "Sid": "OwnParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [f"arn:aws:ssm:{region}:{account}:parameter{prefix}/{key}" for key in service.settings],
        },
    ]
    name = f"{family(stage, service)}-ecs-task"
    description = f"ECS task role of {family(stage, service)}"
    arn, _ = iam.ensure_role(name, ECS_TRUST, iam.policy(statements), description, Tags(stage.name, TARGET))
    return arn


def _container(service: Service, image: str, environment: dict[str, str], log_group: str) -> dict[str, Any]:
    _, region = iam.account_and_region()
    return {
        "name": "app",
        "image": image,
        "essential": True,
        "command": naming.container_command(service),
        # awsvpc: ECS stores hostPort = containerPort; said here, so a re-deploy compares equal and is a no-op
        "portMappings": [
            {"name": "http", "containerPort": CONTAINER_PORT, "hostPort": CONTAINER_PORT, "protocol": "tcp"}
        ],
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


def _register(name: str, container: dict[str, Any], task_role: str, execution_role: str, tags: Tags) -> str:
    """Register a new revision only when something changed, so a second deploy changes nothing."""
    ecs = clients.client("ecs")
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
        tags=tags.lower_key_value(),
        **wanted,
    )["taskDefinition"]["taskDefinitionArn"]


def routes(stage: Stage) -> list[alb.Route]:
    """One target group per service; with several services the listener routes by path (the first is the default)."""
    services = stage.app_services()
    if len(services) == 1:
        return [alb.Route(services[0].name, family(stage, services[0]))]
    return [alb.Route(s.name, family(stage, s), (f"/{s.name}", f"/{s.name}/*")) for s in services]


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
    tags: Tags,
) -> None:
    ecs = clients.client("ecs")
    balancers = [{"targetGroupArn": target_group, "containerName": "app", "containerPort": CONTAINER_PORT}]
    found = ecs.describe_services(cluster=CLUSTER, services=[name])["services"]
    if found and found[0]["status"] == "ACTIVE":
        current = found[0]
        changed = current["taskDefinition"] != task_definition or current["desiredCount"] != desired
        breaker = current.get("deploymentConfiguration", {}).get("deploymentCircuitBreaker")
        if changed or current.get("loadBalancers") != balancers or breaker != CIRCUIT_BREAKER:
            ecs.update_service(
                cluster=CLUSTER,
                service=name,
                taskDefinition=task_definition,
                desiredCount=desired,
                serviceConnectConfiguration=connect,
                loadBalancers=balancers,
                deploymentConfiguration=DEPLOYMENT_CONFIGURATION,
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
        deploymentConfiguration=DEPLOYMENT_CONFIGURATION,
        tags=tags.lower_key_value(),
        propagateTags="SERVICE",  # its tasks carry the deployment's tags too
    )


def local_spec(stage: Stage, name: str) -> Spec:
    """What the local tasks run, read back from the local AWS: the service's registered task definition."""
    ecs = clients.client("ecs")
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


def deploy(stage: Stage, options: Options) -> state.DeploymentState:
    started = rollout.begin(
        stage, target=TARGET, label=LABEL, port_base=PORT_BASE, env=options.env, tables=options.tables,
        quiet=options.quiet,
    )
    deployment, tables, say = started.deployment, started.tables, started.say
    name = deployment.name
    parameters = resources.put_parameters(ssm_prefix(stage.name), tables.settings(), tags=Tags(stage.name, TARGET))
    say(f"✓ SSM parameters {', '.join(parameters)}")
    repo_uri, repo_arn = ecr.ensure_repository(stage.name)
    reference = images.reference(stage.name, repo_uri, options.env, say, options.image_tag)
    # idempotent; its Service Connect namespace (Cloud Map) lets services call each other by name
    ensure_cluster()
    log_group = f"/ecs/shop-{stage.name}"
    ensure_log_group(log_group, tags=Tags(stage.name, TARGET))
    execution_role = _execution_role(stage, repo_arn, log_group)
    say(f"✓ ECR repository {repo_uri}, cluster {CLUSTER}, log group {log_group}, execution role")

    vpc_id, network = ecs_cluster.network(stage.name, CONTAINER_PORT)
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
    revisions: dict[str, str] = {}
    for service in stage.app_services():
        fam = family(stage, service)
        families.append(fam)
        environment = {"RUNTIME": "ECS", "SSM_PREFIX": ssm_prefix(stage.name), "PYTHONUNBUFFERED": "1"}
        environment.update({f"{up.upper()}_SERVICE_URL": urls[up] for up in service.upstreams})
        container = _container(service, reference, environment, log_group)
        tags = Tags(stage.name, TARGET)
        task_definition = _register(fam, container, _task_role(stage, service, tables), execution_role, tags)
        called = any(service.name in other.upstreams for other in stage.app_services())
        connect = service_connect(fam, called)
        _ensure_service(
            fam, task_definition, options.desired_count, network, connect, target_groups[service.name], tags
        )
        revisions[fam] = task_definition
        say(f"✓ service {fam}: {task_definition.rsplit('/', 1)[1]}, desired count {options.desired_count}")
        if options.env == "local":
            spec = local_spec(stage, fam)
            path = write_spec(spec, manifest_dir(name))
            what = f"local ECS service {fam}"
            port = started.entry_port(service, options.port)
            proc = local_supervisor(started, stage.name, spec, path, port=port, what=what)
            urls[service.name] = proc.url
            say(f"✓ {spec.replicas} local tasks of {fam} behind {proc.url}")
        else:
            urls[service.name] = f"http://{fam}:{CONTAINER_PORT}"  # the Service Connect name inside the VPC
    if options.env == "local":
        # The local supervisor (and gateway, for microservices) stands in for the load balancer's DNS name.
        base_url = started.entry_url(urls, options.port, "ECS")
    else:
        say(f"… waiting for the load balancer to become active ({balancer_url})")
        clients.client("elbv2").get_waiter("load_balancer_available").wait(Names=[alb.load_balancer_name(name)])
        say(f"… waiting for the services to become stable (progress every {POLL_SECONDS:.0f}s)")
        wait_stable(revisions, say)
        base_url = balancer_url
    created = state.DeploymentResources(
        load_balancer=balancer_url,
        services=families,
        parameters=parameters,
        repository=repo_uri,
        log_group=log_group,
        service_urls=urls,
    )
    return started.finish(base_url, created)


def destroy(stage: Stage, options: Options, *, keep_data: bool = True) -> list[str]:
    """Remove the deployment in dependency order: services (waited for until INACTIVE, their tasks gone),
    then what they used — load balancer, security groups, roles, log group, parameters, image repository."""
    name = deployment_name(stage)
    deployment = state.load(name)
    removed = stop_processes(deployment)
    on_aws = options.env == "aws"
    # Tasks being stopped leave their target groups after the deregistration delay: shortened first, so
    # the load balancer and the security groups can go minutes sooner.
    for arn in alb.target_group_arns([r.target_group for r in routes(stage)]):
        alb.shorten_deregistration_delay(arn)
    ecs = clients.client("ecs")
    deleted = []
    # No cluster (a first deploy that stopped before it, e.g. at the image): no service to remove, and ECS
    # would answer ClusterNotFoundException; the rest of what that deploy made still goes.
    for service in stage.app_services() if ecs_cluster.cluster_exists() else []:
        fam = family(stage, service)
        found = ecs.describe_services(cluster=CLUSTER, services=[fam])["services"]
        if found and found[0]["status"] == "ACTIVE":
            ecs.update_service(cluster=CLUSTER, service=fam, desiredCount=0)
            ecs.delete_service(cluster=CLUSTER, service=fam)
            deleted.append(fam)
            removed.append(f"service {fam}")
    if deleted:
        if not options.quiet:
            print(f"… waiting for {', '.join(deleted)} to stop their tasks (services_inactive)", flush=True)
        delay = 15 if on_aws else 1
        ecs.get_waiter("services_inactive").wait(
            cluster=CLUSTER, services=deleted, WaiterConfig={"Delay": delay, "MaxAttempts": 60}
        )
    for service in stage.app_services():
        fam = family(stage, service)
        removed += _remove_task_definitions(fam)
        if iam.delete_role(f"{fam}-ecs-task"):
            removed.append(f"role {fam}-ecs-task")
    removed += alb.delete(name, [r.target_group for r in routes(stage)], wait=on_aws)
    if security_groups.delete_by_name(f"shop-{stage.name}-ecs", retry=on_aws):
        removed.append(f"security group shop-{stage.name}-ecs")
    if iam.delete_role(f"shop-{stage.name}-ecs-execution"):
        removed.append(f"role shop-{stage.name}-ecs-execution")
    if delete_log_group(f"/ecs/shop-{stage.name}"):
        removed.append(f"log group /ecs/shop-{stage.name}")
    tables = rollout.recorded_tables(deployment, name)
    names = [resources.parameter_name(ssm_prefix(stage.name), key) for key in tables.settings()]
    if clients.client("ssm").get_parameters(Names=names)["Parameters"]:
        resources.delete_parameters(ssm_prefix(stage.name), list(tables.settings()))
        removed.append(f"SSM parameters under {ssm_prefix(stage.name)}/")
    if not keep_data:
        removed += [f"table {t}" for t in resources.delete_tables(tables)]
    removed += delete_cluster_if_unused()
    state.remove(name)
    if not removed and not options.quiet:
        print(f"✓ nothing of {name} to remove: no ECS service, load balancer, role or parameter of it here")
        return removed
    return rollout.report_removed(removed, keep_data=keep_data, quiet=options.quiet)


def _remove_task_definitions(fam: str) -> list[str]:
    """Deregister every revision, then delete them: deregistered (INACTIVE) revisions otherwise stay
    listed in the account for good."""
    ecs = clients.client("ecs")
    active = ecs.list_task_definitions(familyPrefix=fam, status="ACTIVE")["taskDefinitionArns"]
    for arn in active:
        ecs.deregister_task_definition(taskDefinition=arn)
    inactive = ecs.list_task_definitions(familyPrefix=fam, status="INACTIVE")["taskDefinitionArns"]
    for start in range(0, len(inactive), 10):  # DeleteTaskDefinitions takes at most 10
        ecs.delete_task_definitions(taskDefinitions=inactive[start : start + 10])
    return [f"{len(inactive)} task definition revision(s) of {fam}"] if inactive else []


def uses_image(stage: Stage) -> bool:
    """Every ECS deployment runs the stage's image."""
    return exists(stage)


def exists(stage: Stage) -> bool:
    """By its state record, or by what AWS holds: a service not yet INACTIVE (ACTIVE or DRAINING)."""
    if state.load(deployment_name(stage)) is not None:
        return True
    names = [family(stage, service) for service in stage.app_services()]
    try:
        found = clients.client("ecs").describe_services(cluster=CLUSTER, services=names)["services"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ClusterNotFoundException":
            raise
        return False
    return any(s["status"] != "INACTIVE" for s in found)


def describe(stage: Stage) -> dict[str, Any]:
    ecs = clients.client("ecs")
    out = {}
    for service in stage.app_services():
        fam = family(stage, service)
        svc = ecs.describe_services(cluster=CLUSTER, services=[fam])["services"][0]
        out[fam] = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    return json.loads(json.dumps(out, default=str))
