"""What a deployment target is, and the one registry of them.

Each target is a module — `lambda_target`, `ecs_target`, `eks_target` — that provides the same few names;
`Target` spells them out, so a fourth target knows what to write and every caller (the CLI, `make
deploy-all`, the contract suite, `make verify`) finds the targets in one place: `TARGETS`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from shopctl.aws.resources import TableNames
from shopctl.aws.state import DeploymentState
from shopctl.errors import ShopctlError
from shopctl.stages import Stage
from shopctl.targets import ecs_target, eks_target, lambda_target


class TargetOptions(Protocol):
    """The options every target's `Options` has (each adds its own: auth, replicas, cluster name, …)."""

    @property
    def env(self) -> str: ...  # "local" | "aws"

    @property
    def port(self) -> int | None: ...  # the local base URL's port (None: the target's default)

    @property
    def quiet(self) -> bool: ...

    @property
    def tables(self) -> TableNames | None: ...  # share tables with another deployment (the mixed one)


@runtime_checkable
class Target(Protocol):
    """A deployment target: a module with these names (a module satisfies a Protocol like a class does)."""

    TARGET: str  # "lambda" | "ecs" | "eks": TARGET= on the command line
    Options: Any  # the target's frozen dataclass of options, a TargetOptions

    def deployment_name(self, stage: str) -> str:
        """`<stage>-<target>`: the name of its state record, its tags and its local processes."""
        ...

    def plan(self, stage: Stage, options: Any) -> list[str]:
        """What deploy will create, one line each (shown before anything is created in an AWS account)."""
        ...

    def deploy(self, stage_name: str, options: Any) -> DeploymentState:
        """Create or update everything, wait until it serves, record it, return the record."""
        ...

    def destroy(self, stage_name: str, options: Any, *, keep_data: bool = True) -> list[str]:
        """Remove what deploy created, in dependency order; returns what was removed."""
        ...

    def describe(self, stage_name: str) -> dict[str, Any]:
        """What AWS reports about the deployment (the payloads as returned, made JSON-safe)."""
        ...


# The registry: the one place that lists the targets (in the order the menus show them).
TARGETS: dict[str, Target] = {module.TARGET: module for module in (lambda_target, ecs_target, eks_target)}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ShopctlError(f"unknown target {name!r}", f"TARGET is one of: {', '.join(TARGETS)}") from None
