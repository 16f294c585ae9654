"""TARGET=eks: deploy a stage to Amazon EKS — the manifests from `shopctl.targets.k8s`, pods with IRSA roles.

The AWS side (tables, image repository, the cluster lookup, the OIDC provider and one IAM role per
service, trusted only by that service's Kubernetes ServiceAccount) is the same boto3 code for ENV=local
and ENV=aws. Then ENV=aws applies the manifests with kubectl; ENV=local runs what the *rendered
Deployment* says — replicas, container command, env, the ConfigMap written to a file standing in for
its mount, readiness probe — with `shopctl.local.supervisor`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.aws import clients, ecr, iam, prices, resources, state
from shopctl.aws import image as images
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.local.deployment import local_supervisor, manifest_dir, stop_processes
from shopctl.local.process import base_environ
from shopctl.local.supervisor import Spec, write_spec
from shopctl.stages import Service, Stage
from shopctl.targets import eks_cluster, k8s, kubectl, naming, rollout

TARGET = "eks"
LABEL = "EKS"
PORT_BASE = 9300
NAMESPACE = k8s.DEFAULT_NAMESPACE
# What a kept cluster costs on AWS (us-east-1 list price, 2025): the EKS control plane alone; Auto Mode
# nodes are billed on top while pods run.
CLUSTER_HOURLY_USD = 0.10


@dataclass(frozen=True)
class Options:
    env: str = "local"
    port: int | None = None
    cluster_name: str = "shop"
    replicas: int = k8s.DEFAULT_REPLICAS
    quiet: bool = False
    tables: resources.TableNames | None = None  # share tables with another deployment (the mixed one)
    image_tag: str | None = None  # default: a digest of the image's content (shopctl.aws.image.content_tag)
    create_cluster: bool = False  # ENV=aws: create an EKS Auto Mode cluster when CLUSTER_NAME does not exist
    delete_cluster: bool = False  # destroy: also delete the cluster (it is shared by the stages, so only on request)


def add_arguments(group: Any) -> None:
    group.add_argument("--cluster-name", default="shop", help="the EKS cluster")
    group.add_argument(
        "--create-cluster", action="store_true", help="ENV=aws: create an EKS Auto Mode cluster if missing"
    )
    group.add_argument("--delete-cluster", action="store_true", help="destroy: also delete the EKS cluster")


def options(args: argparse.Namespace) -> Options:
    return Options(
        env=args.env,
        port=args.port,
        cluster_name=args.cluster_name,
        create_cluster=args.create_cluster,
        delete_cluster=args.delete_cluster,
    )


def warnings(options: Options) -> list[str]:
    return []


def hints(stage: Stage, deployment: state.DeploymentState) -> list[str]:
    return [f"try:  curl -s {deployment.url}/health"]


def destroy_confirmations(stage: Stage, options: Options) -> list[str]:
    if options.delete_cluster:
        return [f"DELETE the EKS cluster {options.cluster_name} (every stage deployed on it stops)"]
    return []


def teardown_options(env: str) -> Options:
    # The cluster deploy created goes with the last EKS deployment (the local one is a free stand-in).
    return Options(env=env, quiet=True, delete_cluster=True)


def deployment_name(stage: Stage) -> str:
    return naming.deployment_name(stage, TARGET)


def plan(stage: Stage, options: Options) -> list[str]:
    name = deployment_name(stage)
    lines = [
        f"DynamoDB tables shop-{name}-users, shop-{name}-orders; ECR repository shop-{stage.name}",
        (
            f"creates the EKS Auto Mode cluster {options.cluster_name} if missing (~15 min, billed hourly) "
            "and its IAM OIDC provider"
            if options.create_cluster
            else f"uses the existing EKS cluster {options.cluster_name} (CLUSTER_NAME) and its IAM OIDC provider; "
            "an EKS access entry for you on it if you have none (removed with the last deployment on it)"
        ),
    ]
    for service in k8s.eks_services(stage):
        res = k8s.resource_name(stage, service)
        lines.append(
            f"IAM role {res}-eks-pod (IRSA, ServiceAccount {NAMESPACE}/{res} only; its table only); "
            f"Deployment ({options.replicas} replicas), Service type LoadBalancer (NLB)"
        )
    return lines


def costs(stage: Stage, options: Options) -> list[prices.Billed]:
    """An NLB (and its addresses) per Kubernetes Service; with CREATE_CLUSTER=1 also the control plane and the
    Auto Mode node the pods run on. On an existing cluster the pods take room on nodes it already pays for."""
    services = len(k8s.eks_services(stage))
    items = []
    if options.create_cluster:
        items += [
            prices.Billed(f"EKS cluster {options.cluster_name} (control plane, shared by the stages on it)", 1,
                          prices.EKS_CLUSTER_HOUR),
            prices.Billed("Auto Mode node for the pods (estimate: one m5.large-class node with its fee)", 1,
                          prices.AUTO_MODE_NODE_HOUR),
            prices.public_ipv4(1, "the node"),
        ]
    return [
        *items,
        prices.Billed("Network Load Balancer (one per Kubernetes Service)", services, prices.NLB_HOUR),
        prices.Billed("their capacity units (an idle one uses part of one)", services, prices.NLB_LCU_HOUR),
        prices.public_ipv4(services * eks_cluster.CLUSTER_SUBNETS, "the NLBs (one per Availability Zone)"),
        prices.Billed("DynamoDB on-demand tables, the image in ECR", 1, 0.0),
    ]


def _cluster(options: Options, say) -> dict[str, Any]:
    eks = clients.client("eks")
    found = eks_cluster.find_cluster(options.cluster_name)
    if found is not None:
        return found
    if options.env == "aws" and not options.create_cluster:
        raise ShopctlError(
            f"EKS cluster {options.cluster_name!r} not found",
            "set CLUSTER_NAME to an existing cluster, or CREATE_CLUSTER=1 to create an EKS Auto Mode cluster "
            "(about 15 minutes; the control plane and its nodes are billed hourly)",
        )
    # Locally the cluster is a stand-in record in the local AWS, created by the very same call as on AWS:
    # the lookups, the roles and the OIDC issuer the IRSA roles trust are real API objects.
    if options.env == "aws":
        say(
            f"! creating EKS Auto Mode cluster {options.cluster_name}: about 15 minutes, billed hourly until "
            f"`make destroy … DELETE_CLUSTER=1` or `aws eks delete-cluster --name {options.cluster_name}`"
        )
    cluster = eks_cluster.create_auto_mode_cluster(options.cluster_name)
    if options.env == "aws":
        waiter = clients.client("eks").get_waiter("cluster_active")
        say("… waiting for the cluster to become ACTIVE (progress every 30 s)")
        waiter.wait(name=options.cluster_name, WaiterConfig={"Delay": 30, "MaxAttempts": 60})
        cluster = eks.describe_cluster(name=options.cluster_name)["cluster"]
        say(f"✓ cluster ACTIVE; point kubectl at it: aws eks update-kubeconfig --name {options.cluster_name}")
    return cluster


def other_eks_deployments(name: str, cluster_name: str) -> list[str]:
    """The recorded EKS deployments other than `name` on cluster `cluster_name`."""
    return [
        d.name
        for d in state.all_states()
        if d.target == TARGET and d.name != name and (d.resources.cluster or cluster_name) == cluster_name
    ]


def _cluster_outcome(name: str, cluster_name: str, options: Options) -> tuple[list[str], tuple[str, ...]]:
    """What destroy does with the cluster: (removed, notes). Deleted only on request, only if deploy
    created it and no other EKS deployment still runs on it; otherwise kept, and said why and at what cost."""
    cluster = eks_cluster.find_cluster(cluster_name)
    if cluster is None:
        # A CREATE_CLUSTER=1 deploy that failed before the cluster existed left its two roles (tagged by it)
        return (eks_cluster.leftover_cluster_roles(cluster_name) if options.delete_cluster else []), ()
    cost = f"about ${CLUSTER_HOURLY_USD:.2f}/hour for its control plane on AWS, plus its nodes while pods run"
    if not eks_cluster.created_by_deploy(cluster):
        return [], (f"EKS cluster {cluster_name} kept: deploy did not create it (yours; {cost})",)
    others = other_eks_deployments(name, cluster_name)
    if others:
        return [], (f"EKS cluster {cluster_name} kept: still used by {', '.join(others)} ({cost})",)
    if not options.delete_cluster:
        return [], (f"EKS cluster {cluster_name} kept ({cost}); DELETE_CLUSTER=1 removes it",)
    return eks_cluster.delete_cluster(cluster_name, wait=options.env == "aws"), ()


def irsa_trust(provider_arn: str, host_path: str, service_account: str) -> dict[str, Any]:
    """Only pods running as this one ServiceAccount may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host_path}:sub": f"system:serviceaccount:{NAMESPACE}:{service_account}",
                        f"{host_path}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def _pod_role(stage: Stage, service: Service, tables: resources.TableNames, provider: tuple[str, str]) -> str:
    res = k8s.resource_name(stage, service)
    statements = iam.dynamodb_statements(stage.name, naming.table_kinds(service, tables))
    arn, _ = iam.ensure_role(
        f"{res}-eks-pod",
        irsa_trust(*provider, res),
        iam.policy(statements),
        f"IRSA role of {NAMESPACE}/{res}",
        Tags(stage.name, TARGET),
    )
    return arn


