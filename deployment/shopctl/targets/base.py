"""What a deployment target is: the names each target module provides (`Target`), so a fourth target knows
what to write, and every caller — the CLI, serving, `make deploy-all`, status and destroy — asks the target
instead of branching on its name. The modules are listed once, in `registry.TARGETS`.

Every method takes the `Stage` (`shopctl.stages.get_stage` turns a name into one, at the edge).
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol, runtime_checkable

from shopctl.aws.prices import Billed
from shopctl.aws.resources import TableNames
from shopctl.aws.state import DeploymentState
from shopctl.stages import Stage


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

    TARGET: str  # TARGET= on the command line: "lambda" | "ecs" | "eks"
    LABEL: str  # as people write it: "Lambda"
    PORT_BASE: int  # local base URLs: PORT_BASE + the stage's offset (shopctl.targets.naming)
    Options: Any  # the target's frozen dataclass of options, a TargetOptions

    def add_arguments(self, group: Any) -> None:
        """The command-line flags only this target reads: `group.add_argument(...)` as argparse's (the CLI shows
        them under the target's name)."""
        ...

    def options(self, args: argparse.Namespace) -> Any:
        """Its Options from the parsed command line; a combination the target refuses stops here, with one
        line and a hint, before credentials are asked for."""
        ...

    def deployment_name(self, stage: Stage) -> str:
        """`<stage>-<target>`: the name of its state record, its tags and its local processes."""
        ...

    def plan(self, stage: Stage, options: Any) -> list[str]:
        """What deploy will create, one line each (shown before anything is created in an AWS account)."""
        ...

    def costs(self, stage: Stage, options: Any) -> list[Billed]:
        """What the deployment bills while it runs, item by item (`shopctl.aws.prices`): shown with the plan."""
        ...

    def warnings(self, options: Any) -> list[str]:
        """What to say before deploying with these options to an AWS account (e.g. a public URL)."""
        ...

    def deploy(self, stage: Stage, options: Any) -> DeploymentState:
        """Create or update everything, wait until it serves, record it, return the record."""
        ...

    def hints(self, stage: Stage, deployment: DeploymentState) -> list[str]:
        """What to try next, printed after a local deploy."""
        ...

    def destroy_confirmations(self, stage: Stage, options: Any) -> list[str]:
        """What a destroy with these options deletes beyond the deployment (confirmed on AWS first)."""
        ...

    def teardown_options(self, env: str) -> Any:
        """Options that remove everything deploy may have made (`make destroy-all`)."""
        ...

    def destroy(self, stage: Stage, options: Any, *, keep_data: bool = True) -> list[str]:
        """Remove what deploy created, in dependency order; returns what was removed. The stage's image
        repository is shared between targets: `registry.destroy` releases it."""
        ...

    def exists(self, stage: Stage) -> bool:
        """Is the stage deployed on this target — by its state record *or* by what AWS holds, so a lost state
        file (another machine's deploy, a deleted `.run/`) does not make a billed deployment look gone."""
        ...

    def uses_image(self, stage: Stage) -> bool:
        """Does a deployment of the stage on this target run the stage's container image (so its ECR
        repository must stay)? By its state record or by what AWS holds."""
        ...

    def describe(self, stage: Stage) -> dict[str, Any]:
        """What AWS reports about the deployment (the payloads as returned, made JSON-safe)."""
        ...
