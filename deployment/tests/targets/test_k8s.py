"""The EKS manifests (shopctl/targets/k8s.py): valid against the Kubernetes API schemas, saying what the
contract needs (RUNTIME=EKS, the config file where the ConfigMap is mounted, /health), locked down, and
the committed examples in deployment/eks/ identical to a fresh render."""

from __future__ import annotations

import contextlib
import io
import json
import posixpath

import kubernetes_validate
import pytest
import yaml

from shopctl.aws.resources import TableNames, config_document
from shopctl.paths import REPO_ROOT
from shopctl.stages import STAGES
from shopctl.targets import k8s, lambda_target, naming

# Kubernetes versions the schemas are checked against (ones EKS runs; kubernetes-validate ships them).
K8S_VERSIONS = ("1.33", "1.34")
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-{stage}:1.0"
TABLES = TableNames(users="t-users", orders="t-orders")
EXAMPLES = REPO_ROOT / "deployment" / "eks"


def render(stage: str, **kwargs: object) -> list[k8s.Manifest]:
    kwargs.setdefault("image", IMAGE.format(stage=stage))
    kwargs.setdefault("tables", TABLES)
    return k8s.render(stage, **kwargs)  # type: ignore[arg-type]


def deployments(docs: list[k8s.Manifest]) -> list[k8s.Manifest]:
    return k8s.find(docs, "Deployment")


def pod(doc: k8s.Manifest) -> k8s.Manifest:
    return doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("stage", list(STAGES))
def test_every_document_is_valid_kubernetes(stage: str, version: str) -> None:
    docs = render(stage, role_arn="arn:aws:iam::123456789012:role/shop", region="eu-west-1")
    docs.append(k8s.namespace_manifest())
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']} is not valid Kubernetes {version}: {error}")


@pytest.mark.parametrize("stage", list(STAGES))
def test_one_deployment_per_service_holding_code_named_like_the_functions(stage: str) -> None:
    docs = render(stage)
    the_stage = STAGES[stage]
    expected = {naming.resource_name(the_stage, s) for s in the_stage.app_services()}
    assert {lambda_target.function_name(the_stage, s) for s in the_stage.app_services()} == expected
    for kind in ("ServiceAccount", "Deployment", "Service", "NetworkPolicy"):
        assert {d["metadata"]["name"] for d in k8s.find(docs, kind)} == expected, kind
    assert {d["metadata"]["namespace"] for d in docs} == {"shop"}
    assert len(k8s.find(docs, "ConfigMap")) == 1


def test_the_microservices_gateway_is_not_deployed() -> None:
    docs = render("microservices")
    components = {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments(docs)}
    assert components == {"users", "orders"}


@pytest.mark.parametrize("stage", list(STAGES))
def test_deployment_runs_the_services_app_with_runtime_eks(stage: str) -> None:
    docs = render(stage)
    for service in k8s.eks_services(STAGES[stage]):
        doc = k8s.deployment_of(docs, service.name)
        assert doc["spec"]["replicas"] == 2
        assert doc["spec"]["selector"]["matchLabels"].items() <= doc["spec"]["template"]["metadata"]["labels"].items()
        container = k8s.container_spec(docs, service.name)
        assert container["image"] == IMAGE.format(stage=stage)
        assert container["command"] == [
            "python", "-m", "uvicorn", service.asgi, "--host", "0.0.0.0", "--port", "8080",
        ]  # fmt: skip
        env = k8s.container_env(container)
        assert env["RUNTIME"] == "EKS"
        assert env["PYTHONUNBUFFERED"] == "1"
        assert env["CONFIG_FILE"] == "/etc/shop/config.json"
        assert posixpath.dirname(env["CONFIG_FILE"]) == k8s.mount_path(docs, f"shop-{stage}-config")
        assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert container["resources"]["requests"] and container["resources"]["limits"]


@pytest.mark.parametrize("stage", list(STAGES))
def test_probes_ask_health_on_8080(stage: str) -> None:
    docs = render(stage)
    for doc in deployments(docs):
        container = pod(doc)["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": 8080}, probe


