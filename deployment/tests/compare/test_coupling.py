"""The coupling analysis (shopctl.compare): its numbers are sane, follow from the code, and change
when the code does. No AWS needed: the stages are read as text, graphed by grimp and checked by
import-linter.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from shopctl.compare import coupling, report
from shopctl.compare.coupling import analyse, markdown
from shopctl.paths import REPO_ROOT, STAGE_DIRS
from shopctl.workshop import regions


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The facts of the stages as committed (HEAD), not of the working tree: a learner's solved exercises
    (cached-config moves the runtime ladder, say) must not turn these pinned facts red. Commit a change to a
    stage before expecting it here."""
    head = tmp_path_factory.mktemp("head")
    regions.export_head(REPO_ROOT, head)
    return analyse(roots={name: head / path.relative_to(REPO_ROOT) for name, path in STAGE_DIRS.items()})


def copy_stage(stage: str, destination: Path) -> Path:
    shutil.copytree(STAGE_DIRS[stage], destination, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    return destination


def impact_files(result: dict[str, Any], change: str, stage: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in result["impact"][change]["stages"][stage]["files"]}


def test_the_result_is_json_and_covers_every_stage(result: dict[str, Any]) -> None:
    assert json.loads(json.dumps(result)) == result
    assert list(result["stages"]) == ["monolith", "microservices", "clean"]


def test_sizes_add_up_and_tests_are_not_counted(result: dict[str, Any]) -> None:
    for stage in result["stages"].values():
        assert stage["files"] == len(stage["modules"]) == sum(p["files"] for p in stage["by_package"].values())
        assert stage["lines"] == sum(m["lines"] for m in stage["modules"]) > 0
        assert not any("test" in Path(m["path"]).parts[0] for m in stage["modules"])
    assert set(result["stages"]["microservices"]["by_package"]) == {"users_service", "orders_service", "gateway"}


def test_code_lines_leave_out_blank_lines_comments_and_docstrings(result: dict[str, Any]) -> None:
    [main] = [m for m in result["stages"]["monolith"]["modules"] if m["path"] == "monolith/main.py"]
    text = (STAGE_DIRS["monolith"] / "monolith/main.py").read_text().splitlines()
    non_blank = [line for line in text if line.strip()]
    comments = [line for line in non_blank if line.strip().startswith("#")]
    assert main["lines"] < len(non_blank) - len(comments)  # the docstrings are gone too


def test_the_monolith_has_exactly_one_module_importing_boto3(result: dict[str, Any]) -> None:
    monolith = result["stages"]["monolith"]
    assert monolith["aws_sdk_modules"] == ["monolith/main.py"]
    assert monolith["dynamodb_modules"] == ["monolith/main.py"]
    assert monolith["runtime_modules"] == ["monolith/main.py"]


def test_each_microservice_carries_its_own_boto3_and_runtime_config(result: dict[str, Any]) -> None:
    micro = result["stages"]["microservices"]
    assert set(micro["aws_sdk_modules"]) == {
        f"{service}/{module}.py"
        for service in ("users_service", "orders_service")
        for module in ("config", "repository")
    } | {"orders_service/users_client.py"}  # it signs its call to users with botocore (USERS_AUTH=AWS_IAM)
    assert set(micro["dynamodb_modules"]) == {"users_service/repository.py", "orders_service/repository.py"}
    assert set(micro["config_location_modules"]) == {"users_service/config.py", "orders_service/config.py"}


def test_clean_keeps_boto3_and_the_environment_out_of_its_core(result: dict[str, Any]) -> None:
    clean = result["stages"]["clean"]
    core = [m for m in clean["modules"] if m["path"].startswith(("clean_shop/domain/", "clean_shop/application/"))]
    assert core and not any(m["aws_sdk"] or m["reads_environment"] or m["mentions_runtime"] for m in core)
    # The DynamoDB adapter is the SDK's side of its port (it maps botocore's errors itself); bootstrap
    # creates the clients.
    assert clean["aws_sdk_modules"] == ["clean_shop/adapters/dynamodb_repository.py", "clean_shop/bootstrap.py"]
    assert clean["environment_modules"] == ["clean_shop/bootstrap.py"]
    assert clean["runtime_modules"] == ["clean_shop/bootstrap.py"]
    assert set(clean["dynamodb_modules"]) == {"clean_shop/adapters/dynamodb_repository.py", "clean_shop/bootstrap.py"}
    components = {c["component"]: c for c in clean["components"]}
    assert components["clean_shop.domain"]["third_party"] == []
    assert components["clean_shop.application"]["third_party"] == []


def test_instability_is_ce_over_ca_plus_ce_and_every_edge_has_two_ends(result: dict[str, Any]) -> None:
    for stage in result["stages"].values():
        rows = stage["components"]
        assert rows
        for row in rows:
            assert row["ca"] == len(row["imported_by"]) and row["ce"] == len(row["imports"])
            if row["ca"] + row["ce"] == 0:
                assert row["instability"] is None
            else:
                assert 0 <= row["instability"] <= 1
                assert row["instability"] == round(row["ce"] / (row["ca"] + row["ce"]), 2)
        assert sum(r["ca"] for r in rows) == sum(r["ce"] for r in rows)


def test_clean_components_follow_the_layers(result: dict[str, Any]) -> None:
    components = {c["component"].removeprefix("clean_shop."): c for c in result["stages"]["clean"]["components"]}
    assert set(components) == {"domain", "application", "adapters", "entrypoints", "bootstrap"}
    assert components["domain"]["instability"] == 0  # everything depends on it, it depends on nothing
    assert components["entrypoints"]["instability"] == 1
    assert components["domain"]["instability"] < components["application"]["instability"]
    assert components["application"]["instability"] < components["adapters"]["instability"]


def test_the_dependency_rule_is_checked_where_layers_are_declared(result: dict[str, Any]) -> None:
    clean = result["stages"]["clean"]["dependency_rule"]
    assert clean["status"] == "kept"
    assert clean["contracts"] and set(clean["contracts"].values()) == {"kept"}
    for stage in ("monolith", "microservices"):
        assert result["stages"][stage]["dependency_rule"]["detail"] == "n/a — no layers declared"


def test_runtime_config_changes_land_where_the_runtime_branching_is(result: dict[str, Any]) -> None:
    for change in ("lambda_to_ecs", "add_eks"):
        assert set(impact_files(result, change, "monolith")) == {"monolith/main.py"}
        assert set(impact_files(result, change, "microservices")) == {
            "users_service/config.py",
            "orders_service/config.py",
        }
        clean = impact_files(result, change, "clean")
        assert set(clean) == {"clean_shop/adapters/config.py", "clean_shop/bootstrap.py"}
        assert clean["clean_shop/adapters/config.py"]["added_definitions"] == 1  # one adapter class
        assert clean["clean_shop/bootstrap.py"]["edited_definitions"] == ["config_for"]
        # The monolith branches once, in its one settings lookup, as the microservices do per service.
        assert impact_files(result, change, "monolith")["monolith/main.py"]["edited_definitions"] == ["setting"]


def _code_lines_naming_sqlite(path: Path) -> int:
    """Independently of the analysis: lines mentioning sqlite, minus comments and the module docstring."""
    text = path.read_text()
    docstring_end = text.index('"""', 3) + 3
    body = text[docstring_end:].splitlines()
    return sum(1 for line in body if "sqlite" in line.split("#")[0].lower())


def test_swapping_the_database_in_clean_is_the_sqlite_adapter_plus_its_wiring(result: dict[str, Any]) -> None:
    swap = result["impact"]["swap_database"]["stages"]["clean"]
    files = {f["path"]: f for f in swap["files"]}
    assert set(files) == {"clean_shop/adapters/sqlite_repository.py", "clean_shop/bootstrap.py"}
    adapter = files["clean_shop/adapters/sqlite_repository.py"]
    assert adapter["change"] == "new"
    [module] = [m for m in result["stages"]["clean"]["modules"] if m["path"] == adapter["path"]]
    assert adapter["lines"] == module["lines"]
    wiring = files["clean_shop/bootstrap.py"]
    assert wiring["change"] == "edited"
    assert wiring["lines"] == _code_lines_naming_sqlite(STAGE_DIRS["clean"] / "clean_shop/bootstrap.py")
    assert swap["summary"] == f"1 new file ({adapter['lines']} lines) + {wiring['lines']} lines in 1 edited file"
    assert swap["basis"] == "measured from the SQLite adapter"


def test_swapping_the_database_elsewhere_means_rewriting_every_dynamodb_module(result: dict[str, Any]) -> None:
    for stage in ("monolith", "microservices"):
        swap = result["impact"]["swap_database"]["stages"][stage]
        assert {f["path"] for f in swap["files"]} == set(result["stages"][stage]["dynamodb_modules"])
        assert swap["new_files"] == 0 and swap["edited_definitions"] > 5
    monolith = impact_files(result, "swap_database", "monolith")["monolith/main.py"]
    assert {"create_user", "list_orders", "delete_order"} <= set(monolith["edited_definitions"])


def test_a_new_entity_is_estimated_from_the_existing_one(result: dict[str, Any]) -> None:
    micro = result["impact"]["add_entity"]["stages"]["microservices"]
    new = {f["path"] for f in micro["files"] if f["change"] == "new"}
    assert new == {m["path"] for m in result["stages"]["microservices"]["modules"] if m["path"].startswith("orders_")}
    assert {f["path"] for f in micro["files"] if f["change"] == "edited"} == {"gateway/main.py"}
    clean = impact_files(result, "add_entity", "clean")
    assert {"clean_shop/domain/model.py", "clean_shop/application/ports.py", "clean_shop/bootstrap.py"} <= set(clean)
    assert "clean_shop/adapters/page_token.py" not in clean  # knows no entity
    assert set(impact_files(result, "add_entity", "monolith")) == {"monolith/main.py"}


def test_the_markdown_has_every_section_and_method(result: dict[str, Any]) -> None:
    text = markdown(result)
    for section in report.SECTIONS:
        assert section in text
    for change in result["impact"].values():
        assert f"### {change['title']}" in text
        assert change["method"] in text
    for method in result["methods"].values():
        assert method in text
    assert text.count("_Method:") == len(result["methods"]) + len(result["impact"])
    # Every table row has as many cells as its header.
    for block in re.split(r"\n\n", text):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        cells = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
        assert len(cells) <= 1, block


def test_the_command_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert coupling.main(["--stage", "monolith"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Coupling, measured from the code")
    assert "| monolith | 1: `monolith/main.py`" in out


# --- computed, not asserted: change the code, the numbers follow --------------------------------------


def test_a_new_boto3_module_in_a_copy_of_the_monolith_is_counted(result: dict[str, Any], tmp_path: Path) -> None:
    root = copy_stage("monolith", tmp_path / "01-monolith")
    (root / "monolith" / "archive.py").write_text(
        "import boto3\n\nfrom monolith import main\n\n\n"
        "def archive(user):\n"
        '    boto3.client("dynamodb").put_item(TableName=main.ORDERS_BY_USER_INDEX, Item=user)\n'
    )

    changed = analyse(roots={"monolith": root}, stages=["monolith"])

    before, after = result["stages"]["monolith"], changed["stages"]["monolith"]
    assert after["files"] == before["files"] + 1
    assert after["lines"] == before["lines"] + 4
    assert after["aws_sdk_modules"] == ["monolith/archive.py", "monolith/main.py"]
    components = {c["component"]: c for c in after["components"]}  # the grimp graph saw the new import
    assert (components["monolith.main"]["ca"], components["monolith.archive"]["ce"]) == (1, 1)
    swap = {f["path"] for f in changed["impact"]["swap_database"]["stages"]["monolith"]["files"]}
    assert swap == {"monolith/main.py", "monolith/archive.py"}


def test_breaking_a_layer_in_a_copy_of_clean_breaks_the_dependency_rule(tmp_path: Path) -> None:
    root = copy_stage("clean", tmp_path / "03-clean-architecture")
    model = root / "clean_shop" / "domain" / "model.py"
    model.write_text(model.read_text() + "\nimport boto3  # a deliberate violation\n")

    stage = analyse(roots={"clean": root}, stages=["clean"])["stages"]["clean"]

    assert stage["dependency_rule"]["status"] == "broken"
    assert "broken" in stage["dependency_rule"]["contracts"].values()
    assert "clean_shop/domain/model.py" in stage["aws_sdk_modules"]
    [domain] = [c for c in stage["components"] if c["component"] == "clean_shop.domain"]
    assert domain["third_party"] == ["boto3"]


def test_without_the_sqlite_adapter_the_swap_falls_back_to_the_dynamodb_code(tmp_path: Path) -> None:
    """Clean as it was before the SQLite adapter: the adapter gone, every line naming it gone."""
    root = copy_stage("clean", tmp_path / "03-clean-architecture")
    (root / "clean_shop" / "adapters" / "sqlite_repository.py").unlink()
    bootstrap = root / "clean_shop" / "bootstrap.py"
    bootstrap.write_text(
        "".join(line for line in bootstrap.read_text().splitlines(keepends=True) if "sqlite" not in line.lower())
    )

    swap = analyse(roots={"clean": root}, stages=["clean"])["impact"]["swap_database"]["stages"]["clean"]

    assert swap["basis"] == "DynamoDB code to rewrite"
    assert {f["path"] for f in swap["files"]} == {
        "clean_shop/adapters/dynamodb_repository.py",
        "clean_shop/bootstrap.py",
    }


def test_the_typed_analysis_reads_the_same_figures_as_attributes(result: dict[str, Any]) -> None:
    typed = coupling.analysis(stages=["monolith"])
    assert list(typed.stages) == ["monolith"]
    monolith = typed.stages["monolith"]
    assert monolith.lines == result["stages"]["monolith"]["lines"]
    assert monolith.aws_sdk_modules == result["stages"]["monolith"]["aws_sdk_modules"]
    assert [c.title for c in typed.changes] == [c["title"] for c in result["impact"].values()]
    for change in typed.changes:
        raw = result["impact"][change.key]["stages"]["monolith"]
        assert change.stages["monolith"].edited_definitions == raw["edited_definitions"]
        assert change.stages["monolith"].files == raw["new_files"] + raw["edited_files"]
        assert change.stages["monolith"].summary == raw["summary"]
