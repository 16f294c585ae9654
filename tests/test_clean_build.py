"""`make clean-build` removes what can be rebuilt, never the records of what deployments created."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_clean_build_keeps_the_deployment_records(tmp_path: Path) -> None:
    record = tmp_path / ".run/deployments/aws-123456789012-eu-west-1/clean-ecs.json"
    rebuildable = [tmp_path / p for p in ("build/compare/report.md", ".run/logs/run.log", ".run/moto-5000.log")]
    for path in [record, *rebuildable]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")

    subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-C", str(tmp_path), "clean-build"],
        check=True, capture_output=True,
    )

    assert record.read_text() == "{}"  # destroy needs it: without it, it would have to rediscover by tags
    assert [p for p in rebuildable if p.exists()] == []
    assert sorted(p.name for p in (tmp_path / ".run").iterdir()) == ["deployments"]
