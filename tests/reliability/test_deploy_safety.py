"""Deploy safety, reduced to the clean stage on local EKS (the cheapest target to start; `make verify`
runs all nine): deploy twice changes nothing, data is kept, Ctrl-C mid-deploy then deploy again
converges, destroy leaves nothing behind. The Lambda- and ECS-specific findings of this check (Function
URL statements, SSM parameter versions) have fast regressions in deployment/tests."""

from __future__ import annotations

import pytest

from shopctl.verify import deploy_safety


@pytest.mark.e2e
def test_clean_stage_on_eks_deploys_idempotently_and_cleans_up(local_aws) -> None:
    (result,) = deploy_safety.run("clean", "eks", reduced=True)
    assert result.ok, result.failures
    assert result.figures["interrupted"] == 1, result.notes  # the Ctrl-C really hit a running deploy
    assert result.figures["resources"] >= 6  # tables, IRSA role, image repository, manifests, processes
    assert deploy_safety.describe("clean", "eks") == {}
    assert deploy_safety.stray_processes("clean-eks") == []


def test_differences_name_what_changed() -> None:
    before = {"function f": {"configuration": {"CodeSha256": "a", "MemorySize": 512}}, "role r": {}}
    after = {"function f": {"configuration": {"CodeSha256": "b", "MemorySize": 512}}, "log group g": {}}
    assert deploy_safety.differences(before, after) == [
        'function f.configuration.CodeSha256: "a" -> "b"',
        "log group g: appeared",
        "role r: disappeared",
    ]
    assert deploy_safety.differences(before, before) == []


def test_normalise_drops_ids_timestamps_revisions_and_ports_only() -> None:
    first = {"RoleId": "AROA1", "Role": "arn:aws:ecs:r:1:task-definition/shop-clean:1", "url": "x", "Memory": 512,
             "env": "http://127.0.0.1:4100/users"}  # fmt: skip
    again = {"RoleId": "AROA2", "Role": "arn:aws:ecs:r:1:task-definition/shop-clean:3", "url": "y", "Memory": 512,
             "env": "http://127.0.0.1:5200/users"}  # fmt: skip
    assert deploy_safety.normalise(first) == deploy_safety.normalise(again)
    assert deploy_safety.normalise(first) != deploy_safety.normalise({**again, "Memory": 1024})


def test_a_leftover_process_of_the_deployment_is_found(local_aws) -> None:
    """What 'no process left on the machine' relies on: a process started for this deployment (its run
    folder on the command line, this run's SHOP_RUN_DIR) is found even though no state file records it."""
    import os
    import subprocess
    import sys
    import time

    from shopctl.local.deployment import manifest_dir
    from shopctl.local.localaws import terminate

    marker = str(manifest_dir("clean-eks") / "spec.json")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", marker], env=dict(os.environ), start_new_session=True
    )
    try:
        deadline = time.monotonic() + 5  # polled: a snapshot of /proc taken on a busy machine may miss it
        while True:
            found = deploy_safety.stray_processes("clean-eks")
            if any(line.startswith(f"pid {proc.pid}:") for line in found):
                break
            assert time.monotonic() < deadline, f"pid {proc.pid} not among {found}"
            time.sleep(0.1)
        assert deploy_safety.stray_processes("monolith-eks") == []
    finally:
        terminate(proc.pid)
    assert deploy_safety.stray_processes("clean-eks") == []
