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

import boto3
from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError


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


def _s3_in(region: str) -> Any:
    """S3 in `region`: a bucket outside us-east-1 can only be created by a request sent to its own region
    (S3 API reference, CreateBucket: LocationConstraint must match the endpoint's region)."""
    return clients.client("s3") if region == clients.region() else boto3.client("s3", region_name=region)


def ensure_bucket(region: str | None = None) -> str:
    """The artifact bucket of this account in `region` (boto3's by default), created private and tagged if
    missing. Refused in one line when the name is taken by another account, or when the bucket of that name
    is in another region: Lambda reads a package only from a bucket in the function's own region (Lambda
    API reference, CreateFunction `S3Bucket`)."""
    bucket, region = _bucket(region)
    s3, owner = _s3_in(region), _owner()
    try:
        found = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("403", "AccessDenied"):  # someone else's (S3 refuses ExpectedBucketOwner): never write to it
            raise ShopctlError(
                f"S3 bucket {bucket} exists but is not this account's ({owner}): a bucket name is global",
                "deploy in another region, or ask whoever owns that bucket; nothing was written to it",
            ) from None
        if code not in ("404", "NoSuchBucket"):
            raise
        extra: dict[str, Any] = {}
        if region != "us-east-1":  # us-east-1 refuses a LocationConstraint of its own name
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
    location = found.get("BucketRegion") or found["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region")
    if location and location != region:
        raise ShopctlError(
            f"S3 bucket {bucket} is in {location}, not {region}: Lambda takes code only from its own region",
            f"empty and delete it (aws s3 rb s3://{bucket} --force), then deploy again",
        )
    return bucket


def upload(function_name: str, data: bytes) -> tuple[str, str]:
    """Upload a package; returns (bucket, key). The key names the content (its sha256), so a package that is
    there already is not sent again: re-deploying unchanged code uploads nothing (~20 MB otherwise, each
    time — on a conference network, most of a deploy's wait)."""
    bucket = ensure_bucket()
    digest = code_sha256(data)
    key = artifact_key(function_name, digest)
    s3, owner = clients.client("s3"), _owner()
    try:
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=owner)
        return bucket, key
    except ClientError:  # not there — or not knowable: without s3:ListBucket, S3 answers 403 for a missing key
        pass
    # S3 checks what it received against the digest Lambda will report as CodeSha256 (400 BadDigest if they
    # differ). Sent as a header, it also spares the SDK its default: the body re-encoded in aws-chunked form with
    # a CRC32 trailer, which moto then decodes again (~0.3 s of CPU per 20 MB package, each side).
    s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumSHA256=digest, ExpectedBucketOwner=owner)
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
