"""TARGET=ecs: deploy a stage as Amazon ECS services (Fargate-compatible task definitions).

The same code path for ENV=local and ENV=aws: ECR repository, cluster, roles, log group, SSM parameters,
task definitions and services are created with boto3 wherever boto3 points. Locally nothing pulls the
image: `shopctl.local.supervisor` runs what the *registered* task definition says (its command, environment,
health check) with the service's desired count, read back from the local AWS.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients, iam, resources, state
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.local.process import base_environ
from shopctl.local.supervisor import Spec, write_spec
from shopctl.stages import Service, Stage, get_stage
from shopctl.targets import alb, common, security_groups

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


# A revision whose tasks keep failing their health check is stopped by ECS and the service rolled back
# to the last revision that was healthy, instead of replacing tasks forever. Rolling updates start the
# new tasks before stopping old ones (200 % / 100 %), so the service never drops below its desired count.
CIRCUIT_BREAKER = {"enable": True, "rollback": True}
DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": CIRCUIT_BREAKER,
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
STABLE_TIMEOUT_SECONDS = 15 * 60  # a Fargate rollout with the circuit breaker settles well within this
POLL_SECONDS = 15.0


@dataclass(frozen=True)
class Options:
    env: str = "local"
    port: int | None = None
    desired_count: int = 2
    quiet: bool = False
    tables: resources.TableNames | None = None  # share tables with another deployment (the mixed one)
    image_tag: str | None = None  # default: a digest of the image's content (shopctl.aws.image.content_tag)


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
    # Every ECS deployment gets its own internet-facing load balancer: the one resource here with a fixed
    # hourly price (about $0.0225/hour plus capacity units on AWS), so the plan names it.
    balancer = alb.load_balancer_name(name)
    lines.append(
        f"Application Load Balancer {balancer} (HTTP {alb.LISTENER_PORT}), target group(s) "
        f"{', '.join(r.target_group for r in routes(stage))}; security groups {balancer}-alb and shop-{stage.name}-ecs"
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
        Tags(stage.name, TARGET),
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
    description = f"ECS task role of {family(stage, service)}"
    arn, _ = iam.ensure_role(name, ECS_TRUST, iam.policy(statements), description, Tags(stage.name, TARGET))
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


def _default_vpc() -> dict[str, Any]:
    vpcs = clients.client("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ShopctlError("no default VPC in this region", "create one (aws ec2 create-default-vpc) or pick a region")
    return vpcs[0]


def _network(stage: Stage) -> tuple[str, dict[str, Any]]:
    """The default VPC's id, and its subnets plus a security group that admits the container port from inside
    the VPC only (the load balancer and Service Connect peers live there)."""
    ec2 = clients.client("ec2")
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


def _find_namespace(name: str) -> dict[str, Any] | None:
    namespaces = clients.client("servicediscovery").list_namespaces()["Namespaces"]
    return next((n for n in namespaces if n["Name"] == name), None)


def _wait_operation(operation_id: str, what: str) -> None:
    """Cloud Map changes namespaces asynchronously; wait for the operation (seconds on AWS)."""
    client = clients.client("servicediscovery")
    for _ in range(60):
        operation = client.get_operation(OperationId=operation_id)["Operation"]
        if operation["Status"] == "SUCCESS":
            return
        if operation["Status"] == "FAIL":
            reason = operation.get("ErrorMessage", "no reason given")
            raise ShopctlError(f"{what} failed: {reason}", "retry the command")
        time.sleep(2)
    raise ShopctlError(f"{what} did not finish within 2 minutes", "retry the command")


def ensure_cluster() -> None:
    """The shared ECS cluster and its Service Connect namespace. The namespace is created here, by name and
    tagged, rather than implicitly by ECS: so destroy can find it and remove it with the cluster."""
    namespace = _find_namespace(CLUSTER)
    if namespace is None:
        operation = clients.client("servicediscovery").create_http_namespace(
            Name=CLUSTER,
            Description="Service Connect namespace of the shop's ECS cluster",
            Tags=Tags().key_value(),  # shared by every stage's ECS deployment
        )["OperationId"]
        _wait_operation(operation, f"creating the Cloud Map namespace {CLUSTER}")
        namespace = _find_namespace(CLUSTER)
    assert namespace is not None
    ecs = clients.client("ecs")
    clusters = ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
    if not any(c["status"] == "ACTIVE" for c in clusters):
        ecs.create_cluster(
            clusterName=CLUSTER,
            serviceConnectDefaults={"namespace": namespace["Arn"]},
            tags=Tags().lower_key_value(),
        )


def delete_cluster_if_unused() -> list[str]:
    """Remove the shared cluster and its namespace once no service of any stage is left in it."""
    ecs = clients.client("ecs")
    clusters = [c for c in ecs.describe_clusters(clusters=[CLUSTER])["clusters"] if c["status"] == "ACTIVE"]
    removed = []
    if clusters:
        active = ecs.list_services(cluster=CLUSTER)["serviceArns"]
        described = ecs.describe_services(cluster=CLUSTER, services=active)["services"] if active else []
        if any(s["status"] != "INACTIVE" for s in described):
            return []
        ecs.delete_cluster(cluster=CLUSTER)
        removed.append(f"ECS cluster {CLUSTER}")
    namespace = _find_namespace(CLUSTER)
    if namespace is not None:
        try:
            operation = clients.client("servicediscovery").delete_namespace(Id=namespace["Id"])["OperationId"]
            _wait_operation(operation, f"deleting the Cloud Map namespace {CLUSTER}")
            removed.append(f"Cloud Map namespace {CLUSTER}")
        except ClientError as error:
            # Service Connect's Cloud Map services go with the ECS services, a little later on AWS
            if error.response["Error"]["Code"] != "ResourceInUse":
                raise
            print(f"  Cloud Map namespace {CLUSTER} still has services; run make destroy again in a minute", flush=True)
    return removed


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


@dataclass(frozen=True)
class ServiceRollout:
    """One ECS service's rollout as DescribeServices reports it."""

    name: str
    running: int
    desired: int
    deployments: int
    failed: bool  # the circuit breaker stopped the wanted revision (and rolled back)
    reason: str  # the rollout state's reason, as ECS words it

    @property
    def stable(self) -> bool:
        # what `aws ecs wait services-stable` checks: one deployment left, and it runs the desired count
        return not self.failed and self.deployments == 1 and self.running == self.desired

    def line(self) -> str:
        return f"{self.name}: {self.running}/{self.desired} tasks running, {self.deployments} deployment(s)"