def local_spec(
    stage: Stage, docs: list[dict[str, Any]], service: Service, workdir: Path, service_urls: dict[str, str]
) -> Spec:
    """What the local pods run, read from the rendered Deployment and ConfigMap."""
    deployment = k8s.deployment_of(docs, service.name)
    container = k8s.container_spec(docs, service.name)
    env = k8s.container_env(container)
    mount = k8s.mount_path(docs, k8s.config_map_name(stage))
    local_mount = workdir / mount.strip("/").replace("/", "-")  # stands in for the ConfigMap volume
    config = k8s.find(docs, "ConfigMap", k8s.config_map_name(stage))[0]
    files = {str(local_mount / key): value for key, value in config["data"].items()}
    if env.get("CONFIG_FILE", "").startswith(mount):
        env["CONFIG_FILE"] = str(local_mount) + env["CONFIG_FILE"][len(mount) :]
    for cluster_url, local_url in service_urls.items():  # in-cluster DNS, resolved locally
        env = {k: v.replace(cluster_url, local_url) for k, v in env.items()}
    probe = container.get("readinessProbe", {}).get("httpGet", {}).get("path", "/")
    return Spec(
        name=deployment["metadata"]["name"],
        argv=list(container["command"]),
        env=base_environ(stage.name, env),
        replicas=deployment["spec"]["replicas"],
        health_path=probe,
        files=files,
        platform="eks",
    )


