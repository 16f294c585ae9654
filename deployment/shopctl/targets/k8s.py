"""TARGET=eks: the Kubernetes manifests of a stage, as data.

`render()` returns the documents (plain dicts, ready for `kubectl apply -f -` via `to_yaml()`, or for
the Kubernetes API); the deploy code applies them on AWS and the local EKS runner executes what they
say. Per service of the stage that holds the shop's code (monolith: app; microservices: users and
orders; clean: app):

- a `ServiceAccount` (IRSA: annotated with its IAM role when one is given),
- a `Deployment`: the stage's image, the service's uvicorn command, RUNTIME=EKS and the configuration
  file mounted from the ConfigMap at /etc/shop, two replicas, probes on /health, non-root with a
  read-only root filesystem,
- a `Service` of type LoadBalancer: an internet-facing Network Load Balancer made by EKS Auto Mode,
- a `NetworkPolicy`: in, the app port only; out, DNS, HTTPS (AWS APIs) and the services it calls.

and one `ConfigMap` per stage holding `config.json`, the table names shaped as docs/contract.md says.

The microservices' gateway is not deployed: in a cluster the orders-service reaches the users-service
through its Service's DNS name, and each service has its own load balancer (deployment/eks/README.md
shows the Ingress that would give them one host). Rendered examples: deployment/eks/<stage>.yaml, made by
`python -m shopctl.targets.k8s render --stage <stage>`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from shopctl.aws.resources import TableNames, config_document
from shopctl.stages import STAGES, Service, Stage, get_stage
from shopctl.targets import naming

Manifest = dict[str, Any]

CONTAINER_PORT = naming.CONTAINER_PORT
SERVICE_PORT = 80
HEALTH_PATH = "/health"
CONFIG_DIR = "/etc/shop"
CONFIG_KEY = "config.json"
CONFIG_FILE = f"{CONFIG_DIR}/{CONFIG_KEY}"  # the apps' default CONFIG_FILE; set explicitly anyway
RUN_AS = 10001  # the image's user and group (deployment/Dockerfile)
DEFAULT_NAMESPACE = "shop"
DEFAULT_REPLICAS = 2
EXAMPLE_IMAGE = "<account>.dkr.ecr.<region>.amazonaws.com/shop-{stage}:latest"

# IRSA: the EKS Pod Identity webhook gives pods of an annotated ServiceAccount credentials for the role.
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
# The apps read their configuration once per process; a changed ConfigMap must therefore restart the
# pods. Its hash in the pod template does that: a new hash is a new ReplicaSet, a rolling update.
CONFIG_HASH_ANNOTATION = "shapeshifting.workshop/config-sha256"

# EKS Auto Mode provisions a Network Load Balancer for a Service of type LoadBalancer of this class (the
# cluster's default class, set explicitly so the manifest says what it gets). Annotations from the EKS
# user guide, "Use Service Annotations to configure Network Load Balancers" (auto-configure-nlb):
# Auto Mode does not support `aws-load-balancer-type` (spec.loadBalancerClass replaces it).
LOAD_BALANCER_CLASS = "eks.amazonaws.com/nlb"
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",  # straight to the pod IPs
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol": "HTTP",
    "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path": HEALTH_PATH,
}

# What EKS Auto Mode sizes nodes by (requests) and the most a pod may take (limits).
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


# --- names -------------------------------------------------------------------------------------------


def eks_services(stage: Stage) -> list[Service]:
    """The services deployed on EKS: those holding the shop's code (not the microservices' gateway)."""
    return stage.app_services()


def resource_name(stage: Stage, service: Service) -> str:
    """`shop-<stage>[-<service>]`, as the Lambda functions and ECS task families are named. The
    ServiceAccount, Deployment and Service share it."""
    return naming.resource_name(stage, service)


def config_map_name(stage: Stage) -> str:
    return f"shop-{stage.name}-config"


def service_url(stage: Stage, service: Service, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The in-cluster base URL of a service: its Service's DNS name (port 80)."""
    return f"http://{resource_name(stage, service)}.{namespace}.svc.cluster.local"


def default_deployment_name(stage_name: str) -> str:
    return f"{stage_name}-eks"


# --- rendering ---------------------------------------------------------------------------------------


