"""The `make verify` runner: one table, one line per failure with a hint, the exit code, the report —
checked with fake check modules (no local AWS, no deploy)."""

from __future__ import annotations

import json
from types import ModuleType

from shopctl.verify import runner
from shopctl.verify.result import Result


def fake_check(name: str, failing: set[tuple[str, str]] = frozenset(), *, crash: bool = False) -> ModuleType:
    module = ModuleType(f"shopctl.verify.{name}")
    calls: list[tuple[str, str, bool]] = []

    def run(stage: str, target: str, *, reduced: bool) -> list[Result]:
        calls.append((stage, target, reduced))
        if crash:
            raise ValueError("boom\nsecond line")
        result = Result(name, stage, target, tried=3, figures={"rps": 12.5})
        if (stage, target) in failing:
            result.fail("the answer was 500")
        return [result]

    module.run = run  # type: ignore[attr-defined]
    module.calls = calls  # type: ignore[attr-defined]
    return module


def run_verify(tmp_path, modules: dict[str, ModuleType | None], **kwargs):
    lines: list[str] = []
    code = runner.verify(
        list(modules), kwargs.pop("stages", ["monolith", "clean"]), kwargs.pop("targets", ["local", "lambda"]),
        reduced=True, loader=modules.get, report_dir=tmp_path, say=lines.append, **kwargs,
    )  # fmt: skip
    return code, "\n".join(lines)


def test_all_rows_pass_exit_0_and_every_stage_target_is_run(tmp_path) -> None:
    check = fake_check("load")
    code, out = run_verify(tmp_path, {"load": check})
    assert code == 0
    assert check.calls == [
        ("monolith", "local", True), ("monolith", "lambda", True), ("clean", "local", True), ("clean", "lambda", True)
    ]  # fmt: skip
    assert "… [4/4] load: clean on lambda" in out
    header = next(line for line in out.splitlines() if line.startswith("check"))
    assert header.split() == ["check", "stage", "target", "tried", "failed", "figures"]
    assert "✓ 4/4 rows passed, 12 cases tried" in out


def test_a_failure_exits_1_with_one_line_and_a_rerun_hint(tmp_path) -> None:
    code, out = run_verify(tmp_path, {"load": fake_check("load", {("clean", "lambda")})})
    assert code == 1
    assert "✗ load clean/lambda: the answer was 500" in out
    assert "hint: make verify CHECKS=load STAGE=clean TARGET=lambda" in out
    assert "✗ 3/4 rows passed" in out


def test_a_crashing_check_is_a_failed_row_and_the_others_still_run(tmp_path) -> None:
    other = fake_check("policy")
    code, out = run_verify(tmp_path, {"faults": fake_check("faults", crash=True), "policy": other})
    assert code == 1
    assert "✗ faults monolith/local: check crashed: ValueError: boom" in out
    assert "second line" not in out
    assert len(other.calls) == 4


def test_a_missing_check_module_is_reported_not_fatal(tmp_path) -> None:
    code, out = run_verify(tmp_path, {"fuzz": None, "load": fake_check("load")})
    assert code == 0
    assert "check 'fuzz' is not available" in out
    assert json.loads((tmp_path / "report.json").read_text())["missing_checks"] == ["fuzz"]


def test_cases_let_a_check_choose_its_targets(tmp_path) -> None:
    check = fake_check("load")
    check.cases = lambda stages, targets: [(s, "local") for s in stages]  # type: ignore[attr-defined]
    run_verify(tmp_path, {"load": check})
    assert [c[:2] for c in check.calls] == [("monolith", "local"), ("clean", "local")]


def test_report_files_hold_the_table_and_the_rows(tmp_path) -> None:
    run_verify(tmp_path, {"load": fake_check("load", {("monolith", "local")})})
    report = (tmp_path / "report.md").read_text()
    assert "load   monolith  local" in report and "rps=12.5" in report
    assert "the answer was 500" in report
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert (rows[0]["stage"], rows[0]["target"], rows[0]["failed"]) == ("monolith", "local", 1)


def test_real_check_modules_load_and_unknown_ones_are_none() -> None:
    for name in ("load", "deploy_safety", "policy"):
        module = runner.load_check(name)
        assert module is not None and callable(module.run)
    assert runner.load_check("no_such_check") is None


def test_filters_reject_unknown_names() -> None:
    import pytest

    from shopctl.errors import ShopctlError

    assert runner._split("clean,monolith", ["monolith", "microservices", "clean"], "stage") == ["clean", "monolith"]
    with pytest.raises(ShopctlError, match="unknown stage nope"):
        runner._split("nope", ["clean"], "stage")