def _kubectl(cluster: dict[str, Any], workdir: Path) -> kubectl.Kubectl:
    # kubectl gets its EKS credentials from the kubeconfig's exec plugin, `aws eks get-token`: without the
    # AWS CLI every kubectl call would fail with an error about the plugin, not about what is missing.
    if shutil.which("aws") is None:
        raise ShopctlError(
            "the AWS CLI (aws) is not installed: kubectl gets its EKS token from `aws eks get-token`",
            "install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)",
        )
    _, region = iam.account_and_region()
    return kubectl.Kubectl(kubectl.Cluster.from_description(cluster, region), workdir)


def _kubectl_apply(manifest: Path, cluster: dict[str, Any]) -> None:
    client = _kubectl(cluster, manifest.parent)
    namespace = k8s.to_yaml([k8s.namespace_manifest(NAMESPACE)])
    for content in (namespace, manifest.read_text()):
        client.run("apply", "-f", "-", stdin=content, what="kubectl apply")


# What deploy applies, found by the label every object of the deployment carries (so destroy works even
# when the rendered manifests file is gone).
KINDS = "deployment,service,serviceaccount,configmap,networkpolicy"


def _kubectl_delete(name: str, cluster: dict[str, Any]) -> None:
    """Delete the deployment's objects and wait for them (a LoadBalancer Service's finalizer holds it
    until EKS has removed its NLB)."""
    client = _kubectl(cluster, manifest_dir(name))
    selector = f"app.kubernetes.io/instance={name}"
    client.run("delete", "-n", NAMESPACE, KINDS, "-l", selector, "--ignore-not-found", "--wait", what="kubectl delete")


LOAD_BALANCER_WAIT_SECONDS = 600.0  # EKS Auto Mode usually has an NLB's address in 2 to 3 minutes
LOAD_BALANCER_POLL_SECONDS = 10.0


def wait_load_balancer(cluster: dict[str, Any], workdir: Path, service: str, say) -> str:
    """The address EKS gives Service `service`'s load balancer, polled until it appears."""
    client = _kubectl(cluster, workdir)
    jsonpath = "jsonpath={.status.loadBalancer.ingress[0].hostname}"
    deadline = time.monotonic() + LOAD_BALANCER_WAIT_SECONDS
    while True:
        address = client.run("get", "service", "-n", NAMESPACE, service, "-o", jsonpath, what="kubectl get").strip()
        if address:
            say(f"✓ Service {NAMESPACE}/{service}: http://{address}")
            return address
        if time.monotonic() >= deadline:
            raise ShopctlError(
                f"Service {NAMESPACE}/{service} got no load balancer address within "
                f"{LOAD_BALANCER_WAIT_SECONDS / 60:.0f} minutes",
                f"see why: kubectl -n {NAMESPACE} describe service {service} (public subnets need the tag "
                f"{eks_cluster.ELB_SUBNET_TAG}=1)",
            )
        time.sleep(LOAD_BALANCER_POLL_SECONDS)


