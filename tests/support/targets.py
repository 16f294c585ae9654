"""Which stage/target pairs the suites under tests/ serve, and which of them this pytest process runs.

`make test` runs pytest processes side by side (tests/run_suites.py), each told by SHOP_CONTRACT_TARGETS
which targets it serves ("local" in one, "lambda,ecs,eks" in another): every pair is served in one
process only, and every test that needs that pair runs there, on the same deployment. With SHOP_CONTRACT_URL
set (the URL mode, tests/support/url_mode.py) the one deployment is the shop at that URL, made by someone else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import ExitStack

import pytest

from shopctl.local import localaws
from shopctl.serving import DEPLOY_TARGETS, Deployed, serve
from shopctl.stages import STAGES
from tests.support import url_mode

Pair = tuple[str, str]  # (stage, target)

ONLY = {t for t in os.environ.get("SHOP_CONTRACT_TARGETS", "").split(",") if t}


def selected(pairs: Iterable[Pair]) -> list[pytest.ParameterSet]:
    """`pairs` as pytest params (deployed targets marked e2e), less those this process does not serve."""
    return [
        pytest.param((stage, target), id=stage if target == "local" else f"{stage}-{target}",
                     marks=() if target == "local" else pytest.mark.e2e)
        for stage, target in pairs
        if not ONLY or target in ONLY
    ]


# The clean stage on Lambda in the two other modes: SnapStart (every cold start a restore of the snapshot),
# and the container image ECS and EKS run, behind the Lambda Web Adapter.
VARIANTS = [
    pytest.param(("clean", "lambda", mode), id=f"clean-lambda-{mode}", marks=pytest.mark.e2e)
    for mode in ("snapstart", "image")
    if not ONLY or "lambda" in ONLY
]
ALL_PAIRS: list[Pair] = [(stage, "local") for stage in STAGES] + [
    (stage, target) for target in DEPLOY_TARGETS for stage in STAGES
]
# The variants go right after the plain Lambda targets, not last: the last deployment stays up until the
# session ends, and the mixed deployment (tests/e2e) reuses the clean stage's Lambda function name.
TARGETS = selected(ALL_PAIRS[: len(STAGES) * 2]) + VARIANTS + selected(ALL_PAIRS[len(STAGES) * 2 :])
if url_mode.active():
    try:
        _at = url_mode.from_environ()
        TARGETS = [pytest.param((_at.stage, _at.target, "url"), id=f"{_at.stage}-{_at.target}-url")]
    except url_mode.Refused:  # pytest_configure (tests/conftest.py) says what is wrong, in one line
        TARGETS = []


class LocalStages:
    """The stages as `make run` serves them, each started on first use and kept until the session ends
    (a few idle processes): the contract suite and the side-by-side tests need them at different times."""

    def __init__(self, aws: localaws.LocalAws, stack: ExitStack, factory: pytest.TempPathFactory) -> None:
        self._aws, self._stack, self._factory = aws, stack, factory
        self._served: dict[str, Deployed] = {}

    def __getitem__(self, stage: str) -> Deployed:
        if stage not in self._served:
            logs = self._factory.mktemp(f"logs-{stage}-local")
            self._served[stage] = self._stack.enter_context(serve(stage, "local", self._aws, logs=logs))
        return self._served[stage]
