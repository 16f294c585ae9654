"""The Lambda subjects: the stages deployed in one of the four modes as `make deploy TARGET=lambda` does,
and their cold starts forced round by round (the floor's own function is in floor.py)."""


from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shopctl import fleet
from shopctl.compare.figures import percentile, rotated, summary
from shopctl.errors import ShopctlError
from shopctl.package import Package, build
from shopctl.stages import Service, get_stage
from shopctl.targets import coldstart, lambda_target, naming

# The Lambda modes, in the order they are measured. The JSON key stays "variant" (reports written before
# SnapStart and the image existed still render).
MODES = ("plain", "optimized", "snapstart", "image")
ZIP_MODES = ("plain", "optimized")
# ENV=aws: the floor has no container image in ECR, so the image mode is measured on the local Lambda only
# (a stage's image on AWS: `make deploy … PACKAGE=image ENV=aws`, then `make coldstart … ENV=aws`).
AWS_MODES = (*ZIP_MODES, "snapstart")


def request_path(service: Service) -> str:
    """The first request: one that reads the database (the orders-service lists orders, the rest users)."""
    return "/orders?limit=1" if service.name == "orders" else "/users?limit=1"


def package_facts(package: Package) -> dict[str, Any]:
    return {
        "zipped_mb": round(package.zipped_bytes / 1e6, 2),
        "unzipped_mb": round(package.unzipped_bytes / 1e6, 2),
        "files": package.files,
    }


# --- Lambda --------------------------------------------------------------------------------------------------


@dataclass
class LambdaSubject:
    """One function to force cold starts of, and what was seen so far."""

    label: str
    function: str
    url: str
    path: str
    facts: dict[str, Any]
    auth: str = "NONE"  # the Function URL's AuthType: AWS_IAM ones get signed requests
    mode: str = "plain"
    rows: list[coldstart.Row] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        warm_ms = [ms for row in self.rows for ms in row.warm_ms]
        return {
            **self.facts,
            "cold_starts_seen": sum(1 for r in self.rows if r.init_ms is not None or r.restore_ms is not None),
            "init_ms": summary([r.init_ms for r in self.rows if r.init_ms is not None]),
            "restore_ms": summary([r.restore_ms for r in self.rows if r.restore_ms is not None]),
            "cold_request_ms": summary([r.first_request_ms for r in self.rows]),
            "cold_duration_ms": summary([r.cold_duration_ms for r in self.rows if r.cold_duration_ms is not None]),
            "warm_ms": summary(warm_ms),
            "warm_p50_ms": round(percentile(warm_ms, 50), 2) if warm_ms else None,
            "warm_p99_ms": round(percentile(warm_ms, 99), 2) if warm_ms else None,
        }


def mode_options(
    mode: str, *, env: str = "local", port: int | None = None, python: str = lambda_target.Options.python
) -> lambda_target.Options:
    """What `make deploy TARGET=lambda` gets for a mode: OPTIMIZE=1, SNAPSTART=1 or PACKAGE=image."""
    return lambda_target.Options(
        env=env,
        port=port,
        python=python,
        quiet=True,
        optimize=mode == "optimized",
        snapstart=mode == "snapstart",
        package="image" if mode == "image" else "zip",
    )


def round_robin_lambda(subjects: list[LambdaSubject], *, n: int, warm: int, say: Callable[[str], None]) -> None:
    """Run i of every subject before run i+1 of any: a machine that gets busier mid-run slows all alike,
    so the ratios to the floor hold even when the absolute times drift; the order changes each round."""
    for i in range(1, n + 1):
        for subject in rotated(subjects, i - 1):
            [row] = coldstart.measure(
                subject.function,
                subject.url,
                runs=1,
                warm=warm,
                path=subject.path,
                auth_type=subject.auth,
                quiet=True,
                snapstart=subject.mode == "snapstart",  # a restore: timed once the new snapshot is ready
            )
            subject.rows.append(row)
            if row.restore_ms is not None:
                init = f"restore {row.restore_ms:.0f} ms"
            else:
                init = f"init {row.init_ms:.0f} ms" if row.init_ms is not None else "init — (no cold start seen)"
            say(f"    run {i}/{n} {subject.label}: {init}, cold request {row.first_request_ms:.0f} ms")


