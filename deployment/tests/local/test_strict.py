"""The local AWS refuses what AWS refuses (shopctl.local.strict): each behaviour as a boto3 caller meets it,
in the tests' in-process moto (the `aws` fixture applies the layer, as the local AWS server does)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.local import strict


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def test_apply_is_idempotent(aws) -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    before = EC2ContainerServiceBackend.create_cluster
    strict.apply()
    assert EC2ContainerServiceBackend.create_cluster is before


def test_a_behaviour_comes_with_the_moto_module_it_changes_not_before() -> None:
    # In a fresh process, as the local AWS starts: apply() imports no moto backend (ECS's imports EC2's, ~1 s of
    # CPU a DynamoDB-only local AWS never needs); importing one applies its behaviours before it is used.
    probe = """
import sys
from shopctl.local import strict
strict.apply(); strict.apply()
print(sorted(m for m in sys.modules if m.startswith(("moto.ec2", "moto.ecs", "moto.eks", "moto.awslambda", "moto.s3"))))
from moto.ecs.models import EC2ContainerServiceBackend as ECS
from moto.eks import urls
print(sorted(getattr(ECS.create_cluster, "__shop_strict__", ())), any("access-entries" in p for p in urls.url_paths))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert lines == ["[]", "['ecs_service_linked_role.<locals>.refuse_without_role'] True"]


def test_a_behaviour_waits_for_an_import_that_failed_to_succeed(tmp_path) -> None:
    # The module's code raises on its first import (as a half-installed moto would); the behaviour must not be
    # lost with it, and runs once the import succeeds, with the module's data still reachable through its loader.
    (tmp_path / "flaky.py").write_text("import os\nif os.environ.get('BROKEN'): raise ImportError('not yet')\n")
    (tmp_path / "flaky.txt").write_text("data")
    probe = """
import os, sys
from shopctl.local import strict
sys.path.insert(0, sys.argv[1])
os.environ["BROKEN"] = "1"
strict._after_import.after("flaky", lambda: print("applied"))
try:
    import flaky
except ImportError as error:
    print("failed:", error)
del os.environ["BROKEN"]
import flaky
print(flaky.__loader__.get_data(os.path.join(sys.argv[1], "flaky.txt")).decode())
"""
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["failed: not yet", "applied", "data"]


def test_ecs_needs_its_service_linked_role_first(aws) -> None:
    ecs = boto3.client("ecs")
    with pytest.raises(ClientError, match="Unable to assume the service linked role") as error:
        ecs.create_cluster(clusterName="c")
    assert error_code(error) == "InvalidParameterException"
    role = boto3.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForECS"
    assert ecs.create_cluster(clusterName="c")["cluster"]["status"] == "ACTIVE"


def test_ecs_fills_in_host_port_on_awsvpc_port_mappings(aws) -> None:
    ecs = boto3.client("ecs")
    container = {"name": "app", "image": "x", "memory": 512, "portMappings": [{"containerPort": 8080}]}
    ecs.register_task_definition(family="a", networkMode="awsvpc", containerDefinitions=[container])
    ecs.register_task_definition(family="b", networkMode="bridge", containerDefinitions=[container])
    read = {f: ecs.describe_task_definition(taskDefinition=f)["taskDefinition"] for f in ("a", "b")}
    assert read["a"]["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8080
    assert "hostPort" not in read["b"]["containerDefinitions"][0]["portMappings"][0]


def _trust(service: str) -> str:
    return json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    )


def _cluster_role() -> str:
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=_trust("eks.amazonaws.com"))
    return role["Role"]["Arn"]


def _default_subnets(region: str) -> dict[str, str]:
    subnets = boto3.client("ec2", region_name=region).describe_subnets()["Subnets"]
    return {s["AvailabilityZoneId"]: s["SubnetId"] for s in subnets if s["DefaultForAz"]}


