"""The gateway in front of two real services: users- and orders-service run in real uvicorn servers
(background threads, free ports) and talk to each other over real HTTP; the gateway is driven through
TestClient. This is the stage as `make run STAGE=microservices` wires it, minus the subprocesses.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from gateway.main import app as gateway_app
from orders_service.main import app as orders_app
from shopctl.local.net import free_port
from users_service.main import app as users_app


class ThreadedServer:
    """uvicorn.Server in a daemon thread; stop() asks it to exit and waits."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, str]]:
    """Both services, served for the whole module. They run in this process, so they see each test's
    environment (tables, RUNTIME) — the config caches are cleared between tests."""
    users, orders = ThreadedServer(users_app).start(), ThreadedServer(orders_app).start()
    try:
        yield {"users": users.url, "orders": orders.url}
    finally:
        orders.stop()
        users.stop()


def closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def wire(lambda_env, services: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """wire(users=…, orders=…): point the orders-service and the gateway at these service URLs."""

    def apply(users: str | None = None, orders: str | None = None) -> None:
        monkeypatch.setenv("USERS_SERVICE_URL", users or services["users"])
        monkeypatch.setenv("ORDERS_SERVICE_URL", orders or services["orders"])

    apply()
    return apply


@pytest.fixture
def shop(wire) -> Iterator[TestClient]:
    with TestClient(gateway_app) as client:  # `with`: runs the lifespan that opens the AsyncClient
        yield client


def test_one_base_url_for_the_whole_contract(shop: TestClient) -> None:
    user = shop.post("/users", json={"name": "Ada Lovelace", "email": "ada@example.com"})
    assert user.status_code == 201 and user.headers["content-type"] == "application/json"
    user_id = user.json()["id"]
    shop.post("/users", json={"name": "Charles Babbage", "email": "charles@example.com"})
    assert shop.get(f"/users/{user_id}").json() == user.json()

    # Query strings make it through, and so does the opaque `next` token.
    first = shop.get("/users", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next"]
    second = shop.get("/users", params={"limit": 1, "next": first["next"]}).json()
    assert second["items"] and second["items"] != first["items"]

    # orders-service -> users-service over real HTTP, behind the gateway.
    order = shop.post("/orders", json={"user_id": user_id, "product": "Engine", "quantity": 3})
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    assert shop.get("/orders", params={"user_id": user_id}).json()["items"] == [order.json()]
    assert shop.get(f"/orders/{order_id}").json()["quantity"] == 3

    deleted = shop.delete(f"/orders/{order_id}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = shop.delete(f"/orders/{order_id}")
    assert (gone.status_code, gone.json()) == (404, {"detail": "Order not found"})


def test_upstream_errors_pass_through_unchanged(shop: TestClient) -> None:
    unknown_user = shop.post("/orders", json={"user_id": str(uuid.uuid4()), "product": "x", "quantity": 1})
    assert (unknown_user.status_code, unknown_user.json()) == (404, {"detail": "User not found"})

    malformed = shop.post("/users", content=b'{"name": ', headers={"content-type": "application/json"})
    assert malformed.status_code == 422 and malformed.headers["content-type"] == "application/json"

    invalid = shop.post("/users", json={"name": "Ada", "email": "nope"})
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["body", "email"]
    assert shop.get("/users/not-a-uuid").status_code == 422
    assert shop.get("/users", params={"next": "garbage!"}).status_code == 422


@pytest.mark.parametrize("path", ["/", "/nope", "/usersx", "/orders-archive", "/redoc"])
def test_everything_else_is_404(shop: TestClient, path: str) -> None:
    response = shop.get(path)
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_docs_merge_both_services(shop: TestClient) -> None:
    document = shop.get("/openapi.json").json()
    # /health as both services document it: the same Health model the gateway's own /health answers.
    assert set(document["paths"]) == {"/health", "/users", "/users/{user_id}", "/orders", "/orders/{order_id}"}
    assert {"UserCreate", "OrderCreate"} <= set(document["components"]["schemas"])
    assert shop.get("/docs").headers["content-type"].startswith("text/html")


def test_docs_show_the_merged_document_from_local_assets_behind_a_path_prefix(wire) -> None:
    # root_path: what a load balancer's or API Gateway's path prefix tells the app.
    with TestClient(gateway_app, root_path="/shop") as prefixed:
        page = prefixed.get("/docs").text
        assert "/shop/openapi.json" in page and "/shop/static-offline-docs/swagger-ui-bundle.js" in page
        assert "cdn" not in page and "https://" not in page
        assert prefixed.get("/shop/static-offline-docs/swagger-ui.css").status_code == 200
        # The page's document is the services' merge, not FastAPI's own one of the proxy routes.
        assert "/users/{user_id}" in prefixed.get("/shop/openapi.json").json()["paths"]


def test_the_front_door_refuses_an_oversized_body_with_the_contracts_json_413(shop: TestClient) -> None:
    too_large = {"detail": "Request body too large: at most 65536 bytes"}
    user = shop.post("/users", json={"name": "Ada Lovelace", "email": "ada@example.com"}).json()
    declared = shop.request("DELETE", f"/users/{user['id']}", content=b"x" * 70_000)
    assert (declared.status_code, declared.json()) == (413, too_large)
    assert shop.get(f"/users/{user['id']}").status_code == 200  # refused before anything was forwarded
    chunks = iter([b"x" * 16_384] * 5)  # no Content-Length: counted while the gateway reads it
    streamed = shop.post("/users", content=chunks, headers={"content-type": "application/json"})
    assert (streamed.status_code, streamed.json()) == (413, too_large)


def test_an_undeclared_method_is_the_services_405_with_the_paths_methods(shop: TestClient) -> None:
    for method, path, allow in (("PUT", "/users", "GET, POST"), ("TRACE", "/orders/x", "GET, DELETE")):
        response = shop.request(method, path)
        assert (response.status_code, response.headers["allow"]) == (405, allow)
        assert response.json() == {"detail": "Method Not Allowed"}


def test_health_when_both_services_are_up(shop: TestClient) -> None:
    response = shop.get("/health")
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ok", "stage": "microservices", "runtime": "LAMBDA"},
    )


def test_health_degraded_and_503_when_a_service_is_down(wire) -> None:
    wire(orders=closed_port())
    with TestClient(gateway_app) as shop:
        health = shop.get("/health")
        assert health.status_code == 503
        body = health.json()
        assert (body["status"], body["stage"], body["down"]) == ("degraded", "microservices", ["orders"])
        assert body["services"]["users"] == "ok" and body["services"]["orders"].startswith("unreachable")

        down = shop.get("/orders")
        assert down.status_code == 503
        assert down.json()["detail"].startswith("orders-service unreachable: ")
        # The other service is unaffected: that is what splitting bought.
        assert shop.post("/users", json={"name": "Ada", "email": "ada@example.com"}).status_code == 201


def test_orders_behind_the_gateway_report_users_service_down(wire) -> None:
    wire(users=closed_port())  # orders-service is up, but its neighbour is not
    with TestClient(gateway_app) as shop:
        response = shop.post("/orders", json={"user_id": str(uuid.uuid4()), "product": "x", "quantity": 1})
        assert response.status_code == 503
        assert response.json()["detail"].startswith("users-service unavailable: ")
        assert shop.get("/health").json()["down"] == ["users"]


def test_gateway_refuses_to_start_without_its_upstreams(wire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERS_SERVICE_URL")
    with pytest.raises(RuntimeError, match="ORDERS_SERVICE_URL"), TestClient(gateway_app):
        pass


def test_the_callers_signature_is_passed_along_and_nothing_else(wire) -> None:
    """Behind the gateway a service may take signed requests only (a Function URL with AWS_IAM auth)."""
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "paths": {}})

    signature = {
        "authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261207/eu-west-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "x-amz-date": "20261207T120000Z",
        "x-amz-security-token": "token",
    }
    with TestClient(gateway_app) as shop:
        gateway_app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
        for path in ("/users", "/health", "/openapi.json"):
            assert shop.get(path, headers={**signature, "cookie": "session=1"}).status_code == 200
    assert len(seen) == 5  # /users once, /health and /openapi.json from each service
    for request in seen:
        assert {name: request.headers.get(name) for name in signature} == signature
        assert "cookie" not in request.headers
