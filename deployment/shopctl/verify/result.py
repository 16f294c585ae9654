"""One row of the `make verify` table: what was tried, what failed, and why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    check: str  # e.g. "fuzz", "load", "faults: dynamodb down", "policy: checkov"
    stage: str  # monolith | microservices | clean | "-" when a check is not per stage
    target: str  # local | lambda | ecs | eks | "-"
    tried: int = 0  # requests sent / cases run / resources scanned — counted by the run, never a constant
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # one line each, first few kept for the report
    figures: dict[str, float] = field(default_factory=dict)  # e.g. {"rps": 180.0, "p50_ms": 4.1}
    # Behaviour that is not a failure but must not pass silently (e.g. what the contract allows under a race).
    notes: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < 20:
            self.failures.append(reason)

    @property
    def ok(self) -> bool:
        return self.failed == 0
