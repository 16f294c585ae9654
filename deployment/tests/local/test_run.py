"""shopctl.local.run: `make run` publishes the table names where each RUNTIME reads them — and the clean
stage's own config adapters read them back from there —, refuses a busy port or an unknown RUNTIME in one
line before creating anything, and stops what it started when a process does not become healthy. (A stage
served by it end to end: the contract suite, through shopctl.serving.)"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

import boto3
import pytest

from clean_shop.bootstrap import config_for
from shopctl.aws.resources import TableNames
from shopctl.errors import ShopctlError
from shopctl.local import localaws
from shopctl.local.net import free_port
from shopctl.local.run import Running, publish_config, start_stage
from shopctl.paths import run_dir
from shopctl.stages import get_stage

TABLES = TableNames.for_deployment("clean-run")


def _read_back(env: dict[str, str]) -> tuple[str, str]:
    """The table names as the clean stage reads them in a process with this environment."""
    config = config_for(env["RUNTIME"], env)
    return config.get("users/table"), config.get("orders/table")


def test_lambda_gets_environment_variables(aws: None) -> None:
    env = publish_config("LAMBDA", TABLES, "clean")
    assert env == {"RUNTIME": "LAMBDA", "USERS_TABLE": TABLES.users, "ORDERS_TABLE": TABLES.orders}
    assert _read_back(env) == (TABLES.users, TABLES.orders)


def test_ecs_gets_ssm_parameters_under_the_deployments_prefix(aws: None) -> None:
    env = publish_config("ECS", TABLES, "clean", extra={"feature/flag": "on"})
    assert env == {"RUNTIME": "ECS", "SSM_PREFIX": "/shop/clean"}
    parameters = boto3.client("ssm").get_parameters_by_path(Path="/shop/clean", Recursive=True)["Parameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "/shop/clean/users/table": TABLES.users,
        "/shop/clean/orders/table": TABLES.orders,
        "/shop/clean/feature/flag": "on",
    }
    assert _read_back(env) == (TABLES.users, TABLES.orders)


def test_eks_gets_a_config_file_of_its_own(aws: None) -> None:
    env = publish_config("eks", TABLES, "clean")  # RUNTIME in any case
    assert env == {"RUNTIME": "EKS", "CONFIG_FILE": str(run_dir() / "clean" / "config.json")}
    assert json.loads(Path(env["CONFIG_FILE"]).read_text()) == {
        "users": {"table": TABLES.users},
        "orders": {"table": TABLES.orders},
    }
    assert _read_back(env) == (TABLES.users, TABLES.orders)


def test_two_deployments_do_not_share_their_configuration(aws: None) -> None:
    other = TableNames.for_deployment("other")
    ecs = publish_config("ECS", TABLES, "clean"), publish_config("ECS", other, "other")
    assert [_read_back(env) for env in ecs] == [(TABLES.users, TABLES.orders), (other.users, other.orders)]
    eks = publish_config("EKS", TABLES, "clean"), publish_config("EKS", other, "other")
    assert [_read_back(env) for env in eks] == [(TABLES.users, TABLES.orders), (other.users, other.orders)]


def test_an_unknown_runtime_is_one_line_with_the_choices(aws: None) -> None:
    with pytest.raises(ShopctlError, match="unknown RUNTIME 'FARGATE'") as caught:
        publish_config("FARGATE", TABLES, "clean")
    assert caught.value.hint == "RUNTIME is one of LAMBDA, ECS, EKS"


def test_a_busy_port_is_refused_before_anything_is_created(aws: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ShopctlError, match=f"port {port} is already in use") as caught:
            start_stage("clean", runtime="LAMBDA", port=port, aws=localaws.LocalAws(1, None), quiet=True)
    assert f"PORT={port + 1}" in caught.value.hint
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []


def test_an_unknown_stage_names_the_stages(aws: None) -> None:
    with pytest.raises(ShopctlError, match="unknown STAGE 'hexagonal'") as caught:
        start_stage("hexagonal", runtime="LAMBDA", port=free_port(), aws=localaws.LocalAws(1, None))
    assert "monolith" in caught.value.hint


class FakeProc:
    def __init__(self, name: str, stopped: list[str], alive: bool = True) -> None:
        self.name, self._stopped, self._alive = name, stopped, alive

    def alive(self) -> bool:
        return self._alive

    def stop(self) -> None:
        self._stopped.append(self.name)


def test_running_stops_its_processes_last_started_first_and_names_the_dead() -> None:
    stopped: list[str] = []
    users, orders = FakeProc("users", stopped), FakeProc("orders", stopped, alive=False)
    running = Running(get_stage("microservices"), "LAMBDA", "http://127.0.0.1:1", TABLES, [users, orders])
    assert running.dead() == [orders]
    running.stop()
    assert stopped == ["orders", "users"]  # the gateway before what it calls


def _processes_writing(folder: Path) -> list[int]:
    """Pids of the processes that hold a file in `folder` open (their log files)."""
    pids = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(str(fd.readlink()).startswith(f"{folder}/") for fd in fd_dir.iterdir()):
                pids.append(int(fd_dir.parent.name))
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return pids


def test_a_stage_not_healthy_in_time_is_stopped_and_reported(local_aws: localaws.LocalAws, tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(ShopctlError, match=f"clean did not become healthy on http://127.0.0.1:{port}") as caught:
        start_stage("clean", runtime="LAMBDA", port=port, aws=local_aws, name=f"slow-{uuid.uuid4().hex[:8]}",
                    logs=tmp_path, quiet=True, startup_timeout=0.05)
    assert "\n" not in caught.value.reason
    assert list(tmp_path.glob("*.log"))  # it was started, its output going there…
    assert _processes_writing(tmp_path) == []  # …and it is stopped
