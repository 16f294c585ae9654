"""Fixtures shared by every test tier of every stage.

One local AWS (moto server) per test session, as the apps will see it in `make run`: a real HTTP
endpoint reached through AWS_ENDPOINT_URL. Each test gets its own tables, so tests never share data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shopctl.aws import clients
from shopctl.aws.resources import TableNames, ensure_tables
from shopctl.local import localaws, moto_server

# The tests make many boto3 sessions (one per moto account, per private local AWS…), and each new session
# parses the AWS SDK's service models from disk again: several seconds of CPU per suite.
clients.one_sdk_loader()
# …and nbformat, the OpenAPI validators and moto import jsonschema, whose optional IRI checker builds its
# grammars on import: 2 s of CPU per pytest process, for a format nothing here uses (shopctl.local.moto_server).
moto_server.no_iri_grammars()


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localaws.LocalAws]:
    """A moto server for the whole session; the process environment points boto3 at it."""
    with localaws.private_local_aws(tmp_path_factory.mktemp("run")) as aws:
        yield aws


@pytest.fixture
def tables(local_aws: localaws.LocalAws) -> TableNames:
    """A fresh pair of users/orders tables in the local AWS, unique to this test."""
    names = TableNames.for_deployment(f"test-{uuid.uuid4().hex[:10]}")
    ensure_tables(names)
    return names


@pytest.fixture(scope="session")
def quick_compare(local_aws: localaws.LocalAws, tmp_path_factory: pytest.TempPathFactory):
    """One reduced `make compare` run per session (`make compare QUICK=1`), shared by the report's tests and by
    notebook 05, which shows the latest report — it measures cold starts, so it runs once, not twice."""
    from shopctl.compare import cli as compare_cli

    out = tmp_path_factory.mktemp("compare")
    return compare_cli.run(compare_cli.Options.quick_run(out=out), aws=local_aws), out
