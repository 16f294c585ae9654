"""`make test`: every suite, in six pytest processes side by side (this machine has 2 cores; the suites
are CPU-bound, mostly in the local AWS and the apps they start, but each also waits on processes it starts).

Shard "main": unit and integration tests, the contract and browser tests against the stages as `make run`
serves them, the mixed deployment, the exercises' checkers run on their reference solutions and the AWS
building blocks against moto. Shards "deploy-code" (the targets), "checks" (the targets against what a real
account refuses, and `make verify`'s code: the CI role, the load generator) and "deploy-rest" (the rest of the
deploy code): against in-process moto. Shard "deployed": the contract and browser tests against the stages
deployed to the local Lambda, ECS and EKS. Shard "workshop": the notebooks executed, the reliability checks,
the comparison report, the local Lambda's tests and the microservices on it. Each shard that serves a stage
starts its own local AWS. Lines are streamed with the shard's name; the last line sums the shards. With
arguments, runs one plain pytest with them instead (e.g. `-k users`).

The split follows measured CPU and wall time (docs/testing.md, "Where the time goes"): the shards should
finish together. Every test runs in exactly one shard: SHOP_CONTRACT_TARGETS decides which shard serves
which targets (tests/support/targets.py), and the paths below the rest.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

# The third shard's suites mostly wait on processes they start (notebook kernels, load generators, cold
# starts), so they run alongside the other two rather than after them.
# The microservices on the local Lambda: they wait on the functions they start (so they are not in a
# lower-priority shard), and they were a quarter of the deploy code's shard, which still finished last.
MICROSERVICES_ON_LAMBDA = "deployment/tests/targets/test_microservices_lambda_local.py"
THIRD = ["tests/notebooks", "tests/reliability", "deployment/tests/compare/test_report.py",
         # the local Lambda's own tests: the deploy code's shard was the last to finish by ~3 minutes
         "deployment/tests/lambda_local", MICROSERVICES_ON_LAMBDA]
# (tests/e2e and the exercises' solution checks start their own servers: they run in "main", which finishes
# first otherwise — in "deployed" they made it the last shard by ~15 s.)
# The deploy code's tests (pyproject.toml's last testpath): in-process moto accounts and local Lambda
# functions, no stage served.
REFUSALS = "deployment/tests/targets/test_aws_refusals.py"
MAIN = ["tests", "01-monolith/tests", "02-microservices/tests", "03-clean-architecture/tests",
        # the AWS building blocks' tests (in-process moto): the deploy code's shard was still the last to finish
        "deployment/tests/aws"]
SHARDS = {
    "main": ([*MAIN, *(f"--ignore={path}" for path in THIRD)], "local"),
    # The deploy code's tests run in the pytest process itself (in-process moto): ~280 CPU-seconds in one process
    # is one core for the whole run, so they are three shards (the refusals alone were a third of the targets').
    # With the servers first (BATCH below), "checks" finished a minute before the others and "deploy-code" last,
    # alone on one core: `make verify`'s tests moved from the one to the other.
    "deploy-code": (["deployment/tests/targets", f"--ignore={REFUSALS}", f"--ignore={MICROSERVICES_ON_LAMBDA}"],
                    "local"),
    "checks": ([REFUSALS, "deployment/tests/verify"], "local"),
    "deploy-rest": (["deployment/tests", "--ignore=deployment/tests/aws", "--ignore=deployment/tests/targets",
                     "--ignore=deployment/tests/verify",
                     *(f"--ignore={path}" for path in THIRD if path.startswith("deployment/"))], "local"),
    # The browser tests of an app deployed to the local Lambda share that deployment with the contract suite.
    "deployed": (["tests/contract", "tests/browser/test_offline_docs.py", "-m", "e2e"],
                 "lambda,ecs,eks"),
    "workshop": (THIRD, "local"),
}
# The shards that serve nothing: their tests run moto in the pytest process itself, and nothing waits on them
# but the clock. The other shards' tests wait on servers (the local AWS, the apps, the local Lambda) whose
# clients give up after a few seconds, as the apps' own DynamoDB clients do (1 s to connect, 2 s to read).
# With six shards on two cores, a server that waits its turn behind these can miss such a deadline; run
# at a lower priority, these shards take the CPU the servers leave (the run is CPU-bound either way, so
# its total time stays about the same; docs/testing.md).
BATCH = {"deploy-code", "checks", "deploy-rest"}
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected)")


def lower_priority() -> None:
    """In the child, before pytest starts (so everything it starts inherits it). POSIX only: elsewhere
    (no os.nice, no preexec_fn) every shard runs at the same priority."""
    os.nice(10)


def main(argv: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    if argv:
        return subprocess.call([*pytest, *argv])
    started = time.monotonic()
    procs: dict[str, subprocess.Popen[str]] = {}
    outputs: dict[str, list[str]] = {name: [] for name in SHARDS}
    lock = threading.Lock()

    def pump(name: str, proc: subprocess.Popen[str]) -> None:
        for line in proc.stdout or []:
            outputs[name].append(line)
            with lock:
                print(f"[{name:>11}] {line}", end="", flush=True)

    # Every shard is started before the first thread: a preexec_fn runs in a forked child, which is only safe
    # while this process has no other thread.
    for name, (args, targets) in SHARDS.items():
        env = {**os.environ, "SHOP_CONTRACT_TARGETS": targets}
        procs[name] = subprocess.Popen([*pytest, "-q", "-p", "no:cacheprovider", *args], env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       preexec_fn=lower_priority if name in BATCH and hasattr(os, "nice") else None)
    threads = [threading.Thread(target=pump, args=(name, proc)) for name, proc in procs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = {name: proc.wait() for name, proc in procs.items()}

    totals: dict[str, int] = {}
    for lines in outputs.values():
        tail = next((ln for ln in reversed(lines) if SUMMARY.search(ln)), "")
        for count, kind in SUMMARY.findall(tail):
            kind = "errors" if kind.startswith("error") else kind
            totals[kind] = totals.get(kind, 0) + int(count)
    elapsed = time.monotonic() - started
    print(f"\nshards: {', '.join(f'{n} exit {c}' for n, c in codes.items())}; wall time {elapsed:.0f}s")
    failed = totals.get("failed", 0) + totals.get("errors", 0)
    if all(code == 5 for code in codes.values()):
        print("error: no tests were collected")
        return 1
    ok = all(code in (0, 5) for code in codes.values())
    print(f"total: {totals.get('passed', 0)} passed, {failed} failed, {totals.get('skipped', 0)} skipped")
    return 0 if ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
