"""Proof that the core does not need the AWS SDK.

In-process we cannot tell (the root conftest already imported boto3 for the integration tier), so a
fresh interpreter composes the app with in-memory storage, serves a request, and reports whether
boto3 or botocore were ever imported. If someone adds `import boto3` to the domain, the use cases,
the HTTP layer or the top of bootstrap.py, this fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("ignore")
    import clean_shop.domain.model, clean_shop.application.use_cases
    import clean_shop.adapters.memory_repository, clean_shop.adapters.config
    from clean_shop.bootstrap import bootstrap
    from clean_shop.entrypoints.http import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app(bootstrap({"RUNTIME": "LAMBDA", "STORAGE": "memory"})))
    assert client.post("/users", json={"name": "Ada", "email": "ada@example.com"}).status_code == 201
    print(sorted(name for name in ("boto3", "botocore") if name in sys.modules))
    """
)


def test_the_app_runs_on_in_memory_storage_without_importing_boto3() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
