"""The exercises' checkers (exercises.py runs each in its own interpreter, inside the tree it judges).

Each returns one CaseResult per case: passed or not, what was seen in one line, where to look next. They judge
behaviour — HTTP answers of the running stage, what an adapter returns, the manifests deploy renders — not
class or function names, so a checker keeps working when the code around the learner's change is renamed.
Only the names the task itself asks the learner to create are looked up.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx

from shopctl import httpclient
from shopctl.paths import REPO_ROOT
from shopctl.workshop.cases import CaseResult, case

# --- serving a stage of the judged tree -----------------------------------------------------------------


@contextmanager
def _private_aws(prefix: str) -> Iterator[Any]:
    """A local AWS of the checker's own, in a scratch folder (the learner's `make run` is never touched)."""
    from shopctl.local import localaws

    with tempfile.TemporaryDirectory(prefix=prefix) as scratch, localaws.private_local_aws(Path(scratch)) as aws:
        yield aws


@contextmanager
def _serving(
    stage: str,
    *,
    config_env: Callable[[Any], dict[str, str]] | None = None,
    runtime: str = "LAMBDA",
    aws: Any = None,
) -> Iterator[str]:
    """The stage's processes, as `make run` starts them, against a local AWS of their own (or `aws`, one
    the caller shares between stages: each stage has its own tables); yields the base URL.

    `config_env` replaces what `make run` would publish for RUNTIME (the lesson's new runtime is unknown to
    the deploy code until the learner teaches it): the processes get exactly that environment.
    """
    from shopctl.aws import resources
    from shopctl.local import run
    from shopctl.local.net import free_port

    with (
        tempfile.TemporaryDirectory(prefix=f"shop-check-{stage}-") as scratch,
        (_private_aws(f"shop-check-aws-{stage}-") if aws is None else nullcontext(aws)) as aws,
    ):
        publish = run.publish_config
        if config_env is not None:

            def publish_given(runtime: str, tables: resources.TableNames, name: str, extra: Any = None) -> dict:
                return config_env(tables)

            run.publish_config = publish_given  # start_stage looks it up at call time
        try:
            logs = Path(scratch) / "logs"
            try:
                running = run.start_stage(stage, runtime=runtime, port=free_port(), aws=aws, logs=logs, quiet=True)
            except Exception as error:  # name what the process said last: usually the learner's next clue
                said = [line for log in sorted(logs.glob("*.log")) for line in log.read_text().splitlines() if line]
                first = (str(error).splitlines() or [type(error).__name__])[0]
                raise RuntimeError(first + (f" — its log: {said[-1].strip()[:160]}" if said else "")) from error
            try:
                yield running.base_url
            finally:
                running.stop()
        finally:
            run.publish_config = publish


def _new_user(api: httpx.Client) -> str:
    created = api.post("/users", json={"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:6]}@example.com"})
    if created.status_code != 201:
        raise AssertionError(f"POST /users answered {created.status_code}: {created.text[:120]}")
    return created.json()["id"]


# --- 01 · cancel-order ------------------------------------------------------------------------------------


def cancel_order() -> list[CaseResult]:
    look = "a new function next to delete_order() and a route in 01-monolith/monolith/main.py"
    try:
        with _serving("monolith") as url, httpclient.client(base_url=url, timeout=30) as api:
            user = _new_user(api)

            def new_order() -> str:
                created = api.post("/orders", json={"user_id": user, "product": "book", "quantity": 2})
                if created.status_code != 201:
                    raise AssertionError(f"POST /orders answered {created.status_code}")
                return created.json()["id"]

            def cancels() -> tuple[bool, str]:
                got = api.post(f"/orders/{new_order()}/cancel")
                status = got.json().get("status") if got.status_code == 200 else None
                return status == "cancelled", f"POST /orders/{{id}}/cancel -> {got.status_code}, status {status!r}"

            def stored() -> tuple[bool, str]:
                order = new_order()
                api.post(f"/orders/{order}/cancel")
                got = api.get(f"/orders/{order}")
                status = got.json().get("status") if got.is_success else None
                return status == "cancelled", f"GET /orders/{{id}} afterwards -> status {status!r}"

            def twice() -> tuple[bool, str]:
                order = new_order()
                api.post(f"/orders/{order}/cancel")
                got = api.post(f"/orders/{order}/cancel")
                return got.status_code == 409, f"cancelling a cancelled order -> {got.status_code} (expected 409)"

            def unknown() -> tuple[bool, str]:
                got = api.post(f"/orders/{uuid.uuid4()}/cancel")
                listed = api.get("/orders", params={"limit": 100})
                ghosts = [o for o in listed.json().get("items", []) if o.get("user_id") is None]
                return got.status_code == 404 and not ghosts, (
                    f"an unknown order -> {got.status_code} (expected 404, nothing created)"
                )

            def not_a_uuid() -> tuple[bool, str]:
                got = api.post("/orders/not-a-uuid/cancel")
                return got.status_code == 422, f"/orders/not-a-uuid/cancel -> {got.status_code} (expected 422)"

            return [
                case("cancelling a pending order answers 200 with status 'cancelled'", cancels, look),
                case("the cancellation is stored", stored, "an UpdateItem on the orders table, not just the reply"),
                case(
                    "a second cancel is refused with 409",
                    twice,
                    "a ConditionExpression on status = pending; ConditionalCheckFailedException -> 409",
                ),
                case(
                    "an unknown order is a 404 (and nothing is created)",
                    unknown,
                    "attribute_exists(id) in the condition: UpdateItem creates missing items otherwise",
                ),
                case("an id that is not a UUID is a 422", not_a_uuid, "type the path parameter as uuid.UUID"),
            ]
    except Exception as error:  # the stage did not even start: one case that says so
        reason = f"{type(error).__name__}: {error}"
        return [case("the monolith starts", lambda: (False, reason), "make run STAGE=monolith shows the traceback")]


# --- 02 · users-retry -------------------------------------------------------------------------------------


def users_retry() -> list[CaseResult]:
    look = "UsersClient.user_exists() in 02-microservices/orders_service/users_client.py"
    module = importlib.import_module("orders_service.users_client")
    client_class = module.UsersClient

    def scripted(*answers: int | type[Exception]) -> tuple[Any, list[str]]:
        calls: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request.url.path)
            answer = answers[min(len(calls), len(answers)) - 1]
            if isinstance(answer, type):
                raise answer("scripted failure", request=request)
            return httpx.Response(answer, json={})

        http = httpx.Client(base_url="http://users-service", transport=httpx.MockTransport(handler))
        return client_class(http), calls

    def unavailable(result: Any) -> bool:
        return isinstance(result, Exception) and not isinstance(result, AssertionError)

    def ask(client: Any) -> Any:
        try:
            return client.user_exists(uuid.uuid4())
        except Exception as error:
            return error

    def after_503() -> tuple[bool, str]:
        client, calls = scripted(503, 200)
        got = ask(client)
        return got is True, f"503 then 200 -> {got!r} after {len(calls)} call(s) (expected True after 2)"

    def after_connect_error() -> tuple[bool, str]:
        client, calls = scripted(httpx.ConnectError, 200)
        got = ask(client)
        return got is True, f"connection refused then 200 -> {got!r} after {len(calls)} call(s)"

    def only_once() -> tuple[bool, str]:
        client, calls = scripted(503, 503, 503, 200)
        got = ask(client)
        ok = unavailable(got) and len(calls) == 2
        return ok, f"503 three times -> {type(got).__name__} after {len(calls)} calls (expected: unavailable after 2)"

    def no_retry_on_404() -> tuple[bool, str]:
        client, calls = scripted(404, 200)
        got = ask(client)
        return got is False and len(calls) == 1, f"404 -> {got!r} after {len(calls)} call(s) (a 404 is an answer)"

    def no_retry_on_timeout() -> tuple[bool, str]:
        client, calls = scripted(httpx.ReadTimeout, 200)
        got = ask(client)
        ok = unavailable(got) and len(calls) == 1
        return ok, (
            f"timeout -> {type(got).__name__} after {len(calls)} call(s) (a timeout already waited its "
            "full budget: retrying doubles the client's wait)"
        )

    return [
        case("a 503 is retried once", after_503, look),
        case("a refused connection is retried once", after_connect_error, look),
        case("it gives up after the second try", only_once, "retry once, not in a loop"),
        case("a 404 is not retried", no_retry_on_404, "only 'cannot tell' outcomes deserve a retry"),
        case("a timeout is not retried", no_retry_on_timeout, "httpx.TimeoutException is raised before you retry"),
    ]


# --- 03 · cached-config -----------------------------------------------------------------------------------


class _Counting:
    """A ConfigPort-like source that counts its reads; `values` maps key -> value or an exception to raise."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.reads: list[str] = []

    def get(self, key: str) -> str:
        self.reads.append(key)
        value = self.values[key]
        if isinstance(value, Exception):
            raise value
        return value

    def get_table_name(self, entity: str) -> str:
        return self.get(f"{entity}/table")


