"""SnapStart on the local Lambda (`python -m shopctl.lambda_local --snapstart`): the pitfall and its fix.

Init runs once, when the service takes the snapshot (its "published version"); every cold start is a
restore — a fork of that initialised process — followed by the after-restore hooks. What init left in
memory is therefore shared by every restored environment, unless a hook makes it afresh.

A tiny function shows the pitfall with and without hooks (state drawn from `random` at init, a
connection opened at init); the clean stage's own package shows that its hooks fix it.
"""

from __future__ import annotations

import os
import re
import socketserver
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from shopctl import httpclient
from shopctl.aws import resources
from shopctl.lambda_local import testing
from shopctl.package import Platform, build
from shopctl.stages import get_stage

pytestmark = pytest.mark.e2e

APP = """
import os, random, socket, time

from snapshot_restore_py import register_after_restore, register_before_snapshot

HOOKS = os.environ.get("HOOKS") == "1"
TOKEN = random.getrandbits(64)  # e.g. a "unique" instance id drawn at init
CONNECTION = socket.create_connection(("127.0.0.1", int(os.environ["PEER_PORT"])))  # opened at init
seen = []


@register_before_snapshot
def before_snapshot():
    seen.append("before-snapshot")


def after_restore():
    global TOKEN, CONNECTION
    random.seed()
    TOKEN = random.getrandbits(64)
    CONNECTION.close()
    CONNECTION = socket.create_connection(("127.0.0.1", int(os.environ["PEER_PORT"])))
    seen.append("after-restore")


if HOOKS:
    register_after_restore(after_restore)
if os.environ.get("BROKEN_HOOK") == "1":
    register_after_restore(lambda: 1 / 0)


def handler(event, context):
    if event["rawPath"] == "/exit":
        os._exit(3)
    if event["rawPath"] == "/slow":
        time.sleep(0.5)  # keeps this environment busy: a concurrent request needs another one
    return {
        "token": TOKEN,
        "drawn_now": random.getrandbits(64),
        "connection_port": CONNECTION.getsockname()[1],
        "seen": seen,
        "pid": os.getpid(),
        "initialization_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "log_stream_variable": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        "log_group_variable": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
    }
"""

def test_hooks_run_in_lambdas_order_before_in_reverse_after_in_registration_order():
    import snapshot_restore_py

    from shopctl.lambda_local import runtime_bootstrap

    ran: list[str] = []
    registries = snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()
    saved = [list(registry) for registry in registries]  # hooks of stage modules this process imported
    for registry in registries:
        registry.clear()
    try:
        for name in ("first", "second"):
            snapshot_restore_py.register_before_snapshot(ran.append, f"before {name}")
            snapshot_restore_py.register_after_restore(ran.append, f"after {name}")
        runtime_bootstrap.run_hooks("before")
        runtime_bootstrap.run_hooks("after")
    finally:
        for registry, hooks in zip(registries, saved, strict=True):
            registry[:] = hooks
    assert ran == ["before second", "before first", "after first", "after second"]


REPORT_COLD = re.compile(
    r"^REPORT RequestId: \S+\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\t"
    r"Max Memory Used: \d+ MB\tRestore Duration: \d+\.\d\d ms\tBilled Restore Duration: \d+ ms\t\n$"
)
REPORT_WARM = re.compile(
    r"^REPORT RequestId: \S+\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\t"
    r"Max Memory Used: \d+ MB\t\n$"
)


