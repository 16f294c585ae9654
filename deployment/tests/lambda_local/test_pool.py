"""shopctl.lambda_local.pool: a warm environment of the current configuration is reused (the most recently
used first), a new one is made only within the concurrency limit and beyond it the request is throttled;
idle ones are recycled after the idle timeout and when the configuration changes. The environments here are
fakes with the lifecycle the pool relies on (no processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shopctl.lambda_local.pool import Pool, Throttled


class FakeEnvironment:
    """What the pool uses of an ExecutionEnvironment: its fingerprint, state, alive(), finish(), kill()."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.state = "new"
        self.last_used = time.monotonic()
        self.killed = False

    def alive(self) -> bool:
        return not self.killed

    def finish(self) -> None:
        if self.state == "busy":
            self.state = "idle"

    def kill(self) -> None:
        self.killed = True
        self.state = "dead"


class Factory:
    def __init__(self, fingerprint: str = "v1") -> None:
        self.fingerprint = fingerprint
        self.made: list[FakeEnvironment] = []

    def __call__(self) -> FakeEnvironment:
        env = FakeEnvironment(self.fingerprint)
        env.state = "busy"  # started and invoked: what the service does with a new one
        self.made.append(env)
        return env


@pytest.fixture
def pool() -> Iterator[Pool]:
    made = Pool(max_concurrency=2, idle_timeout=60)
    yield made
    made.close()


def test_a_released_environment_is_reused_warm(pool: Pool) -> None:
    create = Factory()
    first = pool.acquire("v1", create)
    pool.release(first, "v1")
    assert first.state == "idle" and not first.killed
    assert pool.acquire("v1", create) is first
    assert len(create.made) == 1


def test_the_most_recently_used_environment_goes_first(pool: Pool) -> None:
    create = Factory()
    a, b = pool.acquire("v1", create), pool.acquire("v1", create)
    pool.release(a, "v1")
    pool.release(b, "v1")
    assert pool.acquire("v1", create) is b
    assert pool.acquire("v1", create) is a


def test_beyond_the_concurrency_limit_requests_are_throttled(pool: Pool) -> None:
    create = Factory()
    busy = [pool.acquire("v1", create), pool.acquire("v1", create)]
    with pytest.raises(Throttled, match="2 concurrent executions"):
        pool.acquire("v1", create)
    assert len(create.made) == 2
    pool.release(busy[0], "v1")
    assert pool.acquire("v1", create) is busy[0]  # a freed environment serves the next request


def test_an_idle_environment_of_another_configuration_is_killed_not_reused(pool: Pool) -> None:
    old = pool.acquire("v1", Factory("v1"))
    pool.release(old, "v1")
    new = pool.acquire("v2", Factory("v2"))
    assert new is not old and new.fingerprint == "v2"
    assert old.killed
    assert pool.environments() == [new]


def test_a_dead_idle_environment_is_not_handed_out(pool: Pool) -> None:
    create = Factory()
    env = pool.acquire("v1", create)
    pool.release(env, "v1")
    env.killed = True  # its process died while idle
    assert pool.acquire("v1", create) is not env
    assert len(create.made) == 2


def test_release_kills_an_environment_whose_configuration_changed_meanwhile(pool: Pool) -> None:
    env = pool.acquire("v1", Factory("v1"))
    pool.release(env, "v2")
    assert env.killed
    assert pool.environments() == []


def test_release_kills_an_environment_lost_in_its_invocation(pool: Pool) -> None:
    env = pool.acquire("v1", Factory())
    env.kill()  # a timeout or a crash
    pool.release(env, "v1")
    assert pool.environments() == []


def test_retire_kills_the_idle_environments_of_other_configurations_only(pool: Pool) -> None:
    old = pool.acquire("v1", Factory("v1"))
    current = pool.acquire("v2", Factory("v2"))
    pool.release(current, "v2")
    pool.release(old, "v1")  # released just before the configuration change was seen
    assert pool.retire("v2") == 1
    assert old.killed and not current.killed
    assert pool.environments() == [current]
    assert pool.retire("v2") == 0


def test_idle_environments_are_recycled_after_the_idle_timeout() -> None:
    pool = Pool(max_concurrency=2, idle_timeout=0.1)
    try:
        env = pool.acquire("v1", Factory())
        pool.release(env, "v1")
        deadline = time.monotonic() + 3
        while not env.killed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert env.killed
        assert pool.environments() == []
    finally:
        pool.close()


def test_a_busy_environment_is_not_recycled_while_it_runs() -> None:
    pool = Pool(max_concurrency=2, idle_timeout=0.05)
    try:
        env = pool.acquire("v1", Factory())
        time.sleep(0.3)
        assert not env.killed
        assert pool.environments() == [env]
    finally:
        pool.close()


def test_close_kills_everything_and_takes_no_more_requests() -> None:
    pool = Pool(max_concurrency=2, idle_timeout=60)
    create = Factory()
    busy, idle = pool.acquire("v1", create), pool.acquire("v1", create)
    pool.release(idle, "v1")
    pool.close()
    assert busy.killed and idle.killed
    with pytest.raises(Throttled, match="shutting down"):
        pool.acquire("v1", create)
    pool.release(busy, "v1")  # its request ends after the close: it is not kept
    assert pool.environments() == []