def cached_config() -> list[CaseResult]:
    look = "03-clean-architecture/clean_shop/adapters/cached_config.py (exercises/cached-config/task.md)"
    try:
        module = importlib.import_module("clean_shop.adapters.cached_config")
        adapter = module.CachedConfig
    except (ImportError, AttributeError) as error:
        return [CaseResult("clean_shop.adapters.cached_config.CachedConfig exists", False, str(error), look)]
    from clean_shop.application.ports import ConfigPort

    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    def make(values: dict[str, Any], max_age: float = 60.0) -> tuple[Any, _Counting, Clock]:
        inner, clock = _Counting(values), Clock()
        return adapter(_wrap(inner, ConfigPort), max_age=max_age, clock=clock), inner, clock

    def is_port() -> tuple[bool, str]:
        ok = isinstance(adapter, type) and issubclass(adapter, ConfigPort)
        return ok, f"CachedConfig's bases: {[b.__name__ for b in getattr(adapter, '__mro__', [])[1:]]}"

    def reads_through() -> tuple[bool, str]:
        cached, _, _ = make({"users/table": "u-t"})
        got = cached.get_table_name("users")
        return got == "u-t", f"get_table_name('users') -> {got!r} (the wrapped source holds 'u-t')"

    def cached_within_max_age() -> tuple[bool, str]:
        cached, inner, clock = make({"users/table": "u-t"})
        cached.get("users/table")
        clock.now += 59
        cached.get("users/table")
        return len(inner.reads) == 1, f"two reads 59 s apart (max_age 60) reached the source {len(inner.reads)} time(s)"

    def refreshed_after_max_age() -> tuple[bool, str]:
        cached, inner, clock = make({"users/table": "u-t"})
        cached.get("users/table")
        inner.values["users/table"] = "u-new"
        clock.now += 61
        got = cached.get("users/table")
        return got == "u-new", f"after 61 s the value changed at the source -> {got!r} (expected 'u-new')"

    def per_key() -> tuple[bool, str]:
        cached, _, _ = make({"users/table": "u-t", "orders/table": "o-t"})
        got = (cached.get("users/table"), cached.get("orders/table"))
        return got == ("u-t", "o-t"), f"users then orders -> {got!r}"

    def errors_not_cached() -> tuple[bool, str]:
        failure = LookupError("parameter not there yet")
        cached, inner, _ = make({"users/table": failure})
        try:
            cached.get("users/table")
        except LookupError as error:
            if error is not failure:
                return False, "the source's error was replaced by another one"
        else:
            return False, "the source raised, CachedConfig returned a value"
        inner.values["users/table"] = "u-t"
        got = cached.get("users/table")
        return got == "u-t", f"after a failed read, the next read -> {got!r} (errors must not be cached)"

    def default_clock() -> tuple[bool, str]:
        inner = _Counting({"users/table": "u-t"})
        cached = adapter(_wrap(inner, ConfigPort), max_age=5)
        return cached.get("users/table") == "u-t", "CachedConfig(source, max_age=5) works without a clock"

    def wired() -> tuple[bool, str]:
        from clean_shop.bootstrap import config_for

        environ = {"USERS_TABLE": "u-t", "ORDERS_TABLE": "o-t", "CONFIG_MAX_AGE": "30"}
        config = config_for("LAMBDA", environ)
        return isinstance(config, adapter), (
            f"config_for('LAMBDA', {{…, 'CONFIG_MAX_AGE': '30'}}) -> {type(config).__name__}"
        )

    def not_wired_by_default() -> tuple[bool, str]:
        from clean_shop.bootstrap import config_for

        config = config_for("LAMBDA", {"USERS_TABLE": "u-t", "ORDERS_TABLE": "o-t"})
        return not isinstance(config, adapter), f"without CONFIG_MAX_AGE -> {type(config).__name__} (unchanged)"

    return [
        case("CachedConfig implements ConfigPort", is_port, look),
        case("reads through to the wrapped source", reads_through, look),
        case(
            "a second read within max_age is served from the cache", cached_within_max_age, "keep (value, time) per key"
        ),
        case(
            "after max_age the source is read again", refreshed_after_max_age, "compare clock() with the time stored"
        ),
        case("each key is cached on its own", per_key, look),
        case("a failed read is not cached (and its error passes through)", errors_not_cached, "store only on success"),
        case("the clock defaults to time.monotonic", default_clock, "clock: Callable[[], float] = time.monotonic"),
        case(
            "bootstrap wraps the runtime's adapter when CONFIG_MAX_AGE is set",
            wired,
            "config_for() in clean_shop/bootstrap.py — the one place that knows the process",
        ),
        case("… and leaves it alone when it is not", not_wired_by_default, "config_for() in clean_shop/bootstrap.py"),
    ]


