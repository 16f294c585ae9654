"""Many deployments at once: `make deploy-all` (3 stages x 3 targets side by side), `make destroy-all`,
and the talk's mixed deployment (`make deploy-mixed`): the clean stage on EKS *and* on Lambda over the
same tables — a user created through the EKS URL, an order for that user through the Lambda URL."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import httpx

from shopctl import httpclient
from shopctl.aws import prices, resources, state
from shopctl.stages import STAGES, Stage, get_stage
from shopctl.targets import eks_cluster, eks_target, lambda_target, registry
from shopctl.targets.base import Target
from shopctl.targets.registry import TARGETS

MIXED_TABLES = resources.TableNames.for_deployment("clean-mixed")


@dataclass(frozen=True)
class FlowResult:
    ok: bool
    detail: str


def talk_flow(users_url: str, orders_url: str | None = None, timeout: float = 30.0) -> FlowResult:
    """The talk's flow: create a user, order for them, an order for an unknown user is refused; read back
    both through the *other* URL too (in the mixed deployment the two are different platforms)."""
    orders_url = orders_url or users_url
    try:
        with httpclient.client(timeout=timeout) as client:
            email = f"flow-{uuid.uuid4().hex[:8]}@example.com"
            user = client.post(f"{users_url}/users", json={"name": "Werner", "email": email})
            if user.status_code != 201:
                return FlowResult(False, f"POST /users -> {user.status_code}")
            user_id = user.json()["id"]
            order = client.post(f"{orders_url}/orders", json={"user_id": user_id, "product": "Mug", "quantity": 2})
            if order.status_code != 201:
                return FlowResult(False, f"POST /orders -> {order.status_code}: {order.text[:80]}")
            ghost = client.post(
                f"{orders_url}/orders", json={"user_id": str(uuid.uuid4()), "product": "Mug", "quantity": 1}
            )
            if ghost.status_code != 404:
                return FlowResult(False, f"order for an unknown user -> {ghost.status_code}, expected 404")
            for base in {users_url, orders_url}:
                if client.get(f"{base}/users/{user_id}").status_code != 200:
                    return FlowResult(False, f"user not readable through {base}")
                if client.get(f"{base}/orders/{order.json()['id']}").status_code != 200:
                    return FlowResult(False, f"order not readable through {base}")
    except httpx.HTTPError as error:
        return FlowResult(False, f"{type(error).__name__}: {error}")
    return FlowResult(True, "user -> order -> 404 for unknown user -> read back")


def deploy_all(
    stages: list[Stage] | None = None, targets: list[Target] | None = None, *, quiet_each: bool = True
) -> list[tuple[str, str, str, FlowResult]]:
    """Every stage on every registered target (or the ones given), locally, each checked with the talk's flow."""
    rows = []
    for target in targets or list(TARGETS.values()):
        for stage in stages or list(STAGES.values()):
            print(f"… deploying {stage.name} to {target.TARGET}", flush=True)
            deployment = target.deploy(stage, target.Options(env="local", quiet=quiet_each))
            result = talk_flow(deployment.url)
            print(f"  {'✓' if result.ok else '✗'} {deployment.url}  {result.detail}", flush=True)
            rows.append((stage.name, target.TARGET, deployment.url, result))
    return rows


def table(rows: list[tuple[str, str, str, FlowResult]]) -> str:
    lines = [f"{'stage':<14} {'target':<7} {'url':<24} flow", "-" * 60]
    for stage, target, url, result in rows:
        lines.append(f"{stage:<14} {target:<7} {url:<24} {'ok' if result.ok else 'FAILED: ' + result.detail}")
    return "\n".join(lines)


def found_deployments() -> list[tuple[Target, Stage]]:
    """Every deployment of the project that this machine recorded *or* that AWS holds (the target's own
    check): what `make destroy-all` removes even with no state file (another machine's deploy, a deleted
    `.run/`)."""
    recorded = {(d.target, d.stage) for d in state.all_states()}
    return [
        (target, stage)
        for target in TARGETS.values()
        for stage in STAGES.values()
        if (target.TARGET, stage.name) in recorded or target.exists(stage)
    ]


def destroy_all(env: str = "local", *, keep_data: bool = True) -> list[str]:
    """Destroy every deployment found (`found_deployments`), each with its target's teardown options (EKS: the
    cluster deploy created goes with the last EKS deployment; the local one is a free stand-in)."""
    removed = []
    for target, stage in found_deployments():
        print(f"… destroying {target.deployment_name(stage)}", flush=True)
        removed += registry.destroy(target, stage, target.teardown_options(env), keep_data=keep_data)
    removed += eks_cluster.remove_orphans()  # an EKS cluster deleted by hand leaves its roles and OIDC provider
    if not keep_data:
        # Tables an earlier destroy kept on purpose (nothing else of their deployment left): by their names.
        for target in TARGETS.values():
            for stage in STAGES.values():
                tables = resources.TableNames.for_deployment(target.deployment_name(stage))
                removed += [f"table {t}" for t in resources.delete_tables(tables)]
        removed += [f"table {t}" for t in resources.delete_tables(MIXED_TABLES)]
    return removed


def workshop_bill(hours: float = 2.0) -> tuple[list[tuple[str, float]], float]:
    """What all nine deployments cost on AWS (ENV=aws, each target's defaults) if left running `hours`: the
    hourly price of each, and the total. The EKS cluster is created once (by the first stage's deploy) and
    shared, as `CREATE_CLUSTER=1` does."""
    rows = []
    for target in TARGETS.values():
        for number, stage in enumerate(STAGES.values()):
            options = target.Options(env="aws")
            if hasattr(options, "create_cluster"):
                options = dataclasses.replace(options, create_cluster=number == 0)
            rows.append((target.deployment_name(stage), prices.hourly(target.costs(stage, options))))
    return rows, sum(hourly for _, hourly in rows) * hours


def deploy_mixed(
    *, eks_port: int | None = None, lambda_port: int | None = None, quiet: bool = False
) -> tuple[state.DeploymentState, state.DeploymentState, FlowResult]:
    """Users through EKS, orders through Lambda: the same clean code, the same tables, two platforms.

    Why the whole clean app on both rather than users-only on EKS and orders-only on Lambda: creating an
    order checks that its user exists, so the orders side needs the users table anyway — the clean stage
    gets it through its repository port, whichever platform it runs on. Routing decides who serves what.
    """
    resources.ensure_tables(MIXED_TABLES)
    if not quiet:
        print(
            f"… clean stage on EKS (users) and on Lambda (orders), sharing {MIXED_TABLES.users} / "
            f"{MIXED_TABLES.orders}",
            flush=True,
        )
    clean = get_stage("clean")
    eks = eks_target.deploy(clean, eks_target.Options(tables=MIXED_TABLES, port=eks_port, quiet=quiet))
    lam = lambda_target.deploy(clean, lambda_target.Options(tables=MIXED_TABLES, port=lambda_port, quiet=quiet))
    result = talk_flow(eks.url, lam.url)
    return eks, lam, result
