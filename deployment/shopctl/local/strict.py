"""The local AWS refuses what AWS refuses: behaviours of a real account that moto lacks, added around
moto's own backends and request handlers (no copy of moto is patched), so a deploy that would fail on a
fresh AWS account fails locally first. `apply()` turns them on, each as moto imports the module it changes;
it is idempotent. The local AWS server (`shopctl.local.moto_server`) and the deploy-code tests' in-process
moto (`deployment/tests/conftest.py`) both call it. Each behaviour names its AWS source; docs/local-vs-aws.md
lists them in one table.

What each rule reads (roles, subnets, images) is moto's state of the same account and region, so a
fresh local AWS behaves like a fresh account.

Why one module of ~550 lines: it is the one table docs/local-vs-aws.md lists, each behaviour small and on its
own, with the hook that applies each when moto imports what it changes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.abc
import json
import os
import sys
from collections.abc import Callable
from typing import Any

# Availability Zones EKS refuses cluster subnets in, by zone *ID* (zone names are shuffled per account).
# Source: Amazon EKS user guide, "Create a cluster" / subnet requirements (UnsupportedAvailabilityZoneException).
EKS_UNSUPPORTED_ZONE_IDS = {"us-east-1": {"use1-az3"}, "us-west-1": {"usw1-az2"}, "ca-central-1": {"cac1-az3"}}
ELB_SUBNET_TAG = "kubernetes.io/role/elb"  # public subnets for internet-facing load balancers
ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"
# The media types Lambda accepts for a container image's manifest: one image, not an index of several.
# Source: Lambda developer guide, "Create a Lambda function using a container image" (image requirements).
LAMBDA_IMAGE_MANIFESTS = {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
}


def _wrap(owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace `owner.name` by `make(original)` once (a second apply() leaves it as it is). Several behaviours
    may wrap the same handler: each is known by its `make`."""
    original = getattr(owner, name)
    applied: frozenset[str] = getattr(original, "__shop_strict__", frozenset())
    if make.__qualname__ in applied:
        return
    wrapper = functools.wraps(original)(make(original))
    wrapper.__shop_strict__ = applied | {make.__qualname__}  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def _iam(account_id: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["aws"]


def _ec2(account_id: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


# --- ECS -----------------------------------------------------------------------------------------------


def ecs_service_linked_role_name() -> None:
    """IAM names the role CreateServiceLinkedRole makes for ecs.amazonaws.com `AWSServiceRoleForECS` (moto:
    `AWSServiceRoleForecs`): ECS's developer guide, "Using service-linked roles for Amazon ECS"."""
    from moto.iam import models as iam_models

    iam_models.SERVICE_NAME_CONVERSION.setdefault("ecs", "ECS")


def ecs_service_linked_role() -> None:
    """A fresh account has no `AWSServiceRoleForECS`; the first CreateCluster/CreateService then fails
    with "Unable to assume the service linked role" (widely reported; the ECS developer guide's "Using
    service-linked roles for Amazon ECS" has the fix: create it first, iam create-service-linked-role)."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    def refuse_without_role(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not any(r.name == ECS_SERVICE_LINKED_ROLE for r in _iam(self.account_id).roles.values()):
                raise InvalidParameterException(
                    "Unable to assume the service linked role. Please verify that the ECS service linked role exists."
                )
            return original(self, *args, **kwargs)

        return call

    for name in ("create_cluster", "create_service"):
        _wrap(EC2ContainerServiceBackend, name, refuse_without_role)


def ecs_awsvpc_host_port() -> None:
    """With awsvpc networking ECS stores every port mapping with `hostPort` equal to `containerPort`, so a
    task definition read back differs from the one sent without it (ECS API reference, PortMapping:
    "hostPort … must be the same as containerPort" for awsvpc; RegisterTaskDefinition fills it in)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    def fill_host_port(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, family: str, container_definitions: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("network_mode") == "awsvpc":
                container_definitions = [
                    {**c, "portMappings": [{"hostPort": m["containerPort"], **m} for m in c.get("portMappings", [])]}
                    if "portMappings" in c
                    else c
                    for c in container_definitions
                ]
            return original(self, family, container_definitions, *args, **kwargs)

        return call

    _wrap(EC2ContainerServiceBackend, "register_task_definition", fill_host_port)


# --- EKS -----------------------------------------------------------------------------------------------


def _eks_error(kind: str, **fields: Any) -> Exception:
    from moto.eks.exceptions import EKSError

    error_class = type(kind, (EKSError,), {"TYPE": kind, "STATUS": 400})
    return error_class(**fields)


def eks_cluster_rules() -> None:
    """CreateCluster as EKS answers it:
    - a subnet in an Availability Zone EKS does not support → `UnsupportedAvailabilityZoneException` with
      `validZones` (EKS API reference; the zone IDs in EKS_UNSUPPORTED_ZONE_IDS);
    - an Auto Mode cluster (`computeConfig.enabled` with a node role) puts that node role in an instance
      profile EKS makes, and which outlives the cluster: DeleteRole on the node role then answers
      `DeleteConflict` until the role is removed from it (EKS user guide, "Auto Mode node IAM role";
      moto's DeleteRole already refuses a role in an instance profile)."""
    from moto.eks.responses import EKSResponse

    def strict_create(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any) -> Any:
            name = self._get_param("name")
            subnet_ids = (self._get_param("resourcesVpcConfig") or {}).get("subnetIds", [])
            ec2 = _ec2(self.current_account, self.region)
            unsupported = EKS_UNSUPPORTED_ZONE_IDS.get(self.region, set())
            subnets = ec2.describe_subnets(subnet_ids=subnet_ids) if subnet_ids else []
            refused = sorted({s.availability_zone for s in subnets if s.availability_zone_id in unsupported})
            if refused:
                zones = ec2.describe_availability_zones()
                valid = sorted(z.name for z in zones if z.zone_id not in unsupported)
                raise _eks_error(
                    "UnsupportedAvailabilityZoneException",
                    message=(
                        f"Cannot create cluster '{name}' because {', '.join(refused)}, the targeted availability "
                        f"zone, does not currently have sufficient capacity to support the cluster. Retry and "
                        f"choose from these availability zones: {', '.join(valid)}"
                    ),
                    clusterName=name,
                    validZones=valid,
                )
            result = original(self)
            _ACCESS_ENTRIES[(self.current_account, self.region, name)] = {}
            if (self._get_param("accessConfig") or {}).get("bootstrapClusterCreatorAdminPermissions", True):
                _creator_access_entry(self, name)
            compute = self._get_param("computeConfig") or {}
            if compute.get("enabled") and compute.get("nodeRoleArn"):
                _auto_mode_instance_profile(self.current_account, self.region, name, compute["nodeRoleArn"])
            return result

        return call

    _wrap(EKSResponse, "create_cluster", strict_create)


EKS_CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _creator_access_entry(response: Any, cluster: str) -> None:
    from moto.sts.models import sts_backends

    _, caller, _ = sts_backends[response.current_account]["aws"].get_caller_identity(
        response.get_access_key(), response.region
    )
    entry = _new_entry(response.current_account, response.region, cluster, iam_principal(caller), {})
    entry["policies"] = [{"policyArn": EKS_CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}]
    _ACCESS_ENTRIES[(response.current_account, response.region, cluster)][entry["principalArn"]] = entry


def _auto_mode_instance_profile(account_id: str, region: str, cluster: str, node_role_arn: str) -> None:
    iam = _iam(account_id)
    role_name = node_role_arn.rsplit("/", 1)[1]
    suffix = hashlib.sha256(f"{cluster}/{node_role_arn}".encode()).hexdigest()[:8]
    profile_name = f"eks-{region}-{cluster}-{suffix}"[:128]
    if not any(p.name == profile_name for p in iam.get_instance_profiles()):
        iam.create_instance_profile(profile_name, "/", [])
    iam.add_role_to_instance_profile(profile_name, role_name)


# Access entries, by (account, region, cluster) then principal ARN: moto has no access-entry API.
_ACCESS_ENTRIES: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}


def iam_principal(caller_arn: str) -> str:
    """The IAM principal of a caller: an assumed-role session's role (EKS CreateAccessEntry refuses STS
    session principals: "You can't use the STS session principal type with access entries")."""
    if ":assumed-role/" in caller_arn:
        partition, account = caller_arn.split(":")[1], caller_arn.split(":")[4]
        return f"arn:{partition}:iam::{account}:role/{caller_arn.split('/')[1]}"
    return caller_arn


def eks_access_entries() -> None:
    """The access-entry API moto lacks, as far as the deploy code uses it: Create/Describe/Delete/List
    access entries and AssociateAccessPolicy (EKS API reference; EKS user guide, "Grant IAM users access to
    Kubernetes with EKS access entries"). A cluster created with `bootstrapClusterCreatorAdminPermissions`
    (the default) gets an entry for its creator with AmazonEKSClusterAdminPolicy on the cluster, as EKS
    makes one; anyone else has none until one is created. Entries are records: nothing checks kubectl."""
    from urllib.parse import unquote

    from moto.eks import urls
    from moto.eks.responses import EKSResponse

    def entries(response: Any) -> dict[str, dict[str, Any]]:
        from moto.eks.models import eks_backends

        name = response._get_param("name")
        if name not in eks_backends[response.current_account][response.region].clusters:
            raise _eks_error("ResourceNotFoundException", message=f"No cluster found for name: {name}.")
        return _ACCESS_ENTRIES.setdefault((response.current_account, response.region, name), {})

    def entry(response: Any) -> dict[str, Any]:
        principal = unquote(response._get_param("principalArn"))
        found = entries(response).get(principal)
        if found is None:
            raise _eks_error(
                "ResourceNotFoundException", message=f"The specified principalArn could not be found: {principal}"
            )
        return found

    def create_access_entry(self: Any) -> Any:
        principal = self._get_param("principalArn")
        if principal in entries(self):
            raise _eks_error(
                "ResourceInUseException",
                message=f"The specified access entry resource is already in use on this cluster: {principal}",
            )
        entries(self)[principal] = _new_entry(
            self.current_account, self.region, self._get_param("name"), principal, self._get_param("tags") or {}
        )
        return json.dumps({"accessEntry": {k: v for k, v in entries(self)[principal].items() if k != "policies"}})

    def describe_access_entry(self: Any) -> Any:
        return json.dumps({"accessEntry": {k: v for k, v in entry(self).items() if k != "policies"}})

    def delete_access_entry(self: Any) -> Any:
        entries(self).pop(entry(self)["principalArn"])
        return "{}"

    def list_access_entries(self: Any) -> Any:
        return json.dumps({"accessEntries": sorted(entries(self))})

    def associate_access_policy(self: Any) -> Any:
        found = entry(self)
        policy = {"policyArn": self._get_param("policyArn"), "accessScope": self._get_param("accessScope")}
        found["policies"] = [p for p in found["policies"] if p["policyArn"] != policy["policyArn"]] + [policy]
        return json.dumps(
            {
                "clusterName": found["clusterName"],
                "principalArn": found["principalArn"],
                "associatedAccessPolicy": policy,
            }
        )

    def list_associated_access_policies(self: Any) -> Any:
        found = entry(self)
        return json.dumps(
            {
                "clusterName": found["clusterName"],
                "principalArn": found["principalArn"],
                "associatedAccessPolicies": found["policies"],
            }
        )

    for handler in (
        create_access_entry,
        describe_access_entry,
        delete_access_entry,
        list_access_entries,
        associate_access_policy,
        list_associated_access_policies,
    ):
        setattr(EKSResponse, handler.__name__, handler)
    for path in (
        "{0}/clusters/(?P<name>[^/]+)/access-entries$",
        # An ARN has slashes; the server (werkzeug) decodes the %2F the SDK sends before routing.
        "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)/access-policies$",
        "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$",
    ):
        urls.url_paths.setdefault(path, urls.response.dispatch)


def _new_entry(account_id: str, region: str, cluster: str, principal: str, tags: dict[str, str]) -> dict[str, Any]:
    digest = hashlib.sha256(principal.encode()).hexdigest()[:12]
    return {
        "clusterName": cluster,
        "principalArn": principal,
        "accessEntryArn": f"arn:aws:eks:{region}:{account_id}:access-entry/{cluster}/{digest}",
        "type": "STANDARD",
        "kubernetesGroups": [],
        "username": principal,
        "tags": tags,
        "policies": [],
    }


def load_balancer_hostname(account_id: str, region: str, cluster_name: str, service: str) -> str | None:
    """The address EKS Auto Mode gives an internet-facing Service of type LoadBalancer of this cluster, or
    None while it stays pending: Auto Mode places such a load balancer only in subnets of the cluster's VPC
    tagged `kubernetes.io/role/elb` (EKS user guide, "Tag subnets for EKS Auto Mode"; AWS Load Balancer
    Controller, "Subnet auto-discovery"). The default VPC's subnets carry no such tag. The local AWS has no
    Kubernetes API; the deploy-code tests answer `kubectl get service` with this."""
    from moto.eks.models import eks_backends

    cluster = eks_backends[account_id][region].clusters.get(cluster_name)
    if cluster is None:
        return None
    ec2 = _ec2(account_id, region)
    cluster_subnets = ec2.describe_subnets(subnet_ids=cluster.resources_vpc_config.get("subnetIds", []))
    vpcs = {s.vpc_id for s in cluster_subnets}
    tagged = [
        s
        for s in ec2.describe_subnets(filters={"vpc-id": sorted(vpcs)})
        if any(t["key"] == ELB_SUBNET_TAG and t["value"] in ("1", "") for t in s.get_tags())
    ]
    if not tagged:
        return None
    digest = hashlib.sha256(f"{cluster_name}/{service}".encode()).hexdigest()[:16]
    return f"k8s-{service[:20]}-{digest}.elb.{region}.amazonaws.com"


# --- Lambda --------------------------------------------------------------------------------------------


def lambda_image_manifests() -> None:
    """CreateFunction / UpdateFunctionCode with an image Lambda cannot run are refused: an image *index* —
    a multi-platform build, or a single-platform one with the provenance attestation buildx adds by
    default — instead of one image manifest (Lambda developer guide, "Container image requirements";
    AWS answers "The image manifest, config or layer media type for the source image … is not
    supported"). A single manifest's architecture is in its config blob, which moto's ECR does not keep:
    that check is the deploy code's (shopctl.aws.image), not this layer's."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend

    def check(backend: Any, image_uri: str | None) -> None:
        manifest = _ecr_manifest(backend.account_id, backend.region_name, image_uri) if image_uri else None
        if manifest is None:
            return
        if manifest.get("mediaType", "") not in LAMBDA_IMAGE_MANIFESTS or "manifests" in manifest:
            raise InvalidParameterValueException(
                f"The image manifest, config or layer media type for the source image {image_uri} is not supported."
            )

    def on_create(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, spec: dict[str, Any]) -> Any:
            check(self, (spec.get("Code") or {}).get("ImageUri"))
            return original(self, spec)

        return call

    def on_update(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
            check(self, body.get("ImageUri"))
            return original(self, function_name, qualifier, body)

        return call

    _wrap(LambdaBackend, "create_function", on_create)
    _wrap(LambdaBackend, "update_function_code", on_update)


# The account's "Concurrent executions" quota per region (Service Quotas, AWS Lambda): 1000 is the usual
# one; new accounts get 10. Tests lower it through this setting.
LAMBDA_CONCURRENCY_LIMIT_SETTING = "SHOP_LAMBDA_CONCURRENCY_LIMIT"
LAMBDA_UNRESERVED_MINIMUM = 100


def lambda_unreserved_concurrency() -> None:
    """PutFunctionConcurrency is refused (`InvalidParameterValueException`) when it would leave fewer than
    100 unreserved concurrent executions in the account's region: "You can reserve up to the Unreserved
    account concurrency value minus 100" (Lambda developer guide, "Configuring reserved concurrency for a
    function"). With a limit below 100 — a new account's 10 — nothing can be reserved, and the message names
    the limit itself ("…below its minimum value of [10]", as widely reported). moto checks this only when
    MOTO_LAMBDA_CONCURRENCY_QUOTA is set, always against 100."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend

    def check(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, function_name: str, reserved_concurrency: str) -> Any:
            limit = int(os.environ.get(LAMBDA_CONCURRENCY_LIMIT_SETTING, "1000"))
            minimum = min(LAMBDA_UNRESERVED_MINIMUM, limit)
            this = self.get_function(function_name).function_name  # a name or an ARN
            others = sum(
                int(f.reserved_concurrency)
                for f in self.list_functions()
                if f.reserved_concurrency and f.function_name != this
            )
            if limit - others - int(reserved_concurrency) < minimum:
                raise InvalidParameterValueException(
                    "Specified ReservedConcurrentExecutions for function decreases account's "
                    f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
                )
            return original(self, function_name, reserved_concurrency)

        return call

    _wrap(LambdaBackend, "put_function_concurrency", check)


def _ecr_manifest(account_id: str, region: str, image_uri: str) -> dict[str, Any] | None:
    """The manifest moto's ECR holds for `<registry>/<repository>(:tag|@digest)`, or None if it holds none."""
    from moto.ecr.models import ecr_backends

    path = image_uri.split("/", 1)[1] if "/" in image_uri else image_uri
    if "@" in path:
        repository, reference = path.split("@", 1)
    else:
        repository, _, reference = path.rpartition(":") if ":" in path else (path, "", "latest")
    repo = ecr_backends[account_id][region].repositories.get(repository)
    if repo is None:
        return None
    for image in repo.images:
        if reference in (image.image_digest, *image.image_tags):
            try:
                return json.loads(image.image_manifest)
            except ValueError:
                return None
    return None


# --- S3 ------------------------------------------------------------------------------------------------


def s3_expected_bucket_owner() -> None:
    """A request naming `ExpectedBucketOwner` (header x-amz-expected-bucket-owner) for a bucket another account
    owns is refused with 403 Access Denied (S3 user guide, "Verifying bucket ownership with bucket owner
    condition"). moto ignores the header; bucket names are global, so a predictable name can be someone
    else's bucket — and moto, like S3, lets another account's caller reach it."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import s3_backends
    from moto.s3.responses import S3Response

    def check_owner(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, request: Any, full_url: str) -> Any:
            expected = request.headers.get("x-amz-expected-bucket-owner")
            owner = s3_backends.bucket_accounts.get(self.parse_bucket_name_from_url(request, full_url))
            if expected and owner and owner[1] != expected:
                if request.method == "HEAD":  # S3 answers HEAD with a status only
                    return 403, {}, ""
                raise S3ClientError("AccessDenied", "Access Denied")
            return original(self, request, full_url)

        return call

    for name in ("_bucket_response", "_key_response"):
        _wrap(S3Response, name, check_owner)


def s3_checksum_sha256() -> None:
    """A PutObject whose `x-amz-checksum-sha256` header is not the SHA-256 of the body it carries is refused
    with 400 BadDigest and nothing is stored (S3 user guide, "Checking object integrity"; S3 API reference,
    error code BadDigest). moto stores the object whatever the header says. (A checksum sent as an
    aws-chunked trailer is moto's own business: it decodes that body itself.)"""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    def check_digest(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, request: Any, full_url: str) -> Any:
            sent = request.headers.get("x-amz-checksum-sha256")
            chunked = "aws-chunked" in request.headers.get("content-encoding", "")
            if request.method == "PUT" and sent and not chunked and "x-amz-copy-source" not in request.headers:
                body = self.body or b""
                if base64.b64encode(hashlib.sha256(body).digest()).decode() != sent:
                    raise S3ClientError("BadDigest", "The SHA256 you specified did not match the calculated checksum.")
            return original(self, request, full_url)

        return call

    _wrap(S3Response, "_key_response", check_digest)


# Each behaviour, and the moto module it changes: it is applied once that module is imported, not before.
# Importing moto's ECS backend imports EC2's (~1 s of CPU: its instance types and zones), which a local AWS
# that serves DynamoDB alone (a stage run locally, a notebook, an exercise check) never needs.
BEHAVIOURS: tuple[tuple[Callable[[], None], str], ...] = (
    (ecs_service_linked_role_name, "moto.iam.models"),  # before anyone creates the role
    (ecs_service_linked_role, "moto.ecs.models"),
    (ecs_awsvpc_host_port, "moto.ecs.models"),
    (eks_cluster_rules, "moto.eks.responses"),
    (eks_access_entries, "moto.eks.urls"),  # before moto reads the service's URL paths from it
    (lambda_image_manifests, "moto.awslambda.models"),
    (lambda_unreserved_concurrency, "moto.awslambda.models"),
    (s3_expected_bucket_owner, "moto.s3.responses"),
    (s3_checksum_sha256, "moto.s3.responses"),
)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs callbacks right after a module is imported: it finds the module's spec with the other finders and
    has the spec's loader run them once the module's code has run (so moto never serves a request without
    them)."""

    def __init__(self) -> None:
        self.waiting: dict[str, list[Callable[[], None]]] = {}

    def after(self, module: str, callback: Callable[[], None]) -> None:
        if module in sys.modules:
            callback()
            return
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)
        if callback not in self.waiting.setdefault(module, []):
            self.waiting[module].append(callback)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.waiting:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if finder is not self and find else None
            if spec is not None:
                spec.loader = _ThenRun(spec.loader, lambda: self.waiting.pop(name, []))
                return spec
        return None


class _ThenRun(importlib.abc.Loader):
    """A module's own loader, then the callbacks, taken only once the module's code ran (an import that failed
    leaves them for the next try). Every other attribute is the loader's: data files, source."""

    def __init__(self, loader: Any, take: Callable[[], list[Callable[[], None]]]) -> None:
        self._loader, self._take = loader, take

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        for callback in self._take():
            callback()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # its own, not yet set (while being copied): not the loader's
            raise AttributeError(name)
        return getattr(self._loader, name)


_after_import = _AfterImport()


def apply() -> None:
    """Turn every behaviour on in this process's moto (the server's, or the tests' in-process one): now for a
    moto module already imported, else as soon as it is."""
    for behaviour, module in BEHAVIOURS:
        _after_import.after(module, behaviour)
