"""shopctl.targets.kubectl: every kubectl call carries the deployment's own kubeconfig and context, the
kubeconfig's server is checked against the cluster's endpoint once before the first command, and a failing
command is one line naming the cluster (a fake kubectl on PATH records its calls — conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopctl.errors import ShopctlError
from shopctl.targets.kubectl import Cluster, Kubectl, kubeconfig

CLUSTER = Cluster(
    name="shop",
    arn="arn:aws:eks:eu-west-1:123456789012:cluster/shop",
    endpoint="https://ABC.gr7.eu-west-1.eks.amazonaws.com",
    certificate_authority="Q0EtREFUQQ==",
    region="eu-west-1",
)


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_from_description_reads_what_describe_cluster_returns() -> None:
    described = {
        "name": "shop",
        "arn": CLUSTER.arn,
        "endpoint": CLUSTER.endpoint,
        "certificateAuthority": {"data": CLUSTER.certificate_authority},
    }
    assert Cluster.from_description(described, "eu-west-1") == CLUSTER
    creating = Cluster.from_description({"name": "shop", "arn": CLUSTER.arn}, "eu-west-1")
    assert (creating.endpoint, creating.certificate_authority) == ("", "")  # no endpoint before it is ACTIVE


def test_the_kubeconfig_holds_this_one_cluster_with_tokens_from_aws_eks() -> None:
    config = kubeconfig(CLUSTER)
    assert [c["name"] for c in config["clusters"]] == [CLUSTER.arn]
    assert config["clusters"][0]["cluster"] == {
        "server": CLUSTER.endpoint,
        "certificate-authority-data": CLUSTER.certificate_authority,
    }
    assert config["current-context"] == CLUSTER.arn
    assert config["contexts"] == [{"name": CLUSTER.arn, "context": {"cluster": CLUSTER.arn, "user": CLUSTER.arn}}]
    token = config["users"][0]["user"]["exec"]
    assert token["command"] == "aws"
    assert token["args"] == ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "shop"]


def test_every_call_passes_its_own_kubeconfig_and_context(kubectl_calls: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "someone-elses-config"))
    kubectl = Kubectl(CLUSTER, tmp_path / "work")
    assert json.loads(kubectl.path.read_text()) == kubeconfig(CLUSTER)
    kubectl.run("apply", "-f", "-", stdin="kind: Namespace", what="applying")
    kubectl.run("get", "pods", what="listing pods")

    made = calls(kubectl_calls)
    assert [call[4:] for call in made] == [
        ["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"],  # checked once
        ["apply", "-f", "-"],
        ["get", "pods"],
    ]
    assert all(call[:4] == ["--kubeconfig", str(kubectl.path), "--context", CLUSTER.arn] for call in made)


def test_a_kubeconfig_pointing_elsewhere_is_refused_before_any_command(
    kubectl_calls: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_SERVER", "https://someone-elses-cluster.example")
    kubectl = Kubectl(CLUSTER, tmp_path)
    with pytest.raises(ShopctlError, match="refusing to run kubectl") as caught:
        kubectl.run("delete", "namespace", "shop", what="deleting")
    assert "someone-elses-cluster.example" in caught.value.reason
    assert CLUSTER.endpoint in caught.value.reason
    assert str(kubectl.path) in caught.value.hint
    assert not any("delete" in call for call in calls(kubectl_calls))


def test_a_failing_command_is_one_line_naming_the_cluster_and_how_to_rerun_it(
    kubectl_calls: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_DELETE_EXIT", "1")
    kubectl = Kubectl(CLUSTER, tmp_path)
    with pytest.raises(ShopctlError) as caught:
        kubectl.run("delete", "namespace", "shop", what="deleting the namespace")
    assert caught.value.reason == (
        "deleting the namespace failed on cluster shop: "
        "error: the server has asked for the client to provide credentials"
    )
    assert caught.value.hint == "run it yourself to see everything: " + " ".join(
        kubectl.argv("delete", "namespace", "shop")
    )


def test_without_kubectl_it_says_where_to_get_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing in it
    with pytest.raises(ShopctlError, match="kubectl not found") as caught:
        Kubectl(CLUSTER, tmp_path / "work")
    assert "install kubectl" in caught.value.hint
    assert not (tmp_path / "work" / "kubeconfig").exists()
