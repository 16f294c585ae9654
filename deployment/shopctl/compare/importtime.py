"""The import-time breakdown: `python -X importtime` of each Lambda handler inside its plain package, as the
local Lambda imports it, summed per top-level package."""


import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from shopctl.aws import clients
from shopctl.aws.resources import TableNames
from shopctl.compare.floor import floor_package
from shopctl.errors import ShopctlError
from shopctl.lambda_local.function import extract
from shopctl.local import localaws
from shopctl.package import Package, Platform, build, build_root
from shopctl.stages import STAGES
from shopctl.targets import lambda_target, naming

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def parse_importtime(stderr: str) -> dict[str, float]:
    """Self time (ms) per top-level package from `-X importtime` output."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            top = match[4].split(".")[0]
            totals[top] = totals.get(top, 0.0) + int(match[1]) / 1000
    return totals


def unzipped(package: Package) -> Path:
    """The package unzipped, as the local Lambda lays out a task root (cached by content, like the builds)."""
    digest = hashlib.sha256(package.data).hexdigest()[:16]
    return extract(package.data, build_root() / "unzipped" / f"{package.path.stem}-{digest}")


def import_breakdown(package: Package, module: str, env: dict[str, str], *, top: int = 8) -> dict:
    root = unzipped(package)
    code = f"import sys; sys.path[:0] = [{str(root)!r}]; import {module}"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", code],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise ShopctlError(f"importing {module} from {package.path.name} failed", result.stderr.strip()[-300:])
    totals = parse_importtime(result.stderr)
    total = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return {
        "module": module,
        "total_ms": round(total, 1),
        "top": [
            {
                "package": name,
                "self_ms": round(ms, 1),
                "share": round(ms / total, 3) if total else 0.0,
                "stdlib": name in sys.stdlib_module_names,
            }
            for name, ms in ranked[:top]
        ],
    }


def lambda_env(aws_environ: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
    return {**aws_environ, "RUNTIME": "LAMBDA", "PATH": os.environ.get("PATH", ""), **variables}


def offline_environ() -> dict[str, str]:
    """ENV=aws: importing a handler must not reach the account (no stage calls AWS at import; if one
    started to, it would fail here instead of touching real resources)."""
    region = clients.region() or localaws.REGION
    return {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_DEFAULT_REGION": region,
    }


def import_times(
    stages: list[str], aws_environ: dict[str, str], say: Callable[[str], None], *, floor: bool = True
) -> dict:
    platform = Platform.local()
    out = {}
    tables = TableNames.for_deployment("importtime")
    say("… import-time breakdown of each handler in its plain package (-X importtime)")
    if floor:
        out["floor"] = import_breakdown(
            floor_package(platform, optimize=False),
            "floor_app.main",
            lambda_env(aws_environ, {"USERS_TABLE": tables.users}),
        )
    for stage_name in stages:
        stage = STAGES[stage_name]
        for service in lambda_target.lambda_services(stage):
            package = build(stage, service, platform, quiet=True)
            module = service.handler.rsplit(".", 1)[0]
            variables = naming.table_env(service, tables)
            variables.update({f"{up.upper()}_SERVICE_URL": "http://127.0.0.1:9" for up in service.upstreams})
            label = stage.name if len(stage.app_services()) == 1 else f"{stage.name}/{service.name}"
            out[label] = import_breakdown(package, module, lambda_env(aws_environ, variables))
    return out


