"""The deploy code against what a real account refuses (shopctl.local.strict, on in the `aws` fixture):
each test here fails on a deploy that ignores the refusal."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.aws import census, clients, ecr, resources
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.local import strict
from shopctl.stages import get_stage
from shopctl.targets import ecs_target, eks_cluster, eks_target, lambda_target, registry

ECS = ecs_target.Options(env="aws", quiet=True)


def test_ecs_deploy_on_a_fresh_account_creates_the_service_linked_role_first(pushed_images):
    iam = boto3.client("iam")
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == "AWSServiceRoleForECS"]
    ecs_target.deploy(get_stage("clean"), ECS)
    role = iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]
    assert role["Path"] == "/aws-service-role/ecs.amazonaws.com/"
    ecs_target.deploy(get_stage("clean"), ECS)  # a second deploy finds it


def test_ecs_redeploy_of_an_unchanged_stage_keeps_its_revision_although_ecs_adds_host_port(pushed_images):
    ecs_target.deploy(get_stage("clean"), ECS)
    described = boto3.client("ecs").describe_task_definition(taskDefinition="shop-clean")["taskDefinition"]
    assert described["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8080
    ecs_target.deploy(get_stage("clean"), ECS)
    arns = boto3.client("ecs").list_task_definitions(familyPrefix="shop-clean")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == ["1"]


def test_ecs_destroy_after_a_deploy_that_stopped_before_the_cluster_cleans_up(aws):
    """The usual first-run failure: parameters and the image repository made, then the image step failed."""
    stage = get_stage("clean")
    settings = resources.TableNames.for_deployment("clean-ecs").settings()
    resources.put_parameters(ecs_target.ssm_prefix("clean"), settings, tags=Tags("clean", "ecs"))
    ecr.ensure_repository("clean")
    removed = registry.destroy(ecs_target, stage, ecs_target.Options(env="aws"))
    assert "SSM parameters under /shop/clean-ecs/" in removed and "ECR repository shop-clean" in removed
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []
    assert not ecr.repository_exists("clean")


def test_ecs_destroy_where_nothing_was_deployed_says_so_in_one_line(aws, capsys):
    assert registry.destroy(ecs_target, get_stage("clean"), ecs_target.Options(env="aws")) == []
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "nothing of clean-ecs to remove" in lines[0]


# --- EKS -------------------------------------------------------------------------------------------------

AWS_EKS = eks_target.Options(env="aws", quiet=True, cluster_name="workshop", create_cluster=True)


def test_eks_cluster_subnets_avoid_a_zone_eks_refuses(managed_policies, monkeypatch):
    """us-east-1's use1-az3 holds no EKS control plane; the default VPC has a subnet there."""
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(var, "us-east-1")
    clients.forget()
    ec2 = boto3.client("ec2", region_name="us-east-1")
    for subnet in ec2.describe_subnets()["Subnets"]:  # three zones left, use1-az3 among them
        if subnet["AvailabilityZoneId"] not in ("use1-az3", "use1-az1", "use1-az2"):
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    cluster = eks_cluster.create_auto_mode_cluster("workshop")
    zones = {
        s["AvailabilityZoneId"]
        for s in ec2.describe_subnets(SubnetIds=cluster["resourcesVpcConfig"]["subnetIds"])["Subnets"]
    }
    assert zones == {"use1-az1", "use1-az2"}


def test_eks_deploy_waits_for_its_load_balancers_and_gives_their_address(
    managed_policies, pushed_images, kubectl_calls
):
    deployed = eks_target.deploy(get_stage("clean"), AWS_EKS)
    assert deployed.url.startswith("http://k8s-") and deployed.url.endswith(".elb.eu-west-1.amazonaws.com")
    services = eks_target.deploy(get_stage("microservices"), AWS_EKS).resources.service_urls
    assert set(services) == {"users", "orders"} and all(".elb." in url for url in services.values())
    tagged = boto3.client("ec2").describe_subnets(Filters=[{"Name": "tag:kubernetes.io/role/elb", "Values": ["1"]}])[
        "Subnets"
    ]
    assert tagged, "the cluster's public subnets are tagged for its load balancers"


