"""The maintainers' performance goals (shopctl.compare.goals), evaluated on synthetic figures."""

from __future__ import annotations

from shopctl.compare.goals import goals


def test_the_goals_of_snapstart_and_the_image_are_ratios_to_the_plain_zip(lambda_row) -> None:
    rows = [
        lambda_row("shop-clean", "plain", [1000.0]),
        lambda_row("shop-clean", "snapstart", [300.0]),
        lambda_row("shop-clean", "image", [1100.0]),
    ]
    out = goals({"lambda": rows})
    [snap], [image] = out["snapstart"], out["image"]
    assert (snap["ratio"], snap["met"], snap["restore_ratio"]) == (0.3, False, 0.01)  # 0.3 > 0.25
    assert (image["ratio"], image["met"]) == (1.1, True)  # 1.1 <= 1.2
    assert goals({"lambda": rows[1:]})["snapstart"] == []  # no plain ZIP measured: nothing to compare with


def test_the_floor_goal_and_the_optimised_gain_come_from_the_plain_rows(lambda_row) -> None:
    plain = lambda_row("shop-clean", "plain", [1000.0, 1100.0])
    plain["cold_request_ratio"] = 1.2
    plain["package"] = {"zipped_mb": 20.0}
    optimized = lambda_row("shop-clean", "optimized", [500.0, 550.0])
    optimized["package"] = {"zipped_mb": 8.0}
    out = goals({"lambda": [plain, optimized]})
    assert out["floor"] == [{"function": "shop-clean", "ratio": 1.2, "met": False, "stage": "clean"}]
    [gain] = out["optimized"]
    assert (gain["cold_request_gain"], gain["size_gain"], gain["met"]) == (0.5, 0.6, True)
