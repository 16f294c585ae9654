"""CloudWatch log groups: each deployment's own (a Lambda function's, an ECS stage's), created with a retention
so logs do not pile up at a price forever, and deleted with the deployment."""

from __future__ import annotations

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import Tags


def ensure_log_group(name: str, retention_days: int = 14, tags: Tags | None = None) -> None:
    logs = clients.client("logs")
    try:
        logs.create_log_group(logGroupName=name, tags=(tags or Tags()).as_dict())
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)


def delete_log_group(name: str) -> bool:
    try:
        clients.client("logs").delete_log_group(logGroupName=name)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return False