def test_eks_deploy_to_their_cluster_without_a_load_balancer_subnet_stops_before_applying(
    aws, pushed_images, kubectl_calls
):
    subnets = [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:2]
    boto3.client("eks").create_cluster(
        name="theirs", roleArn="arn:aws:iam::123456789012:role/theirs", resourcesVpcConfig={"subnetIds": subnets}
    )
    options = eks_target.Options(env="aws", quiet=True, cluster_name="theirs")
    with pytest.raises(ShopctlError, match=r"no subnet of vpc-\S+ is tagged kubernetes\.io/role/elb=1"):
        eks_target.deploy(get_stage("clean"), options)
    assert "apply" not in kubectl_calls.read_text()


def test_eks_deploy_fails_in_one_line_naming_the_service_whose_address_never_comes(
    managed_policies, pushed_images, kubectl_calls, monkeypatch
):
    monkeypatch.setattr(eks_target, "LOAD_BALANCER_WAIT_SECONDS", 0.0)
    monkeypatch.setattr(eks_cluster, "check_load_balancer_subnets", lambda cluster: None)  # as if untagged later
    monkeypatch.setattr(eks_cluster, "tag_load_balancer_subnets", lambda name, subnets: None)
    with pytest.raises(ShopctlError, match="Service shop/shop-clean got no load balancer address within 0 minutes"):
        eks_target.deploy(get_stage("clean"), AWS_EKS)


def test_eks_destroy_deletes_the_node_role_auto_mode_put_in_an_instance_profile(
    managed_policies, pushed_images, kubectl_calls
):
    eks_target.deploy(get_stage("clean"), AWS_EKS)
    iam = boto3.client("iam")
    assert iam.list_instance_profiles_for_role(RoleName="workshop-eks-node")["InstanceProfiles"]
    eks_target.destroy(get_stage("clean"), dataclasses.replace(AWS_EKS, delete_cluster=True))
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert (
        boto3.client("ec2").describe_subnets(Filters=[{"Name": "tag-key", "Values": ["kubernetes.io/role/elb"]}])[
            "Subnets"
        ]
        == []
    )


def test_eks_oidc_provider_is_created_without_a_made_up_thumbprint(managed_policies, pushed_images, aws_calls):
    eks_cluster.oidc_provider(eks_target._cluster(AWS_EKS, print))
    (params,) = aws_calls.params("iam", "CreateOpenIDConnectProvider")
    assert "ThumbprintList" not in params


# --- what destroy leaves alone ---------------------------------------------------------------------------


def test_ecs_destroy_leaves_a_cluster_namespace_security_group_and_repository_it_did_not_make(aws, capsys):
    """Someone's own resources that happen to carry the names deploy uses, without the project's tag."""
    boto3.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    boto3.client("ecs").create_cluster(clusterName="shop")
    boto3.client("servicediscovery").create_http_namespace(Name="shop")
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    ec2.create_security_group(GroupName="shop-clean-ecs", Description="theirs", VpcId=vpc)
    boto3.client("ecr").create_repository(repositoryName="shop-clean")
    registry.destroy(ecs_target, get_stage("clean"), ecs_target.Options(env="aws"))
    out = capsys.readouterr().out
    for kept in (
        "ECS cluster shop",
        "Cloud Map namespace shop",
        "security group shop-clean-ecs",
        "ECR repository shop-clean",
    ):
        assert f"{kept} kept" in out or f"{kept} (" in out, kept
    assert [c["status"] for c in boto3.client("ecs").describe_clusters(clusters=["shop"])["clusters"]] == ["ACTIVE"]
    assert [n["Name"] for n in boto3.client("servicediscovery").list_namespaces()["Namespaces"]] == ["shop"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["shop-clean-ecs"]}])
    assert len(groups["SecurityGroups"]) == 1
    assert ecr.repository_exists("clean")