def _rollout(service: dict[str, Any], wanted_revision: str) -> ServiceRollout:
    deployments = service.get("deployments", [])
    wanted = [d for d in deployments if d.get("taskDefinition") == wanted_revision]
    failed = any(d.get("rolloutState") == "FAILED" for d in wanted) or (
        # rolled back: the service runs an older revision again, the wanted one is gone
        bool(deployments) and not wanted and service.get("taskDefinition") != wanted_revision
    )
    reason = next((d.get("rolloutStateReason", "") for d in wanted), "")
    return ServiceRollout(
        name=service["serviceName"],
        running=service.get("runningCount", 0),
        desired=service.get("desiredCount", 0),
        deployments=len(deployments),
        failed=failed,
        reason=reason,
    )


def last_stopped_reason(service: str) -> str:
    """Why the service's most recently stopped task stopped (ECS keeps stopped tasks for about an hour)."""
    ecs = clients.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    if not arns:
        return "no stopped task recorded"
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns[:100])["tasks"]
    latest = max(tasks, key=lambda t: str(t.get("stoppedAt", "")))
    containers = "; ".join(c["reason"] for c in latest.get("containers", []) if c.get("reason"))
    return latest.get("stoppedReason", "unknown") + (f" ({containers})" if containers else "")


def wait_stable(
    revisions: dict[str, str],
    say,
    *,
    timeout: float | None = None,
    poll: float | None = None,
    sleep=time.sleep,
    clock=time.monotonic,
) -> None:
    """Wait until every service (name -> the task definition just deployed) runs its new revision on all
    its tasks, as `aws ecs wait services-stable` does, printing progress. One line naming the service and
    its last stopped task's reason if the circuit breaker rolled the revision back or `timeout` passes."""
    timeout = STABLE_TIMEOUT_SECONDS if timeout is None else timeout
    poll = POLL_SECONDS if poll is None else poll
    ecs = clients.client("ecs")
    deadline = clock() + timeout
    hint = "its task logs: aws logs tail /ecs/<family> --follow; aws ecs describe-services --cluster " + CLUSTER
    while True:
        described = ecs.describe_services(cluster=CLUSTER, services=list(revisions))["services"]
        rollouts = [_rollout(service, revisions[service["serviceName"]]) for service in described]
        for rollout in rollouts:
            if rollout.failed:
                raise ShopctlError(
                    f"the new revision of {rollout.name} never became healthy and ECS rolled it back "
                    f"({rollout.reason or 'circuit breaker'}); last stopped task: {last_stopped_reason(rollout.name)}",
                    hint,
                )
        waiting = [r for r in rollouts if not r.stable]
        if not waiting:
            say(f"✓ services stable: {', '.join(r.name for r in rollouts)}")
            return
        if clock() >= deadline:
            worst = waiting[0]
            raise ShopctlError(
                f"{worst.name} did not become stable within {timeout:.0f}s ({worst.line()}); "
                f"last stopped task: {last_stopped_reason(worst.name)}",
                hint,
            )
        say("  … " + "; ".join(r.line() for r in waiting))
        sleep(poll)


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