@pytest.mark.parametrize("stage", list(STAGES))
def test_pods_are_non_root_read_only_without_escalation(stage: str) -> None:
    for doc in deployments(render(stage)):
        spec = pod(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        # With a read-only root, /tmp is the one writable place; the config is mounted read-only.
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
        assert mounts["/etc/shop"]["readOnly"] is True


@pytest.mark.parametrize("stage", list(STAGES))
def test_configmap_holds_the_tables_as_the_contract_shapes_them(stage: str) -> None:
    docs = render(stage, tables=TableNames(users="my-users", orders="my-orders"))
    (config,) = k8s.find(docs, "ConfigMap", f"shop-{stage}-config")
    document = json.loads(config["data"]["config.json"])
    assert document == {"users": {"table": "my-users"}, "orders": {"table": "my-orders"}}
    assert document == config_document(TableNames("my-users", "my-orders").settings())
    for doc in deployments(docs):
        (volume,) = [v for v in pod(doc)["volumes"] if "configMap" in v]
        assert volume["configMap"]["name"] == config["metadata"]["name"]
        assert volume["configMap"]["items"] == [{"key": "config.json", "path": "config.json"}]


def test_new_tables_roll_the_pods() -> None:
    """The apps read their configuration once per process: a changed ConfigMap must change the pods."""

    def annotation(tables: TableNames) -> str:
        doc = deployments(render("clean", tables=tables))[0]
        return doc["spec"]["template"]["metadata"]["annotations"][k8s.CONFIG_HASH_ANNOTATION]

    assert annotation(TABLES) == annotation(TABLES)
    assert annotation(TABLES) != annotation(TableNames("other-users", "t-orders"))


@pytest.mark.parametrize("namespace", ["shop", "workshop"])
def test_orders_reaches_users_through_its_service_dns_name(namespace: str) -> None:
    docs = render("microservices", namespace=namespace)
    url = k8s.container_env(k8s.container_spec(docs, "orders"))["USERS_SERVICE_URL"]
    (users,) = [
        s for s in k8s.find(docs, "Service") if s["metadata"]["labels"]["app.kubernetes.io/component"] == "users"
    ]
    assert url == f"http://{users['metadata']['name']}.{namespace}.svc.cluster.local"
    assert [p["port"] for p in users["spec"]["ports"]] == [80], "the URL has no port: the Service listens on 80"
    assert "USERS_SERVICE_URL" not in k8s.container_env(k8s.container_spec(docs, "users"))


@pytest.mark.parametrize("stage", list(STAGES))
def test_service_is_an_internet_facing_auto_mode_nlb_to_the_pods(stage: str) -> None:
    docs = render(stage)
    for service in k8s.find(docs, "Service"):
        spec = service["spec"]
        assert spec["type"] == "LoadBalancer"
        assert spec["loadBalancerClass"] == "eks.amazonaws.com/nlb"
        annotations = service["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-healthcheck-path"] == "/health"
        (port,) = spec["ports"]
        assert (port["port"], port["targetPort"], port["protocol"]) == (80, "http", "TCP")
        (target,) = [d for d in deployments(docs) if d["metadata"]["name"] == service["metadata"]["name"]]
        assert spec["selector"].items() <= target["spec"]["template"]["metadata"]["labels"].items()
        assert {p["name"]: p["containerPort"] for p in pod(target)["containers"][0]["ports"]}["http"] == 8080


def test_service_accounts_carry_the_irsa_role_only_when_given() -> None:
    plain = render("microservices")
    assert all("annotations" not in sa["metadata"] for sa in k8s.find(plain, "ServiceAccount"))
    assert all(sa["automountServiceAccountToken"] is False for sa in k8s.find(plain, "ServiceAccount"))

    roles = {"users": "arn:aws:iam::123456789012:role/users", "orders": "arn:aws:iam::123456789012:role/orders"}
    docs = render("microservices", role_arn=roles)
    for sa in k8s.find(docs, "ServiceAccount"):
        component = sa["metadata"]["labels"]["app.kubernetes.io/component"]
        assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": roles[component]}
        assert pod(k8s.deployment_of(docs, component))["serviceAccountName"] == sa["metadata"]["name"]

    (sa,) = k8s.find(render("clean", role_arn="arn:aws:iam::123456789012:role/one"), "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("role/one")


def test_options_replicas_region_and_deployment_name() -> None:
    docs = render("clean", replicas=3, region="eu-west-1", deployment_name="clean-eks-blue")
    (doc,) = deployments(docs)
    assert doc["spec"]["replicas"] == 3
    env = k8s.container_env(pod(doc)["containers"][0])
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert {d["metadata"]["labels"]["app.kubernetes.io/instance"] for d in docs} == {"clean-eks-blue"}
    assert "AWS_REGION" not in k8s.container_env(pod(deployments(render("clean"))[0])["containers"][0])
    with pytest.raises(ValueError, match="namespace"):
        render("clean", namespace="Not_A_Label")


def test_render_returns_fresh_data() -> None:
    """Callers (the deploy code, the local runner) may edit what they get without changing later renders."""
    first = render("clean")
    pod(deployments(first)[0])["containers"][0]["resources"]["limits"]["memory"] = "1Gi"
    assert pod(deployments(render("clean"))[0])["containers"][0]["resources"]["limits"]["memory"] == "512Mi"


def test_yaml_round_trips_without_anchors() -> None:
    docs = render("microservices")
    text = k8s.to_yaml(docs)
    assert "&id" not in text and "*id" not in text
    assert list(yaml.safe_load_all(text)) == docs


@pytest.mark.parametrize("stage", list(STAGES))
def test_committed_example_is_a_fresh_render(stage: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert k8s.main(["render", "--stage", stage]) == 0
    path = EXAMPLES / f"{stage}.yaml"
    assert path.exists(), f"missing {path.relative_to(REPO_ROOT)}"
    assert path.read_text() == out.getvalue(), (
        f"{path.relative_to(REPO_ROOT)} is stale: run "
        f"`python -m shopctl.targets.k8s render --stage {stage} > deployment/eks/{stage}.yaml`"
    )
    docs = list(yaml.safe_load_all(path.read_text()))
    assert docs == k8s.example(stage)
    assert {c["image"] for d in deployments(docs) for c in pod(d)["containers"]} == {
        f"<account>.dkr.ecr.<region>.amazonaws.com/shop-{stage}:latest"
    }
    (config,) = k8s.find(docs, "ConfigMap")
    assert json.loads(config["data"]["config.json"]) == config_document(
        TableNames(f"shop-{stage}-eks-users", f"shop-{stage}-eks-orders").settings()
    )


def test_role_arn_mapping_must_name_deployed_services() -> None:
    with pytest.raises(ValueError, match="gateway"):
        render("microservices", role_arn={"gateway": "arn:aws:iam::123456789012:role/g"})


def test_network_policy_admits_the_app_port_and_lets_orders_reach_users_only() -> None:
    docs = render("microservices")
    policies = {
        p["metadata"]["labels"]["app.kubernetes.io/component"]: p["spec"] for p in k8s.find(docs, "NetworkPolicy")
    }
    assert set(policies) == {"users", "orders"}
    for spec in policies.values():
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert spec["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8080}]}]
    to_pods = [rule for rule in policies["orders"]["egress"] if "to" in rule]
    assert to_pods == [
        {
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "shop-microservices-users"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    assert not any("to" in rule for rule in policies["users"]["egress"]), "users calls no other service"