def test_ecs_security_groups_are_tagged_and_a_missing_rule_is_added_on_the_next_deploy(pushed_images, aws_calls):
    ecs_target.deploy(get_stage("clean"), ECS)
    ec2 = boto3.client("ec2")
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["shop-clean-ecs"]}])[
        "SecurityGroups"
    ]
    assert {"Key": "project", "Value": "shapeshifting-workshop"} in group["Tags"]
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    ecs_target.deploy(get_stage("clean"), ECS)  # a deploy that had stopped between create and authorize
    (group,) = ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [(8080, "172.31.0.0/16")]


def test_eks_on_aws_without_the_aws_cli_stops_before_kubectl(
    managed_policies, pushed_images, kubectl_calls, monkeypatch
):
    kubectl_dir = str(Path(shutil.which("kubectl") or "").parent)
    monkeypatch.setenv("PATH", kubectl_dir)  # kubectl, and no `aws`
    with pytest.raises(ShopctlError, match=r"the AWS CLI \(aws\) is not installed"):
        eks_target.deploy(get_stage("clean"), AWS_EKS)
    assert kubectl_calls.read_text() == ""


# --- Lambda ----------------------------------------------------------------------------------------------

LAMBDA = lambda_target.Options(env="aws", python="3.12", quiet=True)


def test_lambda_url_switched_from_public_to_iam_loses_its_public_statements(aws):
    lambda_target.deploy(get_stage("clean"), dataclasses.replace(LAMBDA, auth="NONE"))
    policy = json.loads(boto3.client("lambda").get_policy(FunctionName="shop-clean")["Policy"])
    assert {"FunctionURLAllowPublicAccess", "FunctionURLInvokeAllowPublicAccess"} <= {
        s["Sid"] for s in policy["Statement"]
    }
    lambda_target.deploy(get_stage("clean"), dataclasses.replace(LAMBDA, auth="AWS_IAM"))
    try:
        statements = json.loads(boto3.client("lambda").get_policy(FunctionName="shop-clean")["Policy"])["Statement"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        statements = []
    assert [s for s in statements if s.get("Principal") == "*"] == []


def test_lambda_spend_cap_refused_on_a_new_accounts_limit_is_one_line_and_the_deploy_goes_on(
    aws, monkeypatch, capsys
):
    monkeypatch.setenv(strict.LAMBDA_CONCURRENCY_LIMIT_SETTING, "10")  # a new account: nothing can be reserved
    deployment = lambda_target.deploy(get_stage("clean"), dataclasses.replace(LAMBDA, auth="NONE", quiet=False))
    refused = [line for line in capsys.readouterr().out.splitlines() if "spend cap" in line]
    assert len(refused) == 1 and "below its minimum value of [10]" in refused[0] and "AUTH=AWS_IAM" in refused[0]
    assert deployment.url  # deployed all the same, its URL public
    client = boto3.client("lambda")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="shop-clean")
    assert client.get_function_url_config(FunctionName="shop-clean")["AuthType"] == "NONE"


def test_the_artifact_bucket_is_tagged_and_every_call_names_its_owner(aws_calls):
    lambda_target.deploy(get_stage("clean"), LAMBDA)
    account = boto3.client("sts").get_caller_identity()["Account"]
    # CreateBucket has no owner to expect: the bucket is made in the caller's own account
    sent = [(op, p) for service, op, p in aws_calls.sent if service == "s3" and op != "CreateBucket"]
    assert sent and [op for op, p in sent if p.get("ExpectedBucketOwner") != account] == []
    bucket = boto3.client("s3").list_buckets()["Buckets"][0]["Name"]
    tags = boto3.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {"Key": "project", "Value": "shapeshifting-workshop"} in tags


def test_eks_cluster_name_too_long_for_its_role_names_stops_before_anything_is_made(managed_policies, aws_calls):
    with pytest.raises(ShopctlError, match="is 53 characters"):
        eks_cluster.create_auto_mode_cluster("c" * 53)
    assert aws_calls.sent == []
    assert eks_cluster.create_auto_mode_cluster("c" * 52)["name"] == "c" * 52


