"""Waiting for ECS services to run a new revision on all their tasks, as `aws ecs wait services-stable` does,
with progress lines, and with the reason of the last stopped task when the circuit breaker rolls back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shopctl.aws import clients
from shopctl.errors import ShopctlError
from shopctl.targets.ecs_cluster import CLUSTER

STABLE_TIMEOUT_SECONDS = 15 * 60  # a Fargate rollout with the circuit breaker settles well within this
POLL_SECONDS = 15.0


@dataclass(frozen=True)
class ServiceRollout:
    """One ECS service's rollout as DescribeServices reports it."""

    name: str
    running: int
    desired: int
    deployments: int
    failed: bool  # the circuit breaker stopped the wanted revision (and rolled back)
    reason: str  # the rollout state's reason, as ECS words it

    @property
    def stable(self) -> bool:
        # what `aws ecs wait services-stable` checks: one deployment left, and it runs the desired count
        return not self.failed and self.deployments == 1 and self.running == self.desired

    def line(self) -> str:
        return f"{self.name}: {self.running}/{self.desired} tasks running, {self.deployments} deployment(s)"


def _rollout(service: dict[str, Any], wanted_revision: str) -> ServiceRollout:
    deployments = service.get("deployments", [])
    wanted = [d for d in deployments if d.get("taskDefinition") == wanted_revision]
    failed = any(d.get("rolloutState") == "FAILED" for d in wanted) or (
        # rolled back: the service runs an older revision again, the wanted one is gone
        bool(deployments) and not wanted and service.get("taskDefinition") != wanted_revision
    )
    reason = next((d.get("rolloutStateReason", "") for d in wanted), "")
    return ServiceRollout(
        name=service["serviceName"],
        running=service.get("runningCount", 0),
        desired=service.get("desiredCount", 0),
        deployments=len(deployments),
        failed=failed,
        reason=reason,
    )


def last_stopped_reason(service: str) -> str:
    """Why the service's most recently stopped task stopped (ECS keeps stopped tasks for about an hour)."""
    ecs = clients.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    if not arns:
        return "no stopped task recorded"
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns[:100])["tasks"]
    latest = max(tasks, key=lambda t: str(t.get("stoppedAt", "")))
    containers = "; ".join(c["reason"] for c in latest.get("containers", []) if c.get("reason"))
    return latest.get("stoppedReason", "unknown") + (f" ({containers})" if containers else "")


def wait_stable(
    revisions: dict[str, str],
    say,
    *,
    timeout: float | None = None,
    poll: float | None = None,
    sleep=time.sleep,
    clock=time.monotonic,
) -> None:
    """Wait until every service (name -> the task definition just deployed) runs its new revision on all
    its tasks, as `aws ecs wait services-stable` does, printing progress. One line naming the service and
    its last stopped task's reason if the circuit breaker rolled the revision back or `timeout` passes."""
    timeout = STABLE_TIMEOUT_SECONDS if timeout is None else timeout
    poll = POLL_SECONDS if poll is None else poll
    ecs = clients.client("ecs")
    deadline = clock() + timeout
    hint = "its task logs: aws logs tail /ecs/<family> --follow; aws ecs describe-services --cluster " + CLUSTER
    while True:
        described = ecs.describe_services(cluster=CLUSTER, services=list(revisions))["services"]
        rollouts = [_rollout(service, revisions[service["serviceName"]]) for service in described]
        for rollout in rollouts:
            if rollout.failed:
                raise ShopctlError(
                    f"the new revision of {rollout.name} never became healthy and ECS rolled it back "
                    f"({rollout.reason or 'circuit breaker'}); last stopped task: {last_stopped_reason(rollout.name)}",
                    hint,
                )
        waiting = [r for r in rollouts if not r.stable]
        if not waiting:
            say(f"✓ services stable: {', '.join(r.name for r in rollouts)}")
            return
        if clock() >= deadline:
            worst = waiting[0]
            raise ShopctlError(
                f"{worst.name} did not become stable within {timeout:.0f}s ({worst.line()}); "
                f"last stopped task: {last_stopped_reason(worst.name)}",
                hint,
            )
        say("  … " + "; ".join(r.line() for r in waiting))
        sleep(poll)