def _wrap(inner: _Counting, port: type) -> Any:
    """The counting source as a real ConfigPort subclass (an adapter may check what it wraps)."""

    class CountingPort(port):  # type: ignore[misc, valid-type]
        def get(self, key: str) -> str:
            return inner.get(key)

    return CountingPort()


# --- 04 · pod-budget --------------------------------------------------------------------------------------


def pod_budget() -> list[CaseResult]:
    from shopctl.stages import STAGES
    from shopctl.targets import k8s

    look = "deployment() and render() in deployment/shopctl/targets/k8s.py"
    results = []
    for stage in STAGES:
        docs = k8s.example(stage)

        def budget(docs: list[dict] = docs, stage: str = stage) -> tuple[bool, str]:
            deployments = k8s.find(docs, "Deployment")
            budgets = k8s.find(docs, "PodDisruptionBudget")
            missing = []
            for deployment in deployments:
                labels = deployment["spec"]["template"]["metadata"]["labels"]
                replicas = deployment["spec"]["replicas"]
                covering = [
                    b
                    for b in budgets
                    if b.get("apiVersion") == "policy/v1"
                    and b["spec"].get("selector", {}).get("matchLabels")
                    and all(labels.get(k) == v for k, v in b["spec"]["selector"]["matchLabels"].items())
                    and b["metadata"].get("namespace") == deployment["metadata"].get("namespace")
                ]
                allows_drain = [
                    b
                    for b in covering
                    if b["spec"].get("maxUnavailable") == 1
                    or (isinstance(b["spec"].get("minAvailable"), int) and 1 <= b["spec"]["minAvailable"] < replicas)
                ]
                if not allows_drain:
                    why = (
                        "no budget selects its pods"
                        if not covering
                        else "its budget blocks every drain or allows none up"
                    )
                    missing.append(f"{deployment['metadata']['name']}: {why}")
            ok = bool(deployments) and not missing
            return ok, (
                f"{len(deployments)} Deployments, {len(budgets)} PodDisruptionBudgets"
                + (f"; {'; '.join(missing)}" if missing else "")
            )

        results.append(case(f"{stage}: every Deployment has a PodDisruptionBudget (policy/v1)", budget, look))

    def rendered(stage: str) -> str:  # what `make manifests` writes into deployment/eks/<stage>.yaml
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            k8s.main(["render", "--stage", stage])
        return out.getvalue()

    def rendered_files_current() -> tuple[bool, str]:
        stale = [
            stage
            for stage in STAGES
            if (REPO_ROOT / "deployment" / "eks" / f"{stage}.yaml").read_text() != rendered(stage)
        ]
        return not stale, "deployment/eks/*.yaml " + (f"out of date: {', '.join(stale)}" if stale else "match the code")

    def clean_yaml_has_it() -> tuple[bool, str]:
        import yaml

        docs = list(yaml.safe_load_all((REPO_ROOT / "deployment" / "eks" / "clean.yaml").read_text()))
        kinds = sorted({d["kind"] for d in docs if d})
        return "PodDisruptionBudget" in kinds, f"deployment/eks/clean.yaml holds {', '.join(kinds)}"

    results.append(case("deployment/eks/*.yaml are re-rendered", rendered_files_current, "make manifests"))
    results.append(case("the clean stage's manifest holds the budget", clean_yaml_has_it, "make manifests"))
    return results


