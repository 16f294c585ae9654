"""Where Lambda packages live: an S3 bucket per account and region, one object per code version.

Deploy uploads the ZIP here and points the function at it (Code={S3Bucket, S3Key}) — the way to ship
packages larger than the 50 MB direct-upload limit. The object key is derived from the package's SHA-256,
which Lambda reports back as the function's `CodeSha256`: the local Lambda uses that to fetch exactly the
code the function holds, and checks the digest before running it.

The bucket's name is predictable (account and region), so anyone could create it first in *their* account:
every call says whose it must be (`ExpectedBucketOwner`), and S3 refuses it if the bucket is someone else's.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import Tags


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the package's SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def bucket_name(account_id: str, region: str) -> str:
    return f"shop-lambda-artifacts-{account_id}-{region}"


def artifact_key(function_name: str, sha256_b64: str) -> str:
    return f"{function_name}/{base64.b64decode(sha256_b64).hex()}.zip"


def _bucket(region: str | None = None) -> tuple[str, str]:
    session = clients.session()
    region = region or session.region_name or "us-east-1"
    return bucket_name(_owner(), region), region


def _owner() -> str:
    return clients.client("sts").get_caller_identity()["Account"]


def bucket_for_this_account(region: str | None = None) -> str:
    """The bucket's name in the account and region boto3 points at (it may not exist)."""
    return _bucket(region)[0]


def delete_bucket_if_empty(bucket: str) -> bool:
    """Remove the artifact bucket once no package is left in it (other stages' functions keep it)."""
    s3, owner = clients.client("s3"), _owner()
    try:
        if s3.list_objects_v2(Bucket=bucket, MaxKeys=1, ExpectedBucketOwner=owner).get("KeyCount", 0):
            return False
        s3.delete_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("NoSuchBucket", "404"):
            raise
        return False


def ensure_bucket(region: str | None = None) -> str:
    bucket, region = _bucket(region)
    s3, owner = clients.client("s3"), _owner()
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise  # 403: the name is taken by another account (or not ours to see): never write to it
        extra: dict[str, Any] = {}
        if region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **extra)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
            ExpectedBucketOwner=owner,
        )
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": Tags().key_value()}, ExpectedBucketOwner=owner)
    return bucket


def upload(function_name: str, data: bytes) -> tuple[str, str]:
    """Upload a package; returns (bucket, key). The key names the content (its sha256), so a package that is
    there already is not sent again: re-deploying unchanged code uploads nothing (~20 MB otherwise, each
    time — on a conference network, most of a deploy's wait)."""
    bucket = ensure_bucket()
    key = artifact_key(function_name, code_sha256(data))
    s3, owner = clients.client("s3"), _owner()
    try:
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=owner)
        return bucket, key
    except ClientError:  # not there — or not knowable: without s3:ListBucket, S3 answers 403 for a missing key
        pass
    s3.put_object(Bucket=bucket, Key=key, Body=data, ExpectedBucketOwner=owner)
    return bucket, key


def download(function_name: str, sha256_b64: str) -> bytes:
    """Fetch the package of a function's current code and verify it is exactly that code."""
    bucket, _ = _bucket()
    data = (
        clients.client("s3")
        .get_object(Bucket=bucket, Key=artifact_key(function_name, sha256_b64), ExpectedBucketOwner=_owner())["Body"]
        .read()
    )
    if code_sha256(data) != sha256_b64:
        raise ValueError(f"artifact for {function_name} does not match CodeSha256 {sha256_b64}")
    return data
