"""After the exercises, `make test` fails only where a learner's own change breaks the shared contract — and
says so here in one line per exercise.

For each exercise whose own part of the working tree differs from HEAD, its part alone (on a copy of HEAD,
as its check sees it) must leave the three stages serving the same operations. cancel-order is meant not to:
its task says so, and tests/contract names the same difference. Untouched exercises are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopctl.workshop import exercises, regions

# What each stage's apps serve: "METHOD path" per operation (the gateway only routes: it is left out).
OPERATIONS = """
import importlib, json, sys
from shopctl.stages import STAGES
served = {}
for stage in STAGES.values():
    ops = set()
    for service in stage.app_services():
        module, attribute = service.asgi.split(":")
        app = getattr(importlib.import_module(module), attribute)
        ops |= {f"{m.upper()} {p}" for p, item in app.openapi()["paths"].items() for m in item}
    served[stage.name] = sorted(ops)
print(json.dumps(served))
"""


def operations(root: Path) -> dict[str, set[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "SHOP_RUN_DIR")}
    env |= {"RUNTIME": "LAMBDA", "USERS_TABLE": "u", "ORDERS_TABLE": "o", "AWS_DEFAULT_REGION": "us-east-1"}
    env["USERS_SERVICE_URL"] = "http://127.0.0.1:9"  # the orders-service insists on one; nothing is called
    env["PYTHONPATH"] = os.pathsep.join(str(root / d) for d in exercises.SOURCE_DIRS)
    done = subprocess.run([sys.executable, "-c", OPERATIONS], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {stage: set(ops) for stage, ops in json.loads(done.stdout).items()}


def contract_differences(served: dict[str, set[str]]) -> list[str]:
    """One phrase per operation not every stage serves: 'monolith alone serves POST /x'."""
    every = set.intersection(*served.values())
    count = {op: sum(op in ops for ops in served.values()) for op in set.union(*served.values())}
    return [
        f"{', '.join(stage for stage in served if op in served[stage])} alone serve{'s' if n == 1 else ''} {op}"
        for op in sorted(set.union(*served.values()) - every)
        for n in [count[op]]
    ]


def test_a_difference_in_what_the_stages_serve_is_named_per_operation() -> None:
    served = {"monolith": {"GET /users", "POST /orders/{order_id}/cancel"}, "microservices": {"GET /users"}}
    assert contract_differences(served) == ["monolith alone serves POST /orders/{order_id}/cancel"]
    assert contract_differences({"monolith": {"GET /users"}, "clean": {"GET /users"}}) == []


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_your_exercise_keeps_the_contract_the_three_stages_share(exercise: exercises.Exercise) -> None:
    tree = exercises.parts()
    if not tree.started(exercise.name):
        pytest.skip(f"{exercise.name}: todo (its part is as HEAD has it)")
    with regions.isolated_copy(tree, exercise.name) as copy:
        differing = contract_differences(operations(copy))
    assert not differing, (
        f"{exercise.name}: your change breaks the contract the three stages share — {'; '.join(differing)} "
        f"(tests/contract fails for the same reason; exercises/{exercise.name}/task.md says why)"
    )
