"""The three stages as the operations code sees them: which processes make up a deployment, what each
one reads, and where its Lambda handler is. Names follow docs/contract.md."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
    name: str
    asgi: str  # "module:attribute" served by uvicorn
    handler: str | None  # "module.attribute" Lambda handler (Mangum), if any
    settings: tuple[str, ...] = ()  # configuration keys it reads through RUNTIME
    upstreams: tuple[str, ...] = ()  # other services of the stage it calls (env <NAME>_SERVICE_URL)
    packages: tuple[str, ...] = ()  # the stage code it needs (what goes into its Lambda package)
    requirements: tuple[str, ...] = ()  # third-party distributions it imports at run time


@dataclass(frozen=True)
class Stage:
    name: str
    packages: tuple[str, ...]  # top-level import names of the stage's code
    services: tuple[Service, ...]
    entry: str  # the service that is the stage's one base URL
    description: str = field(default="", compare=False)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def app_services(self) -> list[Service]:
        """The services that hold the shop's code (the microservices' gateway only routes)."""
        return [s for s in self.services if s.settings]


TABLE_SETTINGS = ("users/table", "orders/table")
# What a Lambda package needs. boto3 is bundled although the Lambda runtime ships one: AWS recommends
# pinning your own SDK version, and it keeps local and AWS packages identical.
# snapshot-restore-py: the SnapStart runtime hooks of the Lambda entrypoints (the managed runtime has it too).
LAMBDA_REQUIREMENTS = ("fastapi", "fastapi-offline", "mangum", "boto3", "snapshot-restore-py")

STAGES: dict[str, Stage] = {
    "monolith": Stage(
        name="monolith",
        packages=("monolith",),
        services=(
            Service(
                "app",
                "monolith.main:app",
                "monolith.main.handler",
                TABLE_SETTINGS,
                packages=("monolith",),
                requirements=LAMBDA_REQUIREMENTS,
            ),
        ),
        entry="app",
        description="one FastAPI app; logic, boto3 and runtime config lookup in the same functions",
    ),
    "microservices": Stage(
        name="microservices",
        packages=("users_service", "orders_service", "gateway"),
        services=(
            Service(
                "users",
                "users_service.main:app",
                "users_service.main.handler",
                ("users/table",),
                packages=("users_service",),
                requirements=LAMBDA_REQUIREMENTS,
            ),
            Service(
                "orders",
                "orders_service.main:app",
                "orders_service.main.handler",
                ("orders/table",),
                upstreams=("users",),
                packages=("orders_service",),
                requirements=(*LAMBDA_REQUIREMENTS, "httpx"),
            ),
            # Locally the gateway gives the stage one base URL; on AWS an ALB / API gateway does it.
            Service(
                "gateway",
                "gateway.main:app",
                None,
                upstreams=("users", "orders"),
                packages=("gateway",),
                requirements=("fastapi", "fastapi-offline", "httpx"),
            ),
        ),
        entry="gateway",
        description="users-service + orders-service over HTTP, each still welded to its infrastructure",
    ),
    "clean": Stage(
        name="clean",
        packages=("clean_shop",),
        services=(
            Service(
                "app",
                "clean_shop.entrypoints.server:app",
                "clean_shop.entrypoints.lambda_handler.handler",
                TABLE_SETTINGS,
                packages=("clean_shop",),
                requirements=LAMBDA_REQUIREMENTS,
            ),
        ),
        entry="app",
        description="domain → application (ports, use cases) → adapters, wired once by bootstrap",
    ),
}


def get_stage(name: str) -> Stage:
    from shopctl.errors import ShopctlError

    try:
        return STAGES[name]
    except KeyError:
        raise ShopctlError(f"unknown STAGE {name!r}", f"use one of: {', '.join(STAGES)}") from None