class _Peer(socketserver.ThreadingTCPServer):
    """A TCP server the function connects to at init: it counts the connections it accepted."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.accepted: list[int] = []  # the client-side ports
        super().__init__(("127.0.0.1", 0), _Hold)


class _Hold(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.accepted.append(self.client_address[1])  # type: ignore[attr-defined]
        while self.request.recv(1024):
            pass


@pytest.fixture(scope="module")
def peer():
    server = _Peer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def functions(local_aws, peer, tmp_path_factory):
    """Two SnapStart functions of the same code: without and with after-restore hooks; and the clean stage."""
    logs = tmp_path_factory.mktemp("snapstart")
    stage = get_stage("clean")
    service = stage.service("app")
    tables = resources.TableNames.for_deployment(f"snap-{uuid.uuid4().hex[:8]}")
    resources.ensure_tables(tables)
    clean_package = build(stage, service, Platform.local(), quiet=True).data
    specs = {
        # the pitfall: snapshot_restore_py comes from the runtime (as on AWS), no after-restore hook
        "pitfall": (testing.build_zip({"app.py": APP}), "app.handler", {"HOOKS": "0"}),
        # the fix: the package brings its own snapshot_restore_py and registers the hook
        "fixed": (
            testing.build_zip({"app.py": APP}, distributions=["snapshot-restore-py"]),
            "app.handler",
            {"HOOKS": "1"},
        ),
        "broken-hook": (testing.build_zip({"app.py": APP}), "app.handler", {"BROKEN_HOOK": "1"}),
        "clean": (clean_package, service.handler, {"RUNTIME": "LAMBDA", **table_env(tables)}),
    }
    services = {}
    try:
        for key, (package, handler, variables) in specs.items():
            name = f"ll-snap-{key}-{uuid.uuid4().hex[:6]}"
            testing.deploy(
                name,
                package,
                handler=handler,
                variables={"PEER_PORT": str(peer.server_address[1]), **variables},
                timeout=10,
                memory=256,
            )
            services[key] = testing.spawn(name, logs / f"{key}.log", "--snapstart")
        for running in services.values():
            running.wait_ready(timeout=60)  # the snapshot is taken before the service says ready
        yield services
    finally:
        testing.stop_all(list(services.values()))


def table_env(tables: resources.TableNames) -> dict[str, str]:
    return {resources.env_name(key): value for key, value in tables.settings().items()}


def two_restored(fn: testing.RunningLambda, path: str = "/slow") -> list[httpx.Response]:
    """Two requests at once: each needs an execution environment of its own, so two restores."""
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: httpclient.get(f"{fn.url}{path}", timeout=30), range(2)))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert responses[0].json()["pid"] != responses[1].json()["pid"]
    return responses


def test_state_drawn_at_init_is_shared_by_restored_environments_without_a_hook(functions, peer):
    first, second = (r.json() for r in two_restored(functions["pitfall"]))
    assert first["token"] == second["token"]
    # the generator itself resumes from the snapshot's state: the "next random number" is the same too
    assert first["drawn_now"] == second["drawn_now"]
    # …and so is the connection opened at init: both environments write to one and the same socket
    assert first["connection_port"] == second["connection_port"]
    assert first["seen"] == second["seen"] == ["before-snapshot"]
    assert first["initialization_type"] == "snap-start"
    assert first["log_stream_variable"] is None and first["log_group_variable"] is None


def test_the_after_restore_hook_makes_that_state_fresh(functions, peer):
    before = len(peer.accepted)
    first, second = (r.json() for r in two_restored(functions["fixed"]))
    assert first["token"] != second["token"]
    assert first["drawn_now"] != second["drawn_now"]
    assert first["connection_port"] != second["connection_port"]
    assert first["seen"] == second["seen"] == ["before-snapshot", "after-restore"]
    assert {first["connection_port"], second["connection_port"]} <= set(peer.accepted[before:])


def test_restored_cold_start_reports_restore_duration_and_warm_neither(functions):
    fn = functions["fixed"]
    status = fn.status()
    snapshot = status["snapshot"]
    assert status["snapStart"] is True and snapshot["state"] == "snapshot"
    response = httpclient.get(f"{fn.url}/one", timeout=30)
    again = httpclient.get(f"{fn.url}/two", timeout=30)  # the environment of `response`, or one of the earlier
    ids = [r.headers["x-amzn-requestid"] for r in (response, again)]
    messages = testing.wait_for_logs(
        fn.name, lambda m: all(any(line.startswith(f"REPORT RequestId: {i}") for line in m) for i in ids)
    )
    reports = {i: next(line for line in messages if line.startswith(f"REPORT RequestId: {i}\t")) for i in ids}
    environments = fn.status()["environments"]
    assert environments and all(env["initDurationMs"] is None for env in environments)  # restored, not initialised
    for line in reports.values():
        assert "Init Duration" not in line
        assert REPORT_COLD.match(line) or REPORT_WARM.match(line), line
    # init ran once, at publish, and said so in INIT_REPORT; each restore says RESTORE_START / RESTORE_REPORT
    assert sum(line.startswith("INIT_START ") for line in messages) == 1
    assert any(re.match(r"INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: success", m) for m in messages)
    restores = [m for m in messages if m.startswith("RESTORE_REPORT Restore Duration: ")]
    cold = [line for line in messages if REPORT_COLD.match(line)]
    warm = [line for line in messages if REPORT_WARM.match(line)]
    assert len(cold) == len(restores) == len([m for m in messages if m.startswith("RESTORE_START ")]) >= 1
    assert warm, "the second request of an environment is warm: no Restore Duration"
    for line in cold:  # Billed Duration = Duration + Billed Restore Duration, rounded up
        duration, billed, restore_billed = (
            float(re.search(p, line).group(1))
            for p in (r"\tDuration: (\S+) ms", r"Billed Duration: (\d+) ms", r"Billed Restore Duration: (\d+) ms")
        )
        assert billed == max(1, -(-(duration + restore_billed) // 1))


def test_a_restored_environment_that_exits_is_reported_with_its_exit_status(functions):
    """The snapshot, the restored environment's parent, reaps it and tells the service how it ended."""
    fn = functions["pitfall"]
    response = httpclient.get(f"{fn.url}/exit", timeout=30)
    assert response.status_code == 502
    request_id = response.headers["x-amzn-requestid"]
    messages = testing.wait_for_logs(fn.name, lambda m: any(request_id in x and "REPORT" in x for x in m))
    assert f"RequestId: {request_id} Error: Runtime exited with error: exit status 3\nRuntime.ExitError\n" in messages
    assert fn.status()["snapshot"]["state"] == "snapshot"  # the snapshot itself is untouched
    assert httpclient.get(f"{fn.url}/", timeout=30).status_code == 200  # and restores again