# --- 05 · fourth-runtime (the lesson) --------------------------------------------------------------------


def apprunner_env(tables: Any) -> dict[str, str]:
    """What App Runner would give the service: RUNTIME, and a Secrets Manager secret (the shop keeps its
    settings as one JSON secret) handed over as an environment variable holding its text."""
    document = {"users": {"table": tables.users}, "orders": {"table": tables.orders}}
    return {"RUNTIME": "APPRUNNER", "SHOP_CONFIG": json.dumps(document)}


def fourth_runtime() -> list[CaseResult]:
    from shopctl.stages import STAGES

    with _private_aws("shop-check-aws-") as aws:  # one local AWS for the three stages: their tables differ
        return [result for stage in STAGES for result in _fourth_runtime_of(stage, aws)]


def _fourth_runtime_of(stage: str, aws: Any) -> list[CaseResult]:
    look = {
        "monolith": "every RUNTIME ladder in 01-monolith/monolith/main.py",
        "microservices": "config.py of users_service and orders_service (and the gateway?)",
        "clean": "clean_shop/adapters/config.py (a new adapter) and config_for() in bootstrap.py",
    }[stage]
    try:
        with (
            _serving(stage, config_env=apprunner_env, aws=aws) as url,
            httpclient.client(base_url=url, timeout=30) as api,
        ):

            def health(api: httpx.Client = api) -> tuple[bool, str]:
                got = api.get("/health")
                runtime = got.json().get("runtime") if got.is_success else None
                return (
                    got.is_success and runtime == "APPRUNNER",
                    f"/health -> {got.status_code}, runtime {runtime!r}",
                )

            def flow(api: httpx.Client = api) -> tuple[bool, str]:
                user = _new_user(api)
                order = api.post("/orders", json={"user_id": user, "product": "book", "quantity": 2})
                listed = api.get("/orders", params={"user_id": user})
                count = len(listed.json().get("items", [])) if listed.is_success else None
                ok = order.status_code == 201 and count == 1
                return ok, f"user 201, order {order.status_code}, the user's orders: {count}"

            return [
                case(f"{stage}: serves with RUNTIME=APPRUNNER and only SHOP_CONFIG", health, look),
                case(f"{stage}: a user and an order land in the tables SHOP_CONFIG names", flow, look),
            ]
    except Exception as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return [
            case(
                f"{stage}: serves with RUNTIME=APPRUNNER and only SHOP_CONFIG",
                lambda first=first: (False, f"did not start: {first}"),
                look,
            )
        ]
