"""How a deployment names what it makes, the same on every target: resources, local ports, table settings."""

from __future__ import annotations

from shopctl.aws import resources
from shopctl.stages import Service, Stage

# Stable local base URLs, so a learner can keep a browser tab open across re-deploys: each target has a
# port base (its PORT_BASE: 91xx Lambda, 92xx ECS, 93xx EKS), each stage an offset (xx01 monolith, …).
STAGE_PORT_OFFSET = {"monolith": 1, "microservices": 2, "clean": 3}
CONTAINER_PORT = 8080  # what the stage's image listens on (deployment/Dockerfile), on every target


def default_port(port_base: int, stage: str) -> int:
    return port_base + STAGE_PORT_OFFSET[stage]


def deployment_name(stage: Stage, target: str) -> str:
    """`<stage>-<target>`: the name of a deployment's state record, its tags and its local processes."""
    return f"{stage.name}-{target}"


def resource_name(stage: Stage, service: Service) -> str:
    """`shop-<stage>` for one-service stages, `shop-<stage>-<service>` otherwise (functions, task
    families, Kubernetes Deployments all use it)."""
    return f"shop-{stage.name}" if len(stage.app_services()) == 1 else f"shop-{stage.name}-{service.name}"


def table_env(service: Service, tables: resources.TableNames) -> dict[str, str]:
    """The environment variables that give a service its tables (RUNTIME=LAMBDA reads them)."""
    settings = tables.settings()
    return {resources.env_name(key): settings[key] for key in service.settings}


def table_kinds(service: Service, tables: resources.TableNames) -> dict[str, str]:
    """The tables a service uses, by kind ("users", "orders"): what its role's policy names."""
    settings = tables.settings()
    return {key.split("/")[0]: settings[key] for key in service.settings}


def container_command(service: Service) -> list[str]:
    """What a service's container runs (the ECS task definition's and the Kubernetes Deployment's command,
    and the Lambda image function's, behind the Web Adapter): the same image, the same command."""
    return ["python", "-m", "uvicorn", service.asgi, "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