def deploy(stage: Stage, options: Options) -> state.DeploymentState:
    started = rollout.begin(
        stage, target=TARGET, label=LABEL, port_base=PORT_BASE, env=options.env, tables=options.tables,
        quiet=options.quiet,
    )
    deployment, tables, say = started.deployment, started.tables, started.say
    name = deployment.name
    repo_uri, _ = ecr.ensure_repository(stage.name)
    cluster = _cluster(options, say)
    provider = eks_cluster.oidc_provider(cluster)
    say(f"✓ cluster {cluster['name']} (OIDC issuer {provider[1]}), image repository {repo_uri}")
    roles = {service.name: _pod_role(stage, service, tables, provider) for service in k8s.eks_services(stage)}
    say(f"✓ IRSA roles: {', '.join(r.rsplit('/', 1)[1] for r in roles.values())}")
    _, region = iam.account_and_region()
    docs = k8s.render(
        stage.name,
        image=images.reference(stage.name, repo_uri, options.env, say, options.image_tag),
        tables=tables,
        replicas=options.replicas,
        role_arn=roles,
        deployment_name=name,
        region=region,
    )
    workdir = manifest_dir(name)
    manifest = workdir / "manifests.yaml"
    manifest.write_text(k8s.to_yaml(docs))
    say(f"✓ manifests rendered: {manifest} ({len(docs)} documents)")

    urls: dict[str, str] = {}
    if options.env == "aws":
        eks_cluster.check_load_balancer_subnets(cluster)
        principal = eks_cluster.deployer_principal()
        if eks_cluster.ensure_access_entry(clients.client("eks"), cluster["name"], principal):
            say(f"✓ EKS access entry for {principal} on {cluster['name']} (AmazonEKSClusterAdminPolicy, cluster scope)")
        _kubectl_apply(manifest, cluster)
        say("✓ applied with kubectl; waiting for the load balancers' addresses (a few minutes)")
        for service in k8s.eks_services(stage):
            address = wait_load_balancer(cluster, workdir, k8s.resource_name(stage, service), say)
            urls[service.name] = f"http://{address}"
        # The microservices' gateway is not deployed on EKS: each service has its own load balancer.
        base_url = urls.get(stage.entry, "")
    else:
        cluster_urls: dict[str, str] = {}
        for service in k8s.eks_services(stage):
            spec = local_spec(stage, docs, service, workdir, cluster_urls)
            path = write_spec(spec, workdir)
            what = f"local pods of {spec.name}"
            port = started.entry_port(service, options.port)
            proc = local_supervisor(started, stage.name, spec, path, port=port, what=what)
            urls[service.name] = proc.url
            cluster_urls[k8s.service_url(stage, service, NAMESPACE)] = proc.url
            say(f"✓ {spec.replicas} local pods of {spec.name} behind {proc.url} (readiness {spec.health_path})")
        base_url = started.entry_url(urls, options.port, "EKS")
    created = state.DeploymentResources(
        cluster=cluster["name"],
        roles=[r.rsplit("/", 1)[1] for r in roles.values()],
        manifests=str(manifest),
        service_urls=urls,
    )
    return started.finish(base_url, created, "one per service: " + ", ".join(f"{k} {v}" for k, v in urls.items()))


def destroy(stage: Stage, options: Options, *, keep_data: bool = True) -> list[str]:
    name = deployment_name(stage)
    deployment = state.load(name)
    removed = stop_processes(deployment)
    cluster_name = (deployment.resources.cluster if deployment else "") or options.cluster_name
    cluster = eks_cluster.find_cluster(cluster_name)
    if options.env == "aws" and cluster is not None:
        # Checked: pods still running would keep using the roles deleted next, and their NLB would stay.
        _kubectl_delete(name, cluster)
        removed.append(f"Kubernetes objects of {name} on cluster {cluster_name} (kubectl delete)")
        if not other_eks_deployments(name, cluster_name):  # the others still need the deployer's access
            deployer = eks_cluster.deployer_principal()
            removed += eks_cluster.remove_access_entry(clients.client("eks"), cluster_name, deployer)
    for service in k8s.eks_services(stage):
        role = f"{k8s.resource_name(stage, service)}-eks-pod"
        if iam.delete_role(role):
            removed.append(f"role {role}")
    state.remove(name)
    if not keep_data:
        removed += [f"table {t}" for t in resources.delete_tables(rollout.recorded_tables(deployment, name))]
    cluster_removed, notes = _cluster_outcome(name, cluster_name, options)
    removed += cluster_removed
    return rollout.report_removed(removed, keep_data=keep_data, quiet=options.quiet, notes=notes)


def uses_image(stage: Stage) -> bool:
    """Every EKS deployment runs the stage's image."""
    return exists(stage)


def exists(stage: Stage) -> bool:
    """By its state record, or by what AWS holds: a pod role (made first, removed last)."""
    if state.load(deployment_name(stage)) is not None:
        return True
    return any(iam.role_exists(f"{k8s.resource_name(stage, service)}-eks-pod") for service in k8s.eks_services(stage))


def describe(stage: Stage) -> dict[str, Any]:
    deployment = state.load(deployment_name(stage))
    return json.loads(json.dumps(dataclasses.asdict(deployment.resources) if deployment else {}))
