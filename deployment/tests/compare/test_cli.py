"""`python -m shopctl.compare`'s options: what each flag measures, and bad options as one line and a hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from shopctl.compare import cli as compare_cli
from shopctl.compare import lambda_subjects


def test_bad_options_fail_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        compare_cli.build_parser().parse_args(["--sections", "coupling,speed"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown section speed" in err
    assert err.splitlines()[0].startswith("error: ") and err.splitlines()[1].startswith("  hint: ")
    assert len(err.splitlines()) == 2  # no usage block: one line and a hint
    assert compare_cli.main(["--n", "0"]) == 1
    assert "--n must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare_cli.build_parser().parse_args(["--modes", "plain,provisioned"])
    assert "unknown mode provisioned; use plain,optimized,snapstart,image" in capsys.readouterr().err


def test_modes_choose_what_is_deployed_and_the_floor_follows() -> None:
    parse = compare_cli.build_parser().parse_args
    assert compare_cli.options_from(parse([])).modes == lambda_subjects.MODES  # the full run: all four
    options = compare_cli.options_from(parse(["--modes", "plain,snapstart"]))
    assert options.modes == options.floor_modes == ("plain", "snapstart")
    quick = compare_cli.options_from(parse(["--quick"]))
    assert quick.modes == lambda_subjects.MODES and quick.floor_modes == ("plain",)
    snap = lambda_subjects.mode_options("snapstart", port=8123)
    assert (snap.snapstart, snap.optimize, snap.package, snap.port) == (True, False, "zip", 8123)
    image = lambda_subjects.mode_options("image")
    assert (image.package, image.snapstart, image.optimize) == ("image", False, False)
    assert lambda_subjects.mode_options("optimized").optimize and not lambda_subjects.mode_options("plain").optimize


def test_side_by_side_is_the_three_stages_on_lambda_with_both_packages_and_the_floor() -> None:
    options = compare_cli.options_from(compare_cli.build_parser().parse_args(["--side-by-side"]))
    assert (options.n, options.sections, options.targets) == (3, ("coldstart",), ("lambda",))
    assert set(options.stages) == {"monolith", "microservices", "clean"}
    assert options.modes == options.floor_modes == ("plain", "optimized")  # under three minutes: the ZIPs only
    assert options.importtime is False
    assert options.command == "python -m shopctl.compare --side-by-side"


def test_side_by_side_refuses_other_targets_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert compare_cli.main(["--side-by-side", "--targets", "ecs"]) == 1
    first = capsys.readouterr().err.strip().splitlines()[0]
    assert first.startswith("error: --side-by-side measures Lambda cold starts only")


def test_env_aws_measures_lambda_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert compare_cli.main(["--env", "aws", "--sections", "coldstart", "--targets", "lambda,ecs"]) == 1
    err = capsys.readouterr().err
    assert "ENV=aws measures Lambda cold starts only" in err and "hint:" in err
    args = compare_cli.build_parser().parse_args(["--env", "aws"])
    assert compare_cli.options_from(args).targets == ("lambda",)
    assert compare_cli.options_from(args).modes == ("plain", "optimized", "snapstart")  # the floor has no image in ECR
    assert compare_cli.main(["--env", "aws", "--sections", "coldstart", "--modes", "plain,image"]) == 1
    err = capsys.readouterr().err
    assert "ENV=aws measures plain, optimized and snapstart" in err and "make coldstart PACKAGE=image ENV=aws" in err


def test_env_aws_asks_before_creating_anything(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = compare_cli.main(["--env", "aws", "--sections", "coldstart", "--stages", "monolith", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and "not confirmed" in err and "YES=1" in err
    assert "shop-floor" in out and "Lambda function shop-monolith" in out and "deleted at the end" in out
    assert not boto3.client("lambda").list_functions()["Functions"]  # nothing was created


def test_python_dash_m_runs_the_command_line() -> None:
    """shopctl/compare/__main__.py: what `make compare` runs."""
    done = subprocess.run(
        [sys.executable, "-m", "shopctl.compare", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m shopctl.compare") and "--modes" in done.stdout
