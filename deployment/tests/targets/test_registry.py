"""The one registry of deployment targets, the protocol each target module provides — and the proof that a
fourth target plugs in through the registry alone: the CLI, status, destroy and deploy-all find it there."""

from __future__ import annotations

import inspect
import sys
import types
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shopctl import cli, httpclient
from shopctl.aws import resources, state
from shopctl.errors import ShopctlError
from shopctl.local import localaws
from shopctl.local.deployment import local_process, stop_processes
from shopctl.local.process import base_environ, uvicorn_argv
from shopctl.stages import Stage, get_stage
from shopctl.targets import naming, registry, rollout
from shopctl.targets.base import Target
from shopctl.targets.registry import TARGETS, get_target


def test_the_registry_holds_the_three_targets_under_their_own_names() -> None:
    assert list(TARGETS) == ["lambda", "ecs", "eks"]
    assert all(name == module.TARGET for name, module in TARGETS.items())
    # each its own block of stable local ports
    assert len({module.PORT_BASE for module in TARGETS.values()}) == 3


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_target_provides_the_protocol_and_every_method_takes_a_stage(name: str) -> None:
    module = TARGETS[name]
    assert isinstance(module, Target)
    for method in ("plan", "deploy", "destroy", "describe", "deployment_name", "uses_image", "hints"):
        first = next(iter(inspect.signature(getattr(module, method)).parameters.values()))
        assert first.name == "stage" and first.annotation in (Stage, "Stage"), f"{name}.{method}"
    destroy = inspect.signature(module.destroy)
    assert destroy.parameters["keep_data"].kind is inspect.Parameter.KEYWORD_ONLY
    options = module.Options()
    assert (options.env, options.port, options.quiet, options.tables) == ("local", None, False, None)
    assert module.deployment_name(get_stage("clean")) == f"clean-{name}"
    assert module.teardown_options("aws").env == "aws"


def test_an_unknown_target_is_one_line_with_the_choices() -> None:
    with pytest.raises(ShopctlError) as error:
        get_target("fargate")
    assert error.value.hint == "TARGET is one of: lambda, ecs, eks"


def test_a_stage_and_a_target_typo_are_reported_together(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["deploy", "--stage", "monolit", "--target", "lamda"]) == 1
    err = capsys.readouterr().err
    assert "unknown STAGE 'monolit'" in err and "unknown TARGET 'lamda'" in err
    assert "STAGE is one of: monolith, microservices, clean" in err and "TARGET is one of: lambda, ecs, eks" in err


