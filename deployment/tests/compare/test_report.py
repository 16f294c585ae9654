"""`make compare` end to end on a reduced run, the four Lambda modes, and the optimised package (OPTIMIZE=1).

One quick compare (`Options.quick_run`: N=1, the clean stage on the local Lambda in its four modes — plain
and optimised ZIP, SnapStart, the Web Adapter image — and as a local process, the floor, a slice of two test
tiers) runs once per session against the
session's local AWS (the `quick_compare` fixture in conftest.py). The tests check that the report is
well-formed and its numbers are sane and consistent (JSON = markdown); never that one variant is faster
than another — that is what the report is for, and machines are noisy.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from shopctl import cli
from shopctl.compare import cli as compare_cli
from shopctl.compare import lambda_subjects, report, side_by_side
from shopctl.package import BOTO_SERVICES, Platform, build
from shopctl.stages import STAGES
from shopctl.targets import lambda_target, naming

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def compared(quick_compare) -> tuple[dict[str, Any], Path]:
    return quick_compare  # the session's one quick run (conftest.py), also shown by notebook 05


def by_variant(rows: list[dict], variant: str) -> dict[str, dict]:
    return {row["function"]: row for row in rows if row["variant"] == variant}


def test_every_section_and_chart_is_written(compared) -> None:
    result, out = compared
    markdown = (out / "report.md").read_text()
    for heading in report.REPORT_SECTIONS:
        assert f"\n{heading}\n" in markdown
    assert "Not measured" not in markdown
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == json.loads(json.dumps(result))
    assert set(on_disk) == {"meta", "coupling", "coldstart", "tests", "charts"}
    assert set(result["charts"]) == {"coupling", "impact", "coldstart", "modes", "process", "testcost"}
    for name in result["charts"].values():
        png = (out / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        assert f"]({name})" in markdown
    assert "_Method:" in markdown and "Trade-offs:" in markdown
    learner, maintainers = markdown.split(report.REPORT_SECTIONS[-1])
    assert "goal" not in learner.lower() and "not met" not in learner  # goals are the maintainers' view
    assert "why it is a goal" in maintainers


def test_cold_start_figures_are_in_sane_ranges(compared) -> None:
    cold = compared[0]["coldstart"]
    bare = cold["bare_python_ms"]["median"]
    assert 0 < bare < 10_000
    floor = cold["floor"]["lambda"]
    assert set(floor) == {"plain"}  # the quick run packages the floor plain only
    for row in floor.values():
        assert row["cold_starts_seen"] == cold["n"]  # every forced cold start shows an Init Duration
        assert row["cold_request_ms"]["median"] > bare  # the floor imports FastAPI, pydantic, boto3
        assert row["cold_request_ms"]["median"] > row["warm_p50_ms"] > 0
    rows = cold["lambda"]
    assert [(r["function"], r["variant"]) for r in rows] == [("shop-clean", mode) for mode in lambda_subjects.MODES]
    for row in rows:
        assert row["cold_starts_seen"] == cold["n"]
        if row["variant"] == "snapstart":  # restored from the snapshot: Restore Duration, never Init Duration
            assert row["init_ms"] is None and row["restore_ms"]["median"] > 0
            assert row["cold_request_ms"]["median"] > row["restore_ms"]["median"]
        else:
            assert row["restore_ms"] is None and row["init_ms"]["median"] > 0
            assert row["cold_request_ms"]["median"] > row["init_ms"]["median"]  # the client sees init + invoke
        assert row["warm_p50_ms"] > 0
        assert row["warm_p99_ms"] >= row["warm_p50_ms"]
        if row["variant"] == "image":  # the stage's container command, no ZIP
            assert row["package"] is None
            assert row["image_command"] == naming.container_command(STAGES["clean"].services[0])
        else:
            assert 0 < row["package"]["zipped_mb"] < row["package"]["unzipped_mb"] < 250
        assert row["floor_variant"] == "plain"  # the quick run measures the floor as the plain ZIP only
        floor_median = floor[row["floor_variant"]]["cold_request_ms"]["median"]
        assert row["cold_request_ratio"] == pytest.approx(row["cold_request_ms"]["median"] / floor_median, abs=1e-3)
        # Both packages still serve the contract: the talk's flow ran against each deployment.
        assert row["flow_ok"], row["flow"]
    plain, optimized = by_variant(rows, "plain")["shop-clean"], by_variant(rows, "optimized")["shop-clean"]
    assert optimized["package"]["zipped_mb"] < plain["package"]["zipped_mb"]
    assert optimized["package"]["files"] < plain["package"]["files"]
    [process] = cold["process"]
    assert (process["stage"], process["target"]) == ("clean", "local")
    assert process["healthy_ms"]["median"] > bare
    assert process["first_request_ms"]["median"] > 0
    assert process["healthy_ratio"] == pytest.approx(
        process["healthy_ms"]["median"] / cold["floor"]["process"]["local"]["healthy_ms"]["median"], abs=1e-3
    )
    assert process["start_to_first_response_ms"]["median"] > process["healthy_ms"]["median"]
    assert process["ratio"] == pytest.approx(
        process["start_to_first_response_ms"]["median"]
        / cold["floor"]["process"]["local"]["start_to_first_response_ms"]["median"],
        abs=1e-3,
    )


def test_import_time_breakdown_names_the_real_contributors(compared) -> None:
    breakdown = compared[0]["coldstart"]["importtime"]
    assert set(breakdown) == {"clean"}  # the floor's breakdown is left out of the quick run
    clean = breakdown["clean"]
    assert clean["module"] == "clean_shop.entrypoints.lambda_handler"
    names = [item["package"] for item in clean["top"]]
    assert {"fastapi", "pydantic", "clean_shop"} <= set(names)
    assert 0 < sum(item["share"] for item in clean["top"]) <= 1.0
    assert all(item["self_ms"] > 0 for item in clean["top"])


def test_goals_are_reported_from_the_measured_figures(compared) -> None:
    cold = compared[0]["coldstart"]
    goals = cold["goals"]
    [floor_goal] = goals["floor"]
    plain = by_variant(cold["lambda"], "plain")["shop-clean"]
    assert floor_goal["ratio"] == plain["cold_request_ratio"]
    assert floor_goal["met"] == (plain["cold_request_ratio"] <= 1.10)
    [gain] = goals["optimized"]
    optimized = by_variant(cold["lambda"], "optimized")["shop-clean"]
    expected = 1 - optimized["cold_request_ms"]["median"] / plain["cold_request_ms"]["median"]
    assert gain["cold_request_gain"] == pytest.approx(expected, abs=1e-3)
    assert "clean_vs_monolith" not in goals  # the monolith was not measured in this reduced run
    for mode, limit in (("snapstart", 0.25), ("image", 1.2)):
        [check] = goals[mode]
        row = by_variant(cold["lambda"], mode)["shop-clean"]
        versus = row["cold_request_ms"]["median"] / plain["cold_request_ms"]["median"]
        assert check["ratio"] == pytest.approx(versus, abs=1e-3)
        assert goals[f"{mode}_limit"] == limit and check["met"] == (check["ratio"] <= limit)
    restore = by_variant(cold["lambda"], "snapstart")["shop-clean"]["restore_ms"]["median"]
    assert goals["snapstart"][0]["restore_ratio"] == pytest.approx(
        restore / plain["cold_request_ms"]["median"], abs=1e-3
    )


def test_the_modes_table_carries_every_mode_by_stage_against_the_plain_zip(compared) -> None:
    result, out = compared
    cold = result["coldstart"]
    table = cold["lambda_modes"]
    assert list(table) == ["floor", "clean"]
    assert list(table["floor"]) == ["plain"] and list(table["clean"]) == list(lambda_subjects.MODES)
    rows = by_variant(cold["lambda"], "plain")
    plain = rows["shop-clean"]["cold_request_ms"]["median"]
    for mode, figures in table["clean"].items():
        row = by_variant(cold["lambda"], mode)["shop-clean"]
        assert figures["cold_request_ms"] == row["cold_request_ms"]["median"]
        assert figures["x_plain_zip"] == pytest.approx(row["cold_request_ms"]["median"] / plain, abs=1e-3)
        assert figures["x_floor"] == row["cold_request_ratio"] and figures["floor_mode"] == "plain"
        assert (figures["restore_ms"] is not None) == (mode == "snapstart")
        assert (figures["init_ms"] is None) == (mode == "snapstart")
    assert table["clean"]["plain"]["x_plain_zip"] == 1.0
    markdown = (out / "report.md").read_text()
    section = markdown.split("### Four Lambda modes side by side")[1].split("_Method:")[0]
    assert "](modes.png)" in section
    restore = table["clean"]["snapstart"]["restore_ms"]
    line = next(ln for ln in section.splitlines() if ln.startswith("| **clean** | `SNAPSTART=1`"))
    assert f"| restore {restore:.0f} |" in line and f"| {table['clean']['snapstart']['x_plain_zip']:.2f}x |" in line


def test_test_cost_shows_which_tiers_need_an_emulator(compared) -> None:
    tests = compared[0]["tests"]
    tiers = {(t["stage"], t["tier"]): t for t in tests["tiers"]}
    monolith, clean = tiers[("monolith", "all tests")], tiers[("clean", "unit")]
    for tier in (monolith, clean):
        assert tier["reduced"] and tier["tests"] > 0 and tier["failed"] == 0
        assert 0 < tier["in_tests_s"] < tier["wall_s"]
        assert tier["per_test_ms"] == pytest.approx(tier["wall_s"] / tier["tests"] * 1000, abs=0.1)
    assert monolith["needs_emulator"] and monolith["tests_with_emulator"] == monolith["tests"]
    assert monolith["emulators"] == ["moto server"]
    assert not clean["needs_emulator"] and clean["tests_with_emulator"] == 0


def test_markdown_shows_the_json_figures(compared) -> None:
    result, out = compared
    markdown = (out / "report.md").read_text()
    cold = result["coldstart"]
    for row in cold["lambda"]:
        line = next(ln for ln in markdown.splitlines() if f"`{row['function']}` | {row['variant']} |" in ln)
        assert f"| {row['cold_request_ms']['median']:.0f} |" in line
        boot = row["init_ms"] or row["restore_ms"]  # SnapStart: the restore, in its own column
        assert f"| {boot['median']:.0f} |" in line
        if row["variant"] in cold["floor"]["lambda"]:  # x floor only against the floor in the same mode
            assert f"| {row['cold_request_ratio']:.2f}x" in line
        else:  # the quick run measures the floor as the plain ZIP only: no second denominator
            assert "| — (no floor in this mode) |" in line
    summary_section = markdown.split(report.REPORT_SECTIONS[0])[1].split(report.REPORT_SECTIONS[1])[0]
    [summary] = [ln for ln in summary_section.splitlines() if ln.startswith("| clean | ")]
    plain = by_variant(cold["lambda"], "plain")["shop-clean"]
    assert f"{plain['cold_request_ms']['median']:.0f} ms, {plain['cold_request_ratio']:.2f}x" in summary
    assert f"| {result['coupling']['stages']['clean']['lines']} |" in summary
    for tier in result["tests"]["tiers"]:
        assert re.search(rf"\| {tier['tests']} \| {tier['failed']} \| {tier['wall_s']:.2f} \|", markdown)
    assert report.summary_text(result).splitlines()[0].startswith("| stage |")


def test_render_redraws_the_same_report_from_its_json(compared) -> None:
    result, out = compared
    before = (out / "report.md").read_text()
    (out / "coldstart.png").unlink()
    assert compare_cli.main(["--render", "--out", str(out)]) == 0
    assert (out / "report.md").read_text() == before
    assert (out / "coldstart.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(result))


def test_render_still_reads_a_report_from_before_the_modes(tmp_path: Path) -> None:
    """notebooks/reference/side-by-side.json was written when only the two ZIPs were measured."""
    (tmp_path / "report.json").write_text(side_by_side.REFERENCE.read_text())
    assert compare_cli.main(["--render", "--out", str(tmp_path)]) == 0
    rendered = json.loads((tmp_path / "report.json").read_text())
    assert set(rendered["coldstart"]["lambda_modes"]["clean"]) == {"plain", "optimized"}
    assert "### Four Lambda modes side by side" in (tmp_path / "report.md").read_text()


# --- the optimised package -------------------------------------------------------------------------------


def test_optimized_package_precompiles_and_strips_what_the_runtime_does_not_need() -> None:
    stage = STAGES["clean"]
    service = stage.services[0]
    plain = build(stage, service, Platform.local(), quiet=True)
    optimized = build(stage, service, Platform.local(), quiet=True, optimize=True)
    assert optimized.path != plain.path
    assert optimized.zipped_bytes < plain.zipped_bytes
    names = zipfile.ZipFile(optimized.path).namelist()
    tag = f"cpython-{Platform.local().python_version.replace('.', '')}"
    for module in ("clean_shop/entrypoints/lambda_handler", "fastapi/applications", "botocore/client"):
        folder, _, name = module.rpartition("/")
        assert f"{module}.py" in names  # sources stay: tracebacks keep their lines
        pyc = f"{folder}/__pycache__/{name}.{tag}.pyc"
        assert pyc in names
        flags = int.from_bytes(zipfile.ZipFile(optimized.path).read(pyc)[4:8], "little")
        assert flags == 0b01  # hash-based, unchecked: valid whatever the file times after unzipping
    services = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 2}
    assert services and services <= set(BOTO_SERVICES) and "dynamodb" in services
    for needed in ("endpoints.json", "partitions.json", "sdk-default-configuration.json", "_retry.json"):
        assert f"botocore/data/{needed}" in names
    assert not [n for n in names if n.endswith("examples-1.json") or "/tests/" in n]
    plain_names = zipfile.ZipFile(plain.path).namelist()
    assert "botocore/data/s3/2006-03-01/service-2.json.gz" in plain_names
    assert not [n for n in plain_names if n.endswith(".pyc")]
    # Unchanged inputs, same bytes: an unchanged OPTIMIZE=1 deploy changes nothing.
    assert build(stage, service, Platform.local(), quiet=True, optimize=True).data == optimized.data


def test_bytecode_is_skipped_with_a_note_when_the_runtime_is_another_python(capsys) -> None:
    """ENV=aws: the function's runtime may not be this interpreter's version; .pyc would not load there."""
    local = Platform.local().python_version
    other = Platform.aws("3.12" if local != "3.12" else "3.13")
    stage = STAGES["clean"]
    package = build(stage, stage.services[0], other, optimize=True)
    assert "bytecode not precompiled" in capsys.readouterr().out
    names = zipfile.ZipFile(package.path).namelist()
    assert not [n for n in names if n.endswith(".pyc")]
    assert {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 2} <= set(BOTO_SERVICES)


def test_optimize_is_a_deploy_option_for_lambda() -> None:
    args = cli.build_parser().parse_args(["deploy", "--stage", "clean", "--target", "lambda", "--optimize"])
    options = lambda_target.options(args)
    assert isinstance(options, lambda_target.Options) and options.optimize
    plan = lambda_target.plan(STAGES["clean"], options)
    assert any("optimised package" in line for line in plan)
    plain = lambda_target.options(cli.build_parser().parse_args(["deploy", "--stage", "clean"]))
    assert not plain.optimize