def test_eks_refuses_a_subnet_in_an_unsupported_zone_and_names_the_valid_ones(aws) -> None:
    by_zone = _default_subnets("us-east-1")
    eks = boto3.client("eks", region_name="us-east-1")
    with pytest.raises(ClientError) as error:
        subnets = [by_zone["use1-az3"], by_zone["use1-az1"]]
        eks.create_cluster(name="c", roleArn=_cluster_role(), resourcesVpcConfig={"subnetIds": subnets})
    assert error_code(error) == "UnsupportedAvailabilityZoneException"
    assert "us-east-1e" not in error.value.response["validZones"]
    assert {"us-east-1a", "us-east-1b"} <= set(error.value.response["validZones"])
    role = boto3.client("iam").get_role(RoleName="r")["Role"]["Arn"]
    subnets = [by_zone["use1-az1"], by_zone["use1-az2"]]
    cluster = eks.create_cluster(name="c", roleArn=role, resourcesVpcConfig={"subnetIds": subnets})["cluster"]
    assert cluster["name"] == "c"


def test_eks_auto_mode_keeps_the_node_role_in_an_instance_profile(aws) -> None:
    iam = boto3.client("iam")
    node = iam.create_role(RoleName="node", AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))["Role"]["Arn"]
    eks = boto3.client("eks")
    eks.create_cluster(
        name="c",
        roleArn=_cluster_role(),
        resourcesVpcConfig={"subnetIds": list(_default_subnets("eu-west-1").values())[:2]},
        computeConfig={"enabled": True, "nodePools": ["general-purpose"], "nodeRoleArn": node},
    )
    eks.delete_cluster(name="c")
    (profile,) = iam.list_instance_profiles_for_role(RoleName="node")["InstanceProfiles"]
    assert profile["InstanceProfileName"].startswith("eks-eu-west-1-c-")
    with pytest.raises(ClientError) as error:
        iam.delete_role(RoleName="node")
    assert error_code(error) == "DeleteConflict"


def test_eks_load_balancers_stay_pending_until_a_public_subnet_is_tagged(aws) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID

    subnets = list(_default_subnets("eu-west-1").values())[:2]
    boto3.client("eks").create_cluster(name="c", roleArn=_cluster_role(), resourcesVpcConfig={"subnetIds": subnets})
    assert strict.load_balancer_hostname(DEFAULT_ACCOUNT_ID, "eu-west-1", "c", "shop-clean") is None
    boto3.client("ec2").create_tags(Resources=subnets[:1], Tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}])
    address = strict.load_balancer_hostname(DEFAULT_ACCOUNT_ID, "eu-west-1", "c", "shop-clean")
    assert address and address.endswith(".elb.eu-west-1.amazonaws.com")


@pytest.mark.parametrize(
    "manifest",
    [
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []},
        {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json", "manifests": []},
    ],
    ids=["oci-index", "docker-manifest-list"],
)
def test_lambda_refuses_an_image_index(aws, manifest) -> None:
    uri = boto3.client("ecr").create_repository(repositoryName="img")["repository"]["repositoryUri"]
    boto3.client("ecr").put_image(repositoryName="img", imageManifest=json.dumps(manifest), imageTag="t")
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    with pytest.raises(ClientError, match="media type for the source image") as error:
        boto3.client("lambda").create_function(
            FunctionName="f", Role=role, PackageType="Image", Code={"ImageUri": f"{uri}:t"}
        )
    assert error_code(error) == "InvalidParameterValueException"


def test_lambda_takes_one_image_manifest(aws) -> None:
    uri = boto3.client("ecr").create_repository(repositoryName="img")["repository"]["repositoryUri"]
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    boto3.client("ecr").put_image(repositoryName="img", imageManifest=json.dumps(manifest), imageTag="t")
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    created = boto3.client("lambda").create_function(
        FunctionName="f", Role=role, PackageType="Image", Code={"ImageUri": f"{uri}:t"}
    )
    assert created["PackageType"] == "Image"


def test_s3_refuses_a_request_expecting_another_owner(aws) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="predictable-name", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    mine = boto3.client("sts").get_caller_identity()["Account"]
    assert s3.head_bucket(Bucket="predictable-name", ExpectedBucketOwner=mine)
    s3.put_object(Bucket="predictable-name", Key="k", Body=b"x", ExpectedBucketOwner=mine)
    with pytest.raises(ClientError) as error:
        s3.head_bucket(Bucket="predictable-name", ExpectedBucketOwner="210987654321")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    for call in (
        lambda: s3.list_objects_v2(Bucket="predictable-name", ExpectedBucketOwner="210987654321"),
        lambda: s3.put_object(Bucket="predictable-name", Key="k", Body=b"y", ExpectedBucketOwner="210987654321"),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error_code(error) == "AccessDenied"
    assert s3.get_object(Bucket="predictable-name", Key="k")["Body"].read() == b"x"


def _function(name: str) -> None:
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler", Code={"ZipFile": b"PK"}
    )