def test_an_auto_mode_instance_profile_left_with_the_node_role_is_listed_and_removed_by_destroy_all(
    managed_policies, pushed_images, kubectl_calls
):
    from shopctl import fleet

    before = {str(r) for r in census.census()}
    eks_target.deploy(get_stage("clean"), AWS_EKS)
    eks_target.destroy(get_stage("clean"), AWS_EKS, keep_data=False)  # the cluster is kept (no DELETE_CLUSTER)
    boto3.client("eks").delete_cluster(name="workshop")  # then deleted by hand, as deploy's message offers
    left = [r for r in census.census() if str(r) not in before]
    (profile,) = [r.name for r in left if r.kind == "instance profile"]
    assert profile.startswith("eks-eu-west-1-workshop-")
    assert {r.name for r in left if r.kind == "role"} == {"workshop-eks-cluster", "workshop-eks-node"}
    removed = fleet.destroy_all("aws", keep_data=False)
    assert "role workshop-eks-node" in removed
    assert [str(r) for r in census.census() if str(r) not in before] == []
    assert boto3.client("iam").list_instance_profiles()["InstanceProfiles"] == []


def _their_cluster(name: str = "theirs") -> None:
    """A cluster the default caller made (its creator's access entry with it), with a public subnet tagged."""
    subnets = [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:2]
    role = f"arn:aws:iam::123456789012:role/{name}"
    boto3.client("eks").create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": subnets})
    boto3.client("ec2").create_tags(Resources=subnets[:1], Tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}])


def _deploy_as_an_assumed_role(monkeypatch) -> str:
    """From here on the caller is a session of role `deployer` (SSO, a CI role): not the cluster's creator."""
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="alice")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    boto3.setup_default_session()  # a session keeps the credentials it first found
    clients.forget()
    assert ":assumed-role/deployer/alice" in boto3.client("sts").get_caller_identity()["Arn"]
    return role


THEIRS = eks_target.Options(env="aws", quiet=True, cluster_name="theirs")


def test_eks_deploy_to_a_cluster_someone_else_made_gives_the_deployer_an_access_entry_until_the_last_destroy(
    aws, pushed_images, kubectl_calls, monkeypatch
):
    _their_cluster()
    (creator,) = boto3.client("eks").list_access_entries(clusterName="theirs")["accessEntries"]
    deployer = _deploy_as_an_assumed_role(monkeypatch)
    assert eks_cluster.deployer_principal() == deployer  # the role, not the session
    eks = boto3.client("eks")
    eks_target.deploy(get_stage("clean"), THEIRS)
    eks_target.deploy(get_stage("monolith"), THEIRS)
    assert eks.list_associated_access_policies(clusterName="theirs", principalArn=deployer)[
        "associatedAccessPolicies"
    ] == [{"policyArn": eks_cluster.CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}]
    eks_target.destroy(get_stage("clean"), THEIRS)  # monolith still runs there with the deployer's access
    assert deployer in eks.list_access_entries(clusterName="theirs")["accessEntries"]
    removed = eks_target.destroy(get_stage("monolith"), THEIRS)
    assert f"EKS access entry of {deployer} on cluster theirs" in removed
    assert eks.list_access_entries(clusterName="theirs")["accessEntries"] == [creator]  # the creator's stays


def test_eks_destroy_leaves_an_access_entry_deploy_did_not_make(aws, pushed_images, kubectl_calls, monkeypatch):
    _their_cluster()
    eks = boto3.client("eks")
    deployer = "arn:aws:iam::123456789012:role/deployer"
    eks.create_access_entry(clusterName="theirs", principalArn=deployer)  # their admin gave it, before
    assert _deploy_as_an_assumed_role(monkeypatch) == deployer
    eks_target.deploy(get_stage("clean"), THEIRS)
    assert eks.list_associated_access_policies(clusterName="theirs", principalArn=deployer)[
        "associatedAccessPolicies"
    ] == []  # left as their admin made it
    assert not [r for r in eks_target.destroy(get_stage("clean"), THEIRS) if "access entry" in r]
    assert deployer in eks.list_access_entries(clusterName="theirs")["accessEntries"]
