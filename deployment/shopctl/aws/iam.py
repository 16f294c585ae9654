"""IAM for the shop: roles whose policies name exactly the resources a function or task touches.

No `*` action or resource anywhere: every statement lists the DynamoDB actions the stage's code calls
on the ARNs of its own tables (and the orders index), and the logs actions on its own log group.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.resources import ORDERS_BY_USER_INDEX
from shopctl.aws.tagging import Tags

# The DynamoDB calls the stages' code makes, per table — tests/contract/test_least_privilege.py records
# the calls each stage really makes and fails if these lists grant more or less:
# GetItem/PutItem/DeleteItem (with conditions) for single items, Scan for listing; on orders, Query on
# the user_id index.
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "users": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"),
    "orders": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"),
}
INDEX_ACTIONS: dict[str, tuple[str, ...]] = {"orders": ("dynamodb:Query",)}
# The monolith and the clean stage write an order in a transaction that also checks the user still exists.
STAGE_EXTRA_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "monolith": {"users": ("dynamodb:ConditionCheckItem",)},
    "clean": {"users": ("dynamodb:ConditionCheckItem",)},
}


def table_actions(stage: str, kind: str) -> tuple[str, ...]:
    return TABLE_ACTIONS[kind] + STAGE_EXTRA_ACTIONS.get(stage, {}).get(kind, ())


LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def account_and_region() -> tuple[str, str]:
    session = clients.session()
    region = session.region_name or "us-east-1"
    return clients.client("sts").get_caller_identity()["Account"], region


def table_arn(name: str) -> str:
    return clients.client("dynamodb").describe_table(TableName=name)["Table"]["TableArn"]


def dynamodb_statements(stage: str, tables: dict[str, str]) -> list[dict[str, Any]]:
    """`tables`: kind ("users"/"orders") -> table name, for the tables this principal may use."""
    statements = []
    for kind, name in sorted(tables.items()):
        arn = table_arn(name)
        statements.append(
            {
                "Sid": f"{kind.capitalize()}Table",
                "Effect": "Allow",
                "Action": list(table_actions(stage, kind)),
                "Resource": [arn],
            }
        )
        if kind in INDEX_ACTIONS:
            statements.append(
                {
                    "Sid": f"{kind.capitalize()}ByUserIndex",
                    "Effect": "Allow",
                    "Action": list(INDEX_ACTIONS[kind]),
                    "Resource": [f"{arn}/index/{ORDERS_BY_USER_INDEX}"],
                }
            )
    return statements


def lambda_logs_statement(function_name: str) -> dict[str, Any]:
    account, region = account_and_region()
    return {
        "Sid": "OwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function_name}:*"],
    }


def policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def ensure_role(
    name: str, trust: dict[str, Any], inline: dict[str, Any] | None, description: str, tags: Tags | None = None
) -> tuple[str, bool]:
    """Create or update role `name` with one inline policy `<name>-access` (none if `inline` is None), tagged
    with `tags` (the project only when None). Returns (arn, created)."""
    iam = clients.client("iam")
    created = False
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=description,
            Tags=(tags or Tags()).key_value(),
        )["Role"]["Arn"]
        created = True
    if inline is not None:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-access", PolicyDocument=json.dumps(inline))
    return arn, created


def attach_managed_policies(role: str, names: list[str]) -> None:
    """Attach AWS managed policies (by name) to `role`; attaching one twice is a no-op in IAM."""
    client = clients.client("iam")
    for name in names:
        client.attach_role_policy(RoleName=role, PolicyArn=f"arn:aws:iam::aws:policy/{name}")


def role_exists(name: str) -> bool:
    try:
        clients.client("iam").get_role(RoleName=name)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return False


def read_role(name: str) -> dict[str, Any] | None:
    """Role `name` as IAM holds it: id, trust policy, inline policy documents, attached policy ARNs
    (None if there is no such role) — what `make verify` compares and checks."""
    iam = clients.client("iam")
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise

    def document(value: str | dict[str, Any]) -> dict[str, Any]:
        return json.loads(value) if isinstance(value, str) else value

    return {
        "RoleId": role["RoleId"],
        "Trust": document(role["AssumeRolePolicyDocument"]),
        "Inline": {
            policy: document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        },
        "Attached": [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]],
    }


def ensure_service_linked_role(service: str, name: str) -> bool:
    """The account's service-linked role for `service` (e.g. ecs.amazonaws.com → AWSServiceRoleForECS),
    created if missing: on a fresh account ECS refuses its first CreateCluster/CreateService without it
    ("Unable to assume the service linked role"). Account-wide and owned by the service, so destroy
    leaves it. Returns True if it was created now."""
    iam = clients.client("iam")
    if role_exists(name):
        return False
    try:
        iam.create_service_linked_role(AWSServiceName=service)
    except ClientError as error:
        # made meanwhile (another deploy): IAM says the name "has been taken"
        if error.response["Error"]["Code"] not in ("InvalidInput", "EntityAlreadyExists"):
            raise
        return False
    return True


def delete_role(name: str) -> bool:
    iam = clients.client("iam")
    try:
        # EKS Auto Mode puts the node role in an instance profile of its own, which outlives the cluster;
        # IAM refuses DeleteRole (DeleteConflict) until the role is out of it. A profile left empty by
        # that holds nothing of anyone else's: it goes too.
        for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
            profile_name = profile["InstanceProfileName"]
            iam.remove_role_from_instance_profile(InstanceProfileName=profile_name, RoleName=name)
            if not iam.get_instance_profile(InstanceProfileName=profile_name)["InstanceProfile"]["Roles"]:
                iam.delete_instance_profile(InstanceProfileName=profile_name)
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise


# How AWS words "this new role is not usable yet": Lambda says the role "cannot be assumed", EKS that it
# "could not be assumed", ECS (its service-linked role just made) "Unable to assume". All are matched;
# any other refusal is a real error and raised at once.
ROLE_NOT_YET_USABLE = ("cannot be assumed", "could not be assumed", "Unable to assume the service linked role")
ROLE_PROPAGATION_DELAY = 3.0  # seconds between attempts; IAM is usually consistent within ten


def retry_while_role_propagates(call, *, attempts: int = 10, sleep=time.sleep):
    """A new IAM role takes seconds to be usable by Lambda or EKS on AWS; retry that specific refusal."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as error:
            message = error.response["Error"].get("Message", "")
            propagating = any(wording in message for wording in ROLE_NOT_YET_USABLE)
            if not propagating or attempt == attempts - 1:
                raise
            print(f"  … waiting for the new IAM role to propagate ({attempt + 1}/{attempts})", flush=True)
            sleep(ROLE_PROPAGATION_DELAY)
    raise AssertionError("unreachable")
