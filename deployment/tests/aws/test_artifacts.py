"""shopctl.aws.artifacts: the Lambda package bucket of an account and region, one object per code version
named by the digest Lambda reports as CodeSha256, uploaded only when it is not there yet, and checked
against that digest when fetched."""

from __future__ import annotations

import hashlib
import io
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.aws import artifacts
from shopctl.errors import ShopctlError
from shopctl.lambda_local import testing

MOCK_REGION = "eu-west-1"  # the `aws` fixture's region


def _package(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def test_code_sha256_is_what_lambda_reports_for_the_package(aws: None) -> None:
    data = _package("def handler(event, context):\n    return 1\n")
    created = boto3.client("lambda").create_function(
        FunctionName="digest",
        Runtime="python3.11",
        Role=testing.ensure_role(),
        Handler="app.handler",
        Code={"ZipFile": data},
    )
    assert artifacts.code_sha256(data) == created["CodeSha256"]
    assert artifacts.code_sha256(data) != artifacts.code_sha256(_package("other"))


def test_the_key_names_the_function_and_the_packages_sha256() -> None:
    data = b"any bytes"
    key = artifacts.artifact_key("shop-clean", artifacts.code_sha256(data))
    assert key == f"shop-clean/{hashlib.sha256(data).hexdigest()}.zip"


def test_the_bucket_is_named_after_this_account_and_region(aws: None) -> None:
    account = boto3.client("sts").get_caller_identity()["Account"]
    assert artifacts.bucket_for_this_account() == f"shop-lambda-artifacts-{account}-{MOCK_REGION}"
    assert artifacts.bucket_for_this_account("us-east-1") == f"shop-lambda-artifacts-{account}-us-east-1"


def _assert_private_bucket_in(bucket: str, region: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert (location or "us-east-1") == region
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )


@pytest.mark.parametrize("region", [MOCK_REGION, "us-east-1"])  # us-east-1 takes no LocationConstraint
def test_ensure_bucket_makes_a_private_bucket_in_boto3s_region_once(aws_calls, monkeypatch, region: str) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    bucket = artifacts.ensure_bucket()
    assert artifacts.ensure_bucket() == bucket
    assert bucket.endswith(f"-{region}")
    assert len(aws_calls.params("s3", "CreateBucket")) == 1
    _assert_private_bucket_in(bucket, region)


def test_ensure_bucket_makes_the_bucket_in_the_region_asked_for(aws: None) -> None:
    # boto3's region is eu-west-1: the bucket is made through S3 in us-east-1 (S3 refuses a bucket whose
    # location differs from the endpoint's region), and found there again the second time.
    bucket = artifacts.ensure_bucket("us-east-1")
    assert artifacts.ensure_bucket("us-east-1") == bucket
    _assert_private_bucket_in(bucket, "us-east-1")
    other = artifacts.ensure_bucket("eu-central-1")
    _assert_private_bucket_in(other, "eu-central-1")


def test_a_bucket_of_that_name_in_another_region_is_refused_in_one_line(aws: None) -> None:
    bucket = artifacts.bucket_for_this_account("us-east-1")
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": MOCK_REGION})
    with pytest.raises(ShopctlError) as error:
        artifacts.ensure_bucket("us-east-1")
    assert error.value.reason.startswith(f"S3 bucket {bucket} is in {MOCK_REGION}, not us-east-1")
    assert f"aws s3 rb s3://{bucket}" in error.value.hint


def test_a_bucket_name_taken_by_another_account_is_refused_and_never_written(aws: None, monkeypatch) -> None:
    bucket = artifacts.bucket_for_this_account()
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")  # someone else made our predictable name first
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": MOCK_REGION})
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    with pytest.raises(ShopctlError, match=f"S3 bucket {bucket} exists but is not this account's") as error:
        artifacts.upload("shop-clean", _package("v1"))
    assert "\n" not in error.value.reason
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError, match="NoSuchTagSet"):  # not tagged as ours either
        s3.get_bucket_tagging(Bucket=bucket)


def test_an_unchanged_package_is_not_uploaded_again(aws_calls) -> None:
    data = _package("v1")
    bucket, key = artifacts.upload("shop-clean", data)
    assert boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert artifacts.upload("shop-clean", data) == (bucket, key)
    assert len(aws_calls.params("s3", "PutObject")) == 1

    changed = artifacts.upload("shop-clean", _package("v2"))
    assert changed[1] != key
    assert len(aws_calls.params("s3", "PutObject")) == 2


def test_download_returns_exactly_the_code_of_that_digest(aws: None) -> None:
    data = _package("v1")
    artifacts.upload("shop-clean", data)
    assert artifacts.download("shop-clean", artifacts.code_sha256(data)) == data


def test_download_refuses_an_object_that_is_not_that_code(aws: None) -> None:
    data = _package("v1")
    bucket, key = artifacts.upload("shop-clean", data)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=_package("tampered"))
    with pytest.raises(ValueError, match="shop-clean does not match CodeSha256"):
        artifacts.download("shop-clean", artifacts.code_sha256(data))


def test_the_bucket_goes_only_once_it_is_empty(aws: None) -> None:
    bucket, key = artifacts.upload("shop-clean", _package("v1"))
    assert artifacts.delete_bucket_if_empty(bucket) is False
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    s3.delete_object(Bucket=bucket, Key=key)
    assert artifacts.delete_bucket_if_empty(bucket) is True
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert artifacts.delete_bucket_if_empty(bucket) is False  # already gone: not an error


def test_s3_checks_the_upload_against_the_digest_lambda_will_report(aws_calls) -> None:
    # S3 computes the SHA-256 of what it received and refuses the object if it differs (BadDigest; the local AWS
    # does too: shopctl.local.strict). Sent as a header, the digest also spares the SDK its chunked encoding.
    data = _package("v1")
    artifacts.upload("shop-clean", data)
    (sent,) = aws_calls.params("s3", "PutObject")
    assert sent["ChecksumSHA256"] == artifacts.code_sha256(data)