def render(
    stage_name: str,
    *,
    image: str,
    tables: TableNames,
    namespace: str = DEFAULT_NAMESPACE,
    replicas: int = DEFAULT_REPLICAS,
    role_arn: str | Mapping[str, str] | None = None,
    deployment_name: str | None = None,
    region: str | None = None,
) -> list[Manifest]:
    """The manifests of `stage_name` on EKS: one ConfigMap, then ServiceAccount, Deployment and Service
    per service.

    role_arn: IAM role for IRSA — one ARN for every service, or a mapping service name -> ARN (the
    microservices each get their own least-privilege role); None leaves the ServiceAccounts plain (EKS
    Pod Identity associations need no annotation). deployment_name: shopctl's name of the deployment,
    recorded as label app.kubernetes.io/instance (default `<stage>-eks`). region: sets AWS_REGION and
    AWS_DEFAULT_REGION in the pods (on EKS the IRSA webhook adds them too; EKS Pod Identity does not).
    """
    stage = get_stage(stage_name)
    _check_label("namespace", namespace)
    if replicas < 0:
        raise ValueError(f"replicas must be >= 0, got {replicas}")
    instance = deployment_name or default_deployment_name(stage.name)
    _check_label("deployment_name", instance)
    if isinstance(role_arn, Mapping) and not set(role_arn) <= {s.name for s in eks_services(stage)}:
        raise ValueError(f"role_arn names services {sorted(role_arn)}; {stage.name} deploys {_names(stage)}")
    config = config_map(stage, tables, namespace=namespace, instance=instance)
    config_hash = hashlib.sha256(config["data"][CONFIG_KEY].encode()).hexdigest()
    docs: list[Manifest] = [config]
    for service in eks_services(stage):
        role = role_arn.get(service.name) if isinstance(role_arn, Mapping) else role_arn
        docs.append(service_account(stage, service, namespace=namespace, instance=instance, role_arn=role))
        docs.append(
            deployment(
                stage,
                service,
                image=image,
                namespace=namespace,
                instance=instance,
                replicas=replicas,
                config_hash=config_hash,
                region=region,
            )
        )
        docs.append(load_balancer(stage, service, namespace=namespace, instance=instance))
        docs.append(network_policy(stage, service, namespace=namespace, instance=instance))
    return docs


def namespace_manifest(namespace: str = DEFAULT_NAMESPACE) -> Manifest:
    """The namespace, apart from render(): every stage shares it, so deleting a stage's manifests must
    not delete it."""
    _check_label("namespace", namespace)
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": "shop"}},
    }


def config_map(stage: Stage, tables: TableNames, *, namespace: str, instance: str) -> Manifest:
    document = config_document(tables.settings())
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(config_map_name(stage), namespace, _labels(stage, None, instance)),
        "data": {CONFIG_KEY: json.dumps(document, indent=2) + "\n"},
    }


def service_account(stage: Stage, service: Service, *, namespace: str, instance: str, role_arn: str | None) -> Manifest:
    metadata = _metadata(resource_name(stage, service), namespace, _labels(stage, service, instance))
    if role_arn:
        metadata["annotations"] = {ROLE_ANNOTATION: role_arn}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        # The apps never call the Kubernetes API, so no Kubernetes API token is mounted. AWS credentials
        # do not need it: the IRSA webhook (and EKS Pod Identity) inject their own projected token volume.
        "automountServiceAccountToken": False,
    }


def deployment(
    stage: Stage,
    service: Service,
    *,
    image: str,
    namespace: str,
    instance: str,
    replicas: int,
    config_hash: str,
    region: str | None = None,
) -> Manifest:
    name = resource_name(stage, service)
    labels = _labels(stage, service, instance)
    env = {"RUNTIME": "EKS", "CONFIG_FILE": CONFIG_FILE, "PYTHONUNBUFFERED": "1"}
    for upstream in service.upstreams:
        env[f"{upstream.upper()}_SERVICE_URL"] = service_url(stage, stage.service(upstream), namespace)
    if region:
        env |= {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}

    def probe(**timing: int) -> Manifest:
        return {"httpGet": {"path": HEALTH_PATH, "port": CONTAINER_PORT}, "timeoutSeconds": 2, **timing}

    container = {
        "name": service.name,
        "image": image,
        "command": naming.container_command(service),
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "resources": copy.deepcopy(RESOURCES),
        "readinessProbe": probe(periodSeconds=5, failureThreshold=3),
        "livenessProbe": probe(initialDelaySeconds=10, periodSeconds=10, failureThreshold=3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, namespace, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": _selector(name)},
            "template": {
                "metadata": {"labels": labels, "annotations": {CONFIG_HASH_ANNOTATION: config_hash}},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,  # projected token files (IRSA) readable by the app's group
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "config",
                            "configMap": {
                                "name": config_map_name(stage),
                                "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}],
                            },
                        },
                        # The only writable place: Python's tempfile and anything else that needs scratch.
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }


def load_balancer(stage: Stage, service: Service, *, namespace: str, instance: str) -> Manifest:
    name = resource_name(stage, service)
    metadata = _metadata(name, namespace, _labels(stage, service, instance))
    metadata["annotations"] = dict(NLB_ANNOTATIONS)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": LOAD_BALANCER_CLASS,
            "selector": _selector(name),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def network_policy(stage: Stage, service: Service, *, namespace: str, instance: str) -> Manifest:
    """What the pods may talk to: in, only the app port (from the load balancer, and from the services
    that call this one); out, DNS, HTTPS (the AWS APIs: DynamoDB, STS for IRSA) and the app port of the
    services this one calls. Enforced where the cluster enforces NetworkPolicies (EKS Auto Mode: with
    network policies enabled in its NodeClass); the local EKS runner does not enforce them."""
    name = resource_name(stage, service)
    egress: list[Manifest] = [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": 443}]},
    ]
    for upstream in service.upstreams:
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": _selector(resource_name(stage, stage.service(upstream)))}}],
                "ports": [{"protocol": "TCP", "port": CONTAINER_PORT}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(name, namespace, _labels(stage, service, instance)),
        "spec": {
            "podSelector": {"matchLabels": _selector(name)},
            "policyTypes": ["Ingress", "Egress"],
            # From anywhere: the NLB sends client traffic straight to the pod IPs (target type ip).
            "ingress": [{"ports": [{"protocol": "TCP", "port": CONTAINER_PORT}]}],
            "egress": egress,
        },
    }


def _labels(stage: Stage, service: Service | None, instance: str) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": resource_name(stage, service) if service else config_map_name(stage),
        "app.kubernetes.io/part-of": f"shop-{stage.name}",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/managed-by": "shopctl",
    }
    if service:
        labels["app.kubernetes.io/component"] = service.name
    return labels


