"""shopctl.local.deployment: the processes that stand in for AWS's compute during a deployment."""

from __future__ import annotations

from shopctl import httpclient
from shopctl.aws import state
from shopctl.local.deployment import local_gateway
from shopctl.local.localaws import terminate
from shopctl.local.net import free_port
from shopctl.stages import STAGES


class Ledger:
    """The deployment in progress, as far as local_process needs one: a name and its recorded processes."""

    name = "gateway-test"

    def __init__(self) -> None:
        self.recorded: dict[str, state.LocalProcess] = {}

    def process(self, name: str) -> state.LocalProcess | None:
        return self.recorded.get(name)

    def record(self, proc: state.LocalProcess) -> None:
        self.recorded[proc.name] = proc


def test_the_gateway_is_ready_without_calling_the_services(tmp_path, monkeypatch, upstream):
    # Behind the local Lambda every request to a service is an invocation: a readiness poll that reached the
    # services, gave up after its 1 s and polled again started one more cold start each time (seven
    # execution environments for one deployment of the microservices, where two are needed).
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path))
    ledger = Ledger()
    urls = {"users": upstream.url, "orders": upstream.url}
    proc = local_gateway(ledger, STAGES["microservices"], urls, free_port(), "ECS")
    try:
        assert ledger.recorded["gateway"] == proc
        assert upstream.received == [], "the gateway's readiness check reached the services"
        # It is the gateway all the same: it routes to them.
        assert httpclient.get(f"{proc.url}/users?limit=1", timeout=10).status_code == 200
        assert [seen["path"] for seen in upstream.received] == ["/users?limit=1"]
    finally:
        terminate(proc.pid)