def deploy(stage_name: str, options: Options) -> state.DeploymentState:
    rollout = common.begin(stage_name, TARGET, env=options.env, tables=options.tables, quiet=options.quiet)
    stage, deployment, tables, say = rollout.stage, rollout.deployment, rollout.tables, rollout.say
    name = deployment.name
    parameters = resources.put_parameters(ssm_prefix(stage.name), tables.settings(), tags=Tags(stage.name, TARGET))
    say(f"✓ SSM parameters {', '.join(parameters)}")
    repo_uri, repo_arn = common.ensure_repository(stage)
    reference = common.image_reference(stage, repo_uri, options.env, say, options.image_tag)
    # idempotent; its Service Connect namespace (Cloud Map) lets services call each other by name
    ensure_cluster()
    log_group = f"/ecs/shop-{stage.name}"
    common.ensure_log_group(log_group, tags=Tags(stage.name, TARGET))
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
    return rollout.finish(base_url, created)


def destroy(stage_name: str, options: Options, *, keep_data: bool = True) -> list[str]:
    """Remove the deployment in dependency order: services (waited for until INACTIVE, their tasks gone),
    then what they used — load balancer, security groups, roles, log group, parameters, image repository."""
    stage = get_stage(stage_name)
    name = deployment_name(stage.name)
    deployment = state.load(name)
    removed = common.stop_processes(deployment)
    on_aws = options.env == "aws"
    # Tasks being stopped leave their target groups after the deregistration delay: shortened first, so
    # the load balancer and the security groups can go minutes sooner.
    for arn in alb.target_group_arns([r.target_group for r in routes(stage)]):
        alb.shorten_deregistration_delay(arn)
    ecs = clients.client("ecs")
    deleted = []
    for service in stage.app_services():
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
    if common.delete_log_group(f"/ecs/shop-{stage.name}"):
        removed.append(f"log group /ecs/shop-{stage.name}")
    tables = common.recorded_tables(deployment, name)
    resources.delete_parameters(ssm_prefix(stage.name), list(tables.settings()))
    removed.append(f"SSM parameters under {ssm_prefix(stage.name)}/")
    if common.delete_repository_unless_used(stage, deleting="ecs"):
        removed.append(f"ECR repository shop-{stage.name}")
    if not keep_data:
        removed += [f"table {t}" for t in resources.delete_tables(tables)]
    removed += delete_cluster_if_unused()
    state.remove(name)
    return common.report_removed(removed, keep_data=keep_data, quiet=options.quiet)


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


def describe(stage_name: str) -> dict[str, Any]:
    stage = get_stage(stage_name)
    ecs = clients.client("ecs")
    out = {}
    for service in stage.app_services():
        fam = family(stage, service)
        svc = ecs.describe_services(cluster=CLUSTER, services=[fam])["services"][0]
        out[fam] = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    return json.loads(json.dumps(out, default=str))
