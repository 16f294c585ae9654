"""ENV=aws EKS against moto: the IAM-propagation retry on both wordings AWS uses, kubectl only ever with an
explicit kubeconfig and context for the deployment's cluster (a fake kubectl on PATH records its calls),
destroy checking kubectl's result, and a cluster deploy did not create never deleted."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.aws import iam, state
from shopctl.errors import ShopctlError
from shopctl.stages import get_stage
from shopctl.targets import eks_cluster, eks_target


def calls(log: Path) -> list[list[str]]:
    """What the fake kubectl (conftest) was run with, one argument list per call."""
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize(
    "refusal",
    [
        "Role could not be assumed because the trusted entity is not correct",  # EKS
        "The role defined for the function cannot be assumed by Lambda.",  # Lambda
    ],
)
def test_new_role_refusals_are_retried_in_both_wordings(aws_calls, monkeypatch, refusal):
    monkeypatch.setattr(iam, "ROLE_PROPAGATION_DELAY", 0)
    refusals = [refusal]

    def not_yet() -> None:
        if refusals:
            raise ClientError({"Error": {"Code": "InvalidParameterException", "Message": refusals.pop()}}, "Create")

    aws_calls.before("eks", "CreateCluster", not_yet)
    cluster = iam.retry_while_role_propagates(lambda: create_cluster("workshop", {}))
    assert cluster["name"] == "workshop" and refusals == []
    assert len(aws_calls.params("eks", "CreateCluster")) == 2


def test_other_refusals_are_not_retried(aws_calls, monkeypatch):
    monkeypatch.setattr(iam, "ROLE_PROPAGATION_DELAY", 0)

    def denied() -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Create")

    aws_calls.before("eks", "CreateCluster", denied)
    with pytest.raises(ClientError, match="not authorized"):
        iam.retry_while_role_propagates(lambda: create_cluster("workshop", {}))
    assert len(aws_calls.params("eks", "CreateCluster")) == 1


def create_cluster(name: str, tags: dict[str, str]) -> dict:
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc]
    return boto3.client("eks").create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::123456789012:role/{name}",
        resourcesVpcConfig={"subnetIds": subnets},
        tags=tags,
    )["cluster"]


@pytest.fixture
def workshop_cluster(aws) -> None:
    """An EKS cluster as `CREATE_CLUSTER=1` leaves it (its creation: test_container_deploy.py)."""
    create_cluster("workshop", {eks_cluster.CREATED_BY_TAG: eks_cluster.CREATED_BY})


AWS_EKS = eks_target.Options(env="aws", quiet=True, cluster_name="workshop")


def test_kubectl_always_gets_the_deployments_own_kubeconfig_and_context(workshop_cluster, pushed_images, kubectl_calls):
    eks_target.deploy(get_stage("clean"), AWS_EKS)
    cluster = boto3.client("eks").describe_cluster(name="workshop")["cluster"]
    recorded = calls(kubectl_calls)
    assert recorded, "kubectl was not run"
    for argv in recorded:
        assert argv[0] == "--kubeconfig" and argv[2:4] == ["--context", cluster["arn"]]
    assert [a[4:7] for a in recorded if "apply" in a] == [["apply", "-f", "-"]] * 2
    import yaml

    config = yaml.safe_load(Path(recorded[0][1]).read_text())
    assert [c["cluster"]["server"] for c in config["clusters"]] == [cluster["endpoint"]]


def test_kubectl_refuses_a_context_pointing_at_another_cluster(
    workshop_cluster, pushed_images, kubectl_calls, monkeypatch
):
    monkeypatch.setenv("FAKE_KUBECTL_SERVER", "https://someone-elses-cluster.example")
    with pytest.raises(ShopctlError, match="refusing to run kubectl"):
        eks_target.deploy(get_stage("clean"), AWS_EKS)
    assert not [a for a in calls(kubectl_calls) if "apply" in a]


def test_destroy_stops_when_kubectl_delete_fails(workshop_cluster, pushed_images, kubectl_calls, monkeypatch):
    eks_target.deploy(get_stage("clean"), AWS_EKS)
    monkeypatch.setenv("FAKE_KUBECTL_DELETE_EXIT", "1")
    with pytest.raises(ShopctlError, match="kubectl delete failed on cluster workshop"):
        eks_target.destroy(get_stage("clean"), AWS_EKS)
    # nothing the pods still use was removed, and the record stays for the next attempt
    assert boto3.client("iam").get_role(RoleName="shop-clean-eks-pod")
    assert state.load("clean-eks") is not None
    (delete,) = [a for a in calls(kubectl_calls) if "delete" in a]
    assert "app.kubernetes.io/instance=clean-eks" in delete
    monkeypatch.setenv("FAKE_KUBECTL_DELETE_EXIT", "0")
    eks_target.destroy(get_stage("clean"), AWS_EKS)
    assert state.load("clean-eks") is None


def test_a_cluster_deploy_did_not_create_is_never_deleted(aws, pushed_images, kubectl_calls, capsys):
    cluster = create_cluster("theirs", {"team": "platform"})
    # their cluster is set up for internet-facing load balancers (test_aws_refusals.py: when it is not)
    subnet = cluster["resourcesVpcConfig"]["subnetIds"][:1]
    boto3.client("ec2").create_tags(Resources=subnet, Tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}])
    options = eks_target.Options(env="aws", cluster_name="theirs", delete_cluster=True)
    eks_target.deploy(get_stage("clean"), options)
    eks_target.destroy(get_stage("clean"), options)
    assert boto3.client("eks").list_clusters()["clusters"] == ["theirs"]
    assert "EKS cluster theirs kept: deploy did not create it" in capsys.readouterr().out
    with pytest.raises(ShopctlError, match="not created by make deploy"):
        eks_cluster.delete_cluster("theirs", wait=False)


def test_the_cluster_deploy_created_goes_with_its_oidc_provider_on_request(
    workshop_cluster, pushed_images, kubectl_calls, capsys
):
    eks_target.deploy(get_stage("clean"), AWS_EKS)
    eks_target.deploy(get_stage("monolith"), AWS_EKS)
    eks_target.destroy(get_stage("clean"), eks_target.Options(env="aws", cluster_name="workshop", delete_cluster=True))
    assert "EKS cluster workshop kept: still used by monolith-eks" in capsys.readouterr().out
    eks_target.destroy(get_stage("monolith"), eks_target.Options(env="aws", cluster_name="workshop"))
    assert "$0.10/hour" in capsys.readouterr().out  # kept, and what it costs is said
    options = eks_target.Options(env="aws", cluster_name="workshop", delete_cluster=True)
    eks_target.destroy(get_stage("monolith"), options)
    assert boto3.client("eks").list_clusters()["clusters"] == []
    assert boto3.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