def _names(stage: Stage) -> list[str]:
    return [s.name for s in eks_services(stage)]


def _selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def _metadata(name: str, namespace: str, labels: dict[str, str]) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def _check_label(what: str, value: str) -> None:
    if not _DNS_LABEL.match(value):
        raise ValueError(f"{what} {value!r} is not a DNS label (a-z, 0-9, '-', at most 63 characters)")


# --- reading manifests back (the local EKS runner, the tests) ----------------------------------------
# Paths into a Deployment: spec.template.spec.containers[0] is the container (command, env,
# volumeMounts); spec.template.spec.volumes maps volume names to ConfigMaps; spec.replicas.


def find(docs: Sequence[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """The documents of `kind` (and `name`, if given), in order."""
    return [
        doc for doc in docs if doc.get("kind") == kind and (name is None or doc.get("metadata", {}).get("name") == name)
    ]


def deployment_of(docs: Sequence[Manifest], service_name: str) -> Manifest:
    """The Deployment of service `service_name` ("app", "users", "orders")."""
    for doc in find(docs, "Deployment"):
        if doc["metadata"]["labels"].get("app.kubernetes.io/component") == service_name:
            return doc
    raise KeyError(f"no Deployment for service {service_name!r}")


def container_spec(docs: Sequence[Manifest], service_name: str) -> Manifest:
    """The (only) container of the service's Deployment."""
    return deployment_of(docs, service_name)["spec"]["template"]["spec"]["containers"][0]


def container_env(container: Manifest) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


def mount_path(docs: Sequence[Manifest], configmap_name: str) -> str:
    """Where the Deployments mount ConfigMap `configmap_name` (the same path in all of them)."""
    paths = set()
    for doc in find(docs, "Deployment"):
        pod = doc["spec"]["template"]["spec"]
        volumes = {v["name"] for v in pod.get("volumes", []) if v.get("configMap", {}).get("name") == configmap_name}
        for container in pod["containers"]:
            paths |= {m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in volumes}
    if len(paths) != 1:
        raise KeyError(f"ConfigMap {configmap_name!r} is mounted at {sorted(paths) or 'no path'}")
    return paths.pop()


# --- YAML and the command line -----------------------------------------------------------------------


def to_yaml(docs: Sequence[Manifest]) -> str:
    """A multi-document YAML stream (`kubectl apply -f -`); multi-line strings as literal blocks."""
    import yaml  # the dev dependency pyyaml; only the YAML output needs it

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # plain YAML, no &anchors / *aliases
            return True

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    return "---\n".join(
        yaml.dump(doc, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=1000) for doc in docs
    )


def example(stage_name: str) -> list[Manifest]:
    """What deployment/eks/<stage>.yaml holds: placeholder image, tables `shop-<stage>-eks-…`."""
    return render(
        stage_name,
        image=EXAMPLE_IMAGE.format(stage=stage_name),
        tables=TableNames.for_deployment(default_deployment_name(stage_name)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopctl.targets.k8s", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("render", help="print a stage's EKS manifests as YAML")
    cmd.add_argument("--stage", required=True, choices=list(STAGES))
    cmd.add_argument("--image", help="container image (default: a placeholder ECR URI)")
    cmd.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    cmd.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS)
    cmd.add_argument("--role-arn", help="IAM role for IRSA (the ServiceAccounts' annotation)")
    cmd.add_argument("--deployment-name", help="default: <stage>-eks")
    cmd.add_argument("--tables", help="tables shop-<TABLES>-users/-orders (default: the deployment name)")
    cmd.add_argument("--region", help="sets AWS_REGION in the pods")
    args = parser.parse_args(argv)

    name = args.deployment_name or default_deployment_name(args.stage)
    try:
        docs = render(
            args.stage,
            image=args.image or EXAMPLE_IMAGE.format(stage=args.stage),
            tables=TableNames.for_deployment(args.tables or name),
            namespace=args.namespace,
            replicas=args.replicas,
            role_arn=args.role_arn,
            deployment_name=args.deployment_name,
            region=args.region,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = " ".join(["python -m shopctl.targets.k8s", *(argv if argv is not None else sys.argv[1:])])
    sys.stdout.write(f"# Rendered by deployment/shopctl/targets/k8s.py: {shown}\n# Do not edit; render again.\n")
    sys.stdout.write(to_yaml(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