def test_lambda_keeps_100_unreserved_concurrent_executions(aws) -> None:
    client = boto3.client("lambda")
    _function("a")
    _function("b")
    assert client.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=850)
    client.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=900)  # its own counts once
    with pytest.raises(ClientError, match=r"below its minimum value of \[100\]") as error:
        client.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=1)
    assert error_code(error) == "InvalidParameterValueException"
    client.delete_function_concurrency(FunctionName="a")
    assert client.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=900)


def test_lambda_on_a_new_accounts_limit_of_10_reserves_nothing(aws, monkeypatch) -> None:
    monkeypatch.setenv(strict.LAMBDA_CONCURRENCY_LIMIT_SETTING, "10")
    _function("a")
    with pytest.raises(ClientError, match=r"below its minimum value of \[10\]"):
        boto3.client("lambda").put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=1)
    assert "ReservedConcurrentExecutions" not in boto3.client("lambda").get_function_concurrency(FunctionName="a")


def test_eks_access_entries_the_creator_has_one_anyone_else_none(aws) -> None:
    subnets = list(_default_subnets("eu-west-1").values())[:2]
    eks = boto3.client("eks")
    eks.create_cluster(name="c", roleArn=_cluster_role(), resourcesVpcConfig={"subnetIds": subnets})
    creator = strict.iam_principal(boto3.client("sts").get_caller_identity()["Arn"])
    assert eks.list_access_entries(clusterName="c")["accessEntries"] == [creator]
    assert eks.list_associated_access_policies(clusterName="c", principalArn=creator)["associatedAccessPolicies"] == [
        {"policyArn": strict.EKS_CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}
    ]
    other = "arn:aws:iam::123456789012:role/path/other"
    with pytest.raises(ClientError) as error:
        eks.describe_access_entry(clusterName="c", principalArn=other)
    assert error_code(error) == "ResourceNotFoundException"
    eks.create_access_entry(clusterName="c", principalArn=other, tags={"k": "v"})
    with pytest.raises(ClientError) as error:
        eks.create_access_entry(clusterName="c", principalArn=other)
    assert error_code(error) == "ResourceInUseException"
    assert eks.describe_access_entry(clusterName="c", principalArn=other)["accessEntry"]["tags"] == {"k": "v"}
    eks.delete_access_entry(clusterName="c", principalArn=other)
    assert eks.list_access_entries(clusterName="c")["accessEntries"] == [creator]
    eks.create_cluster(
        name="d",
        roleArn=boto3.client("iam").get_role(RoleName="r")["Role"]["Arn"],
        resourcesVpcConfig={"subnetIds": subnets},
        accessConfig={"bootstrapClusterCreatorAdminPermissions": False},
    )
    assert eks.list_access_entries(clusterName="d")["accessEntries"] == []


def test_iam_principal_of_an_assumed_role_session_is_the_role() -> None:
    session = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com"
    assert strict.iam_principal(session) == "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123"
    assert strict.iam_principal("arn:aws:iam::123456789012:user/bob") == "arn:aws:iam::123456789012:user/bob"


def test_s3_refuses_an_object_whose_sha256_is_not_the_one_sent_and_stores_nothing(aws) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="checked-uploads", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    digest = base64.b64encode(hashlib.sha256(b"the package").digest()).decode()
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket="checked-uploads", Key="k", Body=b"another package", ChecksumSHA256=digest)
    assert error_code(error) == "BadDigest" and error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.list_objects_v2(Bucket="checked-uploads").get("KeyCount") == 0
    s3.put_object(Bucket="checked-uploads", Key="k", Body=b"the package", ChecksumSHA256=digest)
    assert s3.get_object(Bucket="checked-uploads", Key="k")["Body"].read() == b"the package"
