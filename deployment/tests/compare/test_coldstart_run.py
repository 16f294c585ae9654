"""The run's own arithmetic (shopctl.compare.coldstart_run): report.json's modes table, and a clean start."""

from __future__ import annotations

from pathlib import Path

from shopctl.compare.coldstart_run import TARGETS, clear_run_dir, modes_table


def test_the_modes_table_compares_each_mode_with_the_plain_zip_of_the_same_function(lambda_row) -> None:
    rows = [
        lambda_row("shop-clean", "plain", [1000.0, 1200.0, 1100.0]),
        lambda_row("shop-clean", "snapstart", [100.0, 120.0, 110.0]),
        lambda_row("shop-microservices-users", "image", [600.0], stage="microservices", service="users"),
        lambda_row("shop-microservices-users", "plain", [1000.0], stage="microservices", service="users"),
        lambda_row("shop-microservices-orders", "plain", [900.0], stage="microservices", service="orders"),
    ]
    table = modes_table({"lambda": rows, "floor": {}})
    assert list(table) == ["clean", "microservices/users", "microservices/orders"]
    assert table["clean"]["snapstart"]["x_plain_zip"] == 0.1
    assert table["clean"]["snapstart"]["restore_ms"] == 10.0 and table["clean"]["snapstart"]["init_ms"] is None
    assert table["microservices/users"]["image"]["x_plain_zip"] == 0.6
    assert table["microservices/orders"] == {"plain": table["microservices/orders"]["plain"]}
    assert table["microservices/orders"]["plain"]["x_plain_zip"] == 1.0


def test_a_run_directory_left_by_an_interrupted_run_is_removed(tmp_path: Path, monkeypatch) -> None:
    assert clear_run_dir(tmp_path / "never-made") == 0
    run = tmp_path / "run"
    monkeypatch.setenv("SHOP_RUN_DIR", str(run))  # as measure() does: only that run's records are read
    (run / "deployments").mkdir(parents=True)
    (run / "deployments" / "stale.json").write_text("{}")
    clear_run_dir(run)
    assert not run.exists()
    assert TARGETS == ("lambda", "local", "ecs", "eks")