def test_a_flag_only_another_target_reads_is_named_as_ignored(capsys, monkeypatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(cli.account, "use", lambda env, port: None)
    monkeypatch.setattr(TARGETS["ecs"], "deploy", lambda stage, options: seen.append(options) or _Recorded("u"))
    assert cli.main(["deploy", "--stage", "clean", "--target", "ecs", "--optimize", "--cluster-name", "x"]) == 0
    out = capsys.readouterr().out
    assert "--optimize applies to another target" in out and "--cluster-name applies to another target" in out
    assert seen and seen[0].env == "local"


@dataclass
class _Recorded:
    url: str


# --- a fourth target, registered through the registry alone ---------------------------------------------


def _process_target() -> types.ModuleType:
    """TARGET=process: every service of the stage as a plain local process (no AWS compute at all) — the
    smallest honest target: tables in the (local) AWS, a state record, processes tracked by pid."""
    target = types.ModuleType("process_target")
    target.TARGET, target.LABEL, target.PORT_BASE = "process", "Process", 9400

    @dataclass(frozen=True)
    class Options:
        env: str = "local"
        port: int | None = None
        quiet: bool = False
        tables: resources.TableNames | None = None
        replicas: int = 1

    def add_arguments(group: Any) -> None:
        group.add_argument("--replicas", type=int, default=1, help="(ignored: one process per service)")

    def deployment_name(stage: Stage) -> str:
        return naming.deployment_name(stage, "process")

    def plan(stage: Stage, options: Options) -> list[str]:
        return [f"process {naming.resource_name(stage, s)}" for s in stage.app_services()]

    def deploy(stage: Stage, options: Options) -> state.DeploymentState:
        started = rollout.begin(stage, target="process", label="Process", port_base=9400, env=options.env,
                                tables=options.tables, quiet=options.quiet)
        urls: dict[str, str] = {}
        for service in stage.app_services():
            env = {"RUNTIME": "LAMBDA", **naming.table_env(service, started.tables)}
            env.update({f"{up.upper()}_SERVICE_URL": urls[up] for up in service.upstreams})
            argv = uvicorn_argv(service.asgi, 0, access_log=False)
            argv[argv.index("--port") + 1] = "{port}"
            proc = local_process(started, naming.resource_name(stage, service), argv,
                                 base_environ(stage.name, env), port=started.entry_port(service, options.port),
                                 ready_path="/health", what=service.name)
            urls[service.name] = proc.url
        base_url = started.entry_url(urls, options.port, "LAMBDA")
        return started.finish(base_url, state.DeploymentResources(service_urls=urls))

    def destroy(stage: Stage, options: Options, *, keep_data: bool = True) -> list[str]:
        name = deployment_name(stage)
        deployment = state.load(name)
        removed = stop_processes(deployment)
        if not keep_data:
            tables = rollout.recorded_tables(deployment, name)
            removed += [f"table {t}" for t in resources.delete_tables(tables)]
        state.remove(name)
        return rollout.report_removed(removed, keep_data=keep_data, quiet=options.quiet)

    def describe(stage: Stage) -> dict[str, Any]:
        record = state.load(deployment_name(stage))
        return {"url": record.url if record else ""}

    target.Options = Options
    target.add_arguments = add_arguments
    target.options = lambda args: Options(env=args.env, port=args.port, replicas=args.replicas)
    target.deployment_name = deployment_name
    target.plan = plan
    target.costs = lambda stage, options: []
    target.warnings = lambda options: []
    target.deploy = deploy
    target.hints = lambda stage, deployment: [f"try:  curl -s {deployment.url}/health"]
    target.destroy_confirmations = lambda stage, options: []
    target.teardown_options = lambda env: Options(env=env, quiet=True)
    target.destroy = destroy
    target.uses_image = lambda stage: False
    target.exists = lambda stage: state.load(deployment_name(stage)) is not None
    target.describe = describe
    return target


@pytest.fixture
def fourth_target(monkeypatch: pytest.MonkeyPatch, tmp_path) -> types.ModuleType:
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path / "run"))
    target = _process_target()
    monkeypatch.setitem(sys.modules, "process_target", target)
    monkeypatch.setitem(TARGETS, "process", target)
    return target


def test_a_fourth_target_plugs_in_through_the_registry_alone(
    fourth_target, local_aws: localaws.LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert isinstance(fourth_target, Target)
    port = ["--aws-port", str(local_aws.port)]
    assert cli.main(["deploy", "--stage", "clean", "--target", "process", *port]) == 0
    out = capsys.readouterr().out
    assert "✓ deployed clean to Process" in out and "make destroy STAGE=clean TARGET=process" in out
    record = state.load("clean-process")
    assert record is not None and record.target == "process"
    assert httpclient.get(f"{record.url}/health", timeout=10).json()["stage"] == "clean"

    assert cli.main(["status", *port]) == 0
    assert "clean-process" in capsys.readouterr().out

    assert cli.main(["destroy", "--stage", "clean", "--target", "process", "--delete-data", *port]) == 0
    assert state.load("clean-process") is None
    with pytest.raises(httpx.HTTPError):
        httpclient.get(f"{record.url}/health", timeout=2)

    assert cli.main(["deploy-all", "--stages", "monolith,clean", "--targets", "process", *port]) == 0
    listing = capsys.readouterr().out
    assert "2/2 deployments served the talk's flow" in listing
    assert all(f"{stage:<14} process" in listing for stage in ("monolith", "clean"))
    assert cli.main(["destroy-all", "--delete-data", *port]) == 0
    assert state.all_states() == []


def test_destroy_through_the_registry_releases_an_image_no_other_target_runs(fourth_target, monkeypatch) -> None:
    released: list[str] = []
    monkeypatch.setattr(registry.ecr, "repository_exists", lambda stage: True)
    monkeypatch.setattr(registry.ecr, "delete_repository", lambda stage: released.append(stage) or True)
    for module in TARGETS.values():
        monkeypatch.setattr(module, "uses_image", lambda stage, name=module.TARGET: name == "eks")
    for module in (fourth_target, TARGETS["eks"]):
        monkeypatch.setattr(module, "destroy", lambda stage, options, keep_data=True: [])
    clean = get_stage("clean")
    quiet = fourth_target.Options(quiet=True)
    assert registry.destroy(fourth_target, clean, quiet) == []  # EKS still runs the image: kept
    assert released == []
    assert registry.destroy(TARGETS["eks"], clean, quiet, keep_data=True) == ["ECR repository shop-clean"]
    assert released == ["clean"]