def health(url: str, auth: str, function: str, *, hint: str = "see its CloudWatch Logs", tries: int = 3) -> None:
    """Untimed GET /health (signed for AWS_IAM) until the function serves, before any timing starts. On a busy
    machine the first INIT after a deploy can run past Lambda's init limit and answer 5xx; the next request
    gets a fresh environment, as on AWS. A 4xx, or 5xx `tries` times, is one line."""
    for attempt in range(1, tries + 1):
        status, _ = coldstart.invoke_url(f"{url}/health", auth_type=auth)
        if status == 200:
            return
        if status < 500 or attempt == tries:
            raise ShopctlError(f"{function} answered GET /health with {status}", hint)


def deploy_stage_lambda(
    stage_name: str, variant: str, options: lambda_target.Options, say: Callable[[str], None]
) -> list[LambdaSubject]:
    """Deploy the stage as `make deploy TARGET=lambda [OPTIMIZE=1|SNAPSTART=1|PACKAGE=image] [ENV=aws]` does,
    check it serves."""
    stage = get_stage(stage_name)
    where = "AWS Lambda" if options.env == "aws" else "the local Lambda"
    say(f"… deploying {stage.name} to {where} ({MODE_NAMES.get(variant, variant)})")
    deployment = lambda_target.deploy(stage, options)
    urls = deployment.resources.service_urls
    if options.env == "aws":
        # On AWS the microservices have one URL per function (no gateway), and the URLs want signed requests.
        for service in lambda_target.lambda_services(stage):
            health(urls[service.name], options.auth_type, lambda_target.function_name(stage, service))
        ok, detail = True, "GET /health answered 200 on every function (signed)"
    else:
        # The first request after a deploy has the local Lambda fetch and unzip the new code, which no measured
        # cold start should include; on a busy machine its INIT can also run past the limit (retried, as above).
        health(deployment.url, options.auth_type, stage.name, hint="make status shows its logs")
        # The deployment must still serve the contract: the talk's flow.
        flow = fleet.talk_flow(deployment.url)
        ok, detail = flow.ok, flow.detail
    say(f"  {'✓' if ok else '✗'} {stage.name} ({variant}) serves: {detail}")
    subjects = []
    for service in lambda_target.lambda_services(stage):
        function = lambda_target.function_name(stage, service)
        facts: dict[str, Any] = {
            "stage": stage.name,
            "service": service.name,
            "function": function,
            "variant": variant,
            "path": request_path(service),
            "flow_ok": ok,
            "flow": detail,
        }
        if options.package == "image":
            facts["package"] = None  # the stage's container image: no ZIP to size
            facts["image_command"] = naming.container_command(service)
        else:
            package = build(stage, service, options.platform(), quiet=True, optimize=options.optimize)
            facts["package"] = package_facts(package)
        subjects.append(
            LambdaSubject(
                f"{function} ({variant})",
                function,
                urls[service.name].rstrip("/"),
                request_path(service),
                facts,
                options.auth_type,
                variant,
            )
        )
    return subjects


MODE_NAMES = {
    "plain": "plain ZIP",
    "optimized": "OPTIMIZE=1 ZIP",
    "snapstart": "SNAPSTART=1, plain ZIP",
    "image": "PACKAGE=image, Lambda Web Adapter",
}


def needs_fresh_deploy(previous: str | None, mode: str) -> bool:
    """A running local Lambda keeps its settings (SnapStart) across deploys, and Lambda cannot
    change a function's package type: moving into or out of those modes starts from a destroyed stage."""
    special = ("snapstart", "image")
    return previous is not None and previous != mode and (previous in special or mode in special)