def test_a_failing_after_restore_hook_fails_the_cold_start_not_the_snapshot(functions):
    fn = functions["broken-hook"]
    response = httpclient.get(f"{fn.url}/", timeout=30)
    assert response.status_code == 502
    messages = testing.wait_for_logs(fn.name, lambda m: any(x.startswith("REPORT ") for x in m))
    assert any(m.startswith("[ERROR] ZeroDivisionError: division by zero") for m in messages)
    assert any(
        re.match(r"RESTORE_REPORT Restore Duration: \S+ ms\tStatus: error\tError Type: SnapStartException\n", m)
        for m in messages
    )
    report = next(m for m in messages if m.startswith("REPORT "))
    assert "Restore Duration: " in report and "Status: error\tError Type: SnapStartException" in report
    assert fn.status()["environments"] == [] and fn.status()["snapshot"]["state"] == "snapshot"


def _tcp_connections(pid: int) -> set[str]:
    """The TCP sockets process `pid` holds open (their inodes)."""
    tcp = set()
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            tcp.add(row.split()[9])
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in tcp:
            held.add(target[8:-1])
    return held


def test_clean_stage_uuid4_ids_stay_unique_across_restores(functions):
    fn = functions["clean"]
    with ThreadPoolExecutor(2) as pool:
        responses = list(
            pool.map(
                lambda i: httpclient.post(
                    f"{fn.url}/users", json={"name": f"Ada {i}", "email": f"ada{i}@example.com"}, timeout=30
                ),
                range(2),
            )
        )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 2
    environments = fn.status()["environments"]
    assert all(env["restoreDurationMs"] is not None for env in environments)


def test_clean_stage_holds_no_connection_made_before_the_snapshot(functions):
    fn = functions["clean"]
    created = httpclient.post(f"{fn.url}/users", json={"name": "Bo", "email": "bo@example.com"}, timeout=30)
    assert created.status_code == 201
    status = fn.status()
    snapshot_sockets = _tcp_connections(status["snapshot"]["pid"])
    for env in status["environments"]:
        assert env["pid"] is not None
        assert not _tcp_connections(env["pid"]) & snapshot_sockets


HOOK_CHECK = """
import sys
import snapshot_restore_py

module = __import__(sys.argv[1], fromlist=["x"])
client = eval(sys.argv[2], {"module": module, "sys": sys})
for func, args, kwargs in snapshot_restore_py.get_after_restore():
    func(*args, **kwargs)
again = eval(sys.argv[2], {"module": module, "sys": sys})
print("fresh" if again is not client else "same")
"""

# Where each stage keeps the DynamoDB client its requests use (what the after-restore hook must replace).
CLIENTS = {
    "monolith": ("monolith.main", "module._aws('dynamodb')"),
    "users": ("users_service.main", "sys.modules['users_service.repository']._dynamodb()"),
    "orders": ("orders_service.main", "sys.modules['orders_service.repository']._dynamodb()"),
    "clean": ("clean_shop.entrypoints.lambda_handler", "module.app.state.container.get_user._users._client"),
}


@pytest.mark.parametrize("stage", list(CLIENTS))
def test_each_stage_makes_a_new_aws_client_after_restore(stage, local_aws, tables):
    module, expression = CLIENTS[stage]
    env = {
        **os.environ,
        "RUNTIME": "LAMBDA",
        "USERS_SERVICE_URL": "http://127.0.0.1:9",
        **table_env(tables),
    }
    out = subprocess.run(
        [sys.executable, "-c", HOOK_CHECK, module, expression], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "fresh"


def test_the_socket_check_sees_a_connection_shared_with_the_snapshot(functions):
    """What the check above would catch: without a hook, the connection opened at init is the very
    socket of the snapshot (the runtime's own control socket is not: each restore gets a new one)."""
    fn = functions["pitfall"]
    assert httpclient.get(f"{fn.url}/", timeout=30).status_code == 200
    status = fn.status()
    snapshot_sockets = _tcp_connections(status["snapshot"]["pid"])
    for env in status["environments"]:
        assert len(_tcp_connections(env["pid"]) & snapshot_sockets) == 1
