"""`make destroy-all KEEP_DATA=0` leaves nothing of the project in the account: a census across every AWS
service the deploy code uses (shopctl.aws.census) finds resources in each after deploying, and none after.

Why not `make deploy-all` itself: it starts 9 deployments' local processes (supervisors, local Lambdas,
gateways) against a moto server — about a minute and a half and most of a core, and the processes add
nothing here: destroy-all stops them by pid, and `make test`'s "deployed" shard already deploys and destroys
each of the 9 locally. This test makes the same boto3 calls in-process (moto's mock_aws), every stage on
every target, through the ENV=aws code path (kubectl faked), where a leftover costs money. The EKS
cluster is created by deploy, as the local EKS stand-in is.
"""

from __future__ import annotations

import boto3
import pytest

from shopctl import fleet
from shopctl.aws import census, state
from shopctl.stages import STAGES, get_stage
from shopctl.targets import ecs_target, eks_cluster, eks_target, lambda_target


@pytest.fixture
def deployed_everywhere(managed_policies, pushed_images, kubectl_calls) -> None:
    for stage in STAGES.values():
        lambda_target.deploy(stage, lambda_target.Options(env="aws", python="3.12", quiet=True))
        ecs_target.deploy(stage, ecs_target.Options(env="aws", quiet=True))
        eks_target.deploy(stage, eks_target.Options(env="aws", quiet=True, create_cluster=True))


def test_destroy_all_without_data_leaves_no_resource_in_any_service(deployed_everywhere, capsys):
    before = census.census()
    services = {r.service for r in before}
    assert services == set(census.LISTERS), f"the census saw nothing in {set(census.LISTERS) - services}"
    kinds = {(r.service, r.kind) for r in before}
    for expected in [
        ("eks", "cluster"),
        ("iam", "OIDC provider"),
        ("ecs", "cluster"),
        ("s3", "bucket"),
        ("servicediscovery", "namespace"),
        ("ecs", "task definition (ACTIVE)"),
    ]:
        assert expected in kinds
    fleet.destroy_all("aws", keep_data=False)
    assert [str(r) for r in census.census()] == []
    assert state.all_states() == []


def test_a_lost_state_file_does_not_make_a_running_service_lose_its_image(pushed_images, kubectl_calls, aws):
    ecs_target.deploy(get_stage("clean"), ecs_target.Options(env="aws", quiet=True))
    made_by_deploy = {eks_cluster.CREATED_BY_TAG: eks_cluster.CREATED_BY}
    ec2 = boto3.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    boto3.client("eks").create_cluster(
        name="shop",
        roleArn="arn:aws:iam::123456789012:role/x",
        resourcesVpcConfig={"subnetIds": subnets},
        tags=made_by_deploy,
    )
    eks_target.deploy(get_stage("clean"), eks_target.Options(env="aws", quiet=True))
    state.remove("clean-ecs")  # e.g. `make clean-build`, or another machine
    eks_target.destroy(get_stage("clean"), eks_target.Options(env="aws", quiet=True))
    repositories = boto3.client("ecr").describe_repositories()["repositories"]
    assert "shop-clean" in {r["repositoryName"] for r in repositories}  # the ECS service still pulls from it


def test_status_lists_what_aws_holds_even_without_a_state_file(pushed_images, capsys):
    from shopctl.cli import main

    ecs_target.deploy(get_stage("clean"), ecs_target.Options(env="aws", quiet=True))
    state.remove("clean-ecs")
    assert main(["status", "--env", "aws"]) == 0
    out = capsys.readouterr().out
    assert "no deployments recorded" in out
    for line in ("ecs: service shop-clean", "elbv2: load balancer shop-clean-ecs", "iam: role shop-clean-ecs-task"):
        assert line in out
    assert "1 deployment(s) found, billed while they run (estimate):" in out and "clean-ecs" in out
    assert "total ≈ $0.080/h" in out


def test_records_are_kept_per_scope_beside_the_deployments_own_folders(aws, monkeypatch):
    record = state.DeploymentState("clean-ecs", "clean", "ecs", "aws")
    path = state.save(record)
    assert path.parent.name == "aws-123456789012-eu-west-1" and record.scope == path.parent.name
    spec = state.root() / "clean-ecs" / "shop-clean.json"  # a supervisor spec, not a record
    spec.parent.mkdir(parents=True)
    spec.write_text('{"argv": []}')
    assert [d.name for d in state.every_scope()] == ["clean-ecs"]
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # another region: another scope, no record
        monkeypatch.setenv(variable, "us-west-2")
    assert state.load("clean-ecs") is None and state.all_states() == []


def test_destroy_all_without_data_also_removes_tables_an_earlier_destroy_kept(pushed_images):
    ecs_target.deploy(get_stage("clean"), ecs_target.Options(env="aws", quiet=True))
    other_stages_images = {str(r) for r in census.census() if r.kind == "repository" and r.name != "shop-clean"}
    fleet.destroy_all("aws", keep_data=True)
    left = {str(r) for r in census.census()} - other_stages_images
    assert left == {"dynamodb: table shop-clean-ecs-users", "dynamodb: table shop-clean-ecs-orders"}
    fleet.destroy_all("aws", keep_data=False)  # no state record is left to name them
    assert {str(r) for r in census.census()} == other_stages_images


def test_destroy_all_on_aws_finds_the_deployments_the_account_holds_with_no_state_file(deployed_everywhere, capsys):
    """Another machine's deploys, or a deleted `.run/`: `make destroy-all ENV=aws` finds them by what the
    account holds, asks (YES=1 here), removes them all and ends with the census."""
    from shopctl.cli import main

    for record in state.all_states():
        state.remove(record.name)
    assert main(["destroy-all", "--env", "aws", "--delete-data", "--yes"]) == 0
    out = capsys.readouterr().out
    for target in ("lambda", "ecs", "eks"):
        for stage in STAGES:
            assert f"DELETE the deployment {stage}-{target}" in out
    assert "✓ census: nothing of the project left in this AWS account and region" in out
    assert census.census() == []


def test_every_aws_fleet_command_without_credentials_is_one_line_about_credentials(
    no_credentials, monkeypatch, capsys, tmp_path
):
    from shopctl.cli import main

    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path / "run"))
    for argv in (["destroy-all", "--env", "aws", "--yes"], ["status", "--env", "aws"],
                 ["deploy", "--stage", "clean", "--env", "aws", "--yes"]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err[0].startswith("error: ENV=aws needs AWS credentials"), (argv, err)
        assert len(err) == 2 and err[1].startswith("  hint: configure them"), (argv, err)
