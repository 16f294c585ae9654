"""ENV=aws ECS: a deploy returns only once the services are stable, fails in one line when the new revision
never becomes healthy (circuit breaker with rollback), and destroy removes things in dependency order,
waiting for what AWS does asynchronously. moto serves the API; where it cannot show a condition (a
rollback, a lingering network interface) the test injects it through botocore's event hooks."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.errors import ShopctlError
from shopctl.stages import get_stage
from shopctl.targets import alb, ecs_rollout, ecs_target, security_groups

ECS = ecs_target.Options(env="aws", quiet=True)
ELB = "elastic-load-balancing-v2."  # how botocore names elbv2 in its events


def pushed(stage: str, tag: str) -> ecs_target.Options:
    """Options deploying the image `tag`, already in ECR (a new revision, as a code change gives)."""
    manifest = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    boto3.client("ecr").put_image(repositoryName=f"shop-{stage}", imageManifest=manifest, imageTag=tag)
    return ecs_target.Options(env="aws", quiet=True, image_tag=tag)


def test_services_get_a_circuit_breaker_with_rollback_on_create_and_update(pushed_images, aws_calls):
    ecs_target.deploy(get_stage("clean"), ECS)
    ecs_target.deploy(get_stage("clean"), pushed("clean", "v2"))
    (created,) = aws_calls.params("ecs", "CreateService")
    (updated,) = aws_calls.params("ecs", "UpdateService")
    for params in (created, updated):
        assert params["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_deploy_fails_in_one_line_when_the_circuit_breaker_rolls_back(pushed_images, aws_calls):
    ecs_target.deploy(get_stage("clean"), ECS)
    ecs = boto3.client("ecs")
    old = ecs.describe_services(cluster="shop", services=["shop-clean"])["services"][0]["taskDefinition"]

    def rolled_back(parsed: dict) -> None:  # what ECS reports after the breaker tripped
        for service in parsed["services"]:
            new = service["taskDefinition"]
            service["taskDefinition"] = old
            service["deployments"] = [
                {"status": "PRIMARY", "taskDefinition": old, "rolloutState": "IN_PROGRESS"},
                {
                    "status": "ACTIVE",
                    "taskDefinition": new,
                    "rolloutState": "FAILED",
                    "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
                },
            ]

    aws_calls.on_response("ecs", "DescribeServices", rolled_back)
    with pytest.raises(ShopctlError, match="new revision of shop-clean never became healthy") as failure:
        ecs_target.deploy(get_stage("clean"), pushed("clean", "broken"))
    assert "circuit breaker" in failure.value.args[0] and "\n" not in failure.value.args[0]


def test_deploy_times_out_naming_the_service_and_its_last_stopped_reason(pushed_images, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")  # the tasks never come up
    monkeypatch.setattr(ecs_rollout, "STABLE_TIMEOUT_SECONDS", 0)
    ecs = boto3.client("ecs")
    boto3.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")  # as deploy makes it
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(
        family="shop-clean", containerDefinitions=[{"name": "app", "image": "x", "memory": 512}]
    )
    (task,) = ecs.run_task(cluster="shop", taskDefinition="shop-clean", startedBy="ecs-svc/1", launchType="FARGATE")[
        "tasks"
    ]
    ecs.stop_task(cluster="shop", task=task["taskArn"], reason="Task failed ELB health checks")
    with pytest.raises(ShopctlError) as failure:
        ecs_target.deploy(get_stage("clean"), ECS)
    message = str(failure.value)
    assert "shop-clean did not become stable" in message and "0/2 tasks running" in message
    assert "last stopped task: Task failed ELB health checks" in message


def test_wait_stable_prints_progress_until_the_tasks_run(pushed_images, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")
    monkeypatch.setattr(ecs_rollout, "STABLE_TIMEOUT_SECONDS", 0)
    with pytest.raises(ShopctlError):
        ecs_target.deploy(get_stage("clean"), ECS)
    revision = boto3.client("ecs").describe_services(cluster="shop", services=["shop-clean"])["services"][0]
    lines: list[str] = []

    def tasks_start(_: float) -> None:  # the next poll finds them running (update_service: moto runs them)
        boto3.client("ecs").update_service(cluster="shop", service="shop-clean", desiredCount=2)

    ecs_rollout.wait_stable({"shop-clean": revision["taskDefinition"]}, lines.append, timeout=60, sleep=tasks_start)
    assert lines == ["  … shop-clean: 0/2 tasks running, 1 deployment(s)", "✓ services stable: shop-clean"]


def test_target_groups_deregister_quickly(pushed_images):
    ecs_target.deploy(get_stage("microservices"), ECS)
    elbv2 = boto3.client("elbv2")
    for group in elbv2.describe_target_groups()["TargetGroups"]:
        attributes = elbv2.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]
        delay = {a["Key"]: a["Value"] for a in attributes}["deregistration_delay.timeout_seconds"]
        assert int(delay) == alb.DEREGISTRATION_DELAY_SECONDS < 300


def test_destroy_waits_for_the_services_before_removing_what_they_use(pushed_images, aws_calls, monkeypatch):
    monkeypatch.setattr(security_groups, "BACKOFF", (0.0,) * 3)
    ecs_target.deploy(get_stage("clean"), ECS)
    in_use = ["DependencyViolation", "DependencyViolation"]  # the tasks' network interfaces linger on AWS

    def lingering() -> None:
        if in_use:
            raise ClientError({"Error": {"Code": in_use.pop(), "Message": "has a dependent object"}}, "Delete")

    aws_calls.before("ec2", "DeleteSecurityGroup", lingering)
    aws_calls.sent.clear()
    ecs_target.destroy(get_stage("clean"), ECS)
    ops = aws_calls.operations()
    first = ops.index
    assert first(ELB + "ModifyTargetGroupAttributes") < first("ecs.UpdateService") < first("ecs.DeleteService")
    # services_inactive: DescribeServices after the delete, before anything the tasks used goes
    waited = ops.index("ecs.DescribeServices", first("ecs.DeleteService"))
    assert waited < first(ELB + "DeleteLoadBalancer") < first("ec2.DeleteSecurityGroup")
    assert waited < first("iam.DeleteRole")
    assert in_use == []  # both refusals were retried
    groups = boto3.client("ec2").describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in groups if g["GroupName"].startswith("shop-")] == []


def test_security_group_delete_backs_off_then_gives_up(aws, aws_calls):
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    tags = [{"ResourceType": "security-group", "Tags": [{"Key": "project", "Value": "shapeshifting-workshop"}]}]
    ec2.create_security_group(GroupName="shop-x", Description="x", VpcId=vpc, TagSpecifications=tags)

    def always() -> None:
        raise ClientError({"Error": {"Code": "DependencyViolation", "Message": "in use"}}, "DeleteSecurityGroup")

    aws_calls.before("ec2", "DeleteSecurityGroup", always)
    pauses: list[float] = []
    with pytest.raises(ClientError):
        security_groups.delete_by_name("shop-x", retry=True, sleep=pauses.append, say=lambda _: None)
    assert pauses == list(security_groups.BACKOFF) and pauses == sorted(pauses) and pauses[0] < pauses[-1]
    with pytest.raises(ClientError):  # without retry (locally) the first refusal is raised
        security_groups.delete_by_name("shop-x", retry=False, sleep=pauses.append)


def test_destroy_removes_task_definitions_cluster_and_namespace_with_the_last_service(pushed_images):
    ecs_target.deploy(get_stage("clean"), ECS)
    ecs_target.deploy(get_stage("monolith"), ECS)
    discovery = boto3.client("servicediscovery")
    assert [n["Name"] for n in discovery.list_namespaces()["Namespaces"]] == ["shop"]
    ecs_target.destroy(get_stage("clean"), ECS)
    ecs = boto3.client("ecs")
    assert ecs.describe_clusters(clusters=["shop"])["clusters"][0]["status"] == "ACTIVE"  # monolith still runs
    assert ecs.list_task_definitions(familyPrefix="shop-clean", status="INACTIVE")["taskDefinitionArns"] == []
    ecs_target.destroy(get_stage("monolith"), ECS)
    assert [c["status"] for c in ecs.describe_clusters(clusters=["shop"])["clusters"]] in ([], ["INACTIVE"])
    assert discovery.list_namespaces()["Namespaces"] == []
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
