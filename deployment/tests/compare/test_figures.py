"""The arithmetic behind the cold-start figures of `make compare`: percentiles, ratios to the floor, the
order of the interleaved rounds, and the four Lambda modes' table and goals. Pure functions, no measurement."""

from __future__ import annotations

import pytest

from shopctl.compare.coldstart_run import modes_table
from shopctl.compare.figures import percentile, ratio, rotated, round_ratios, summary
from shopctl.compare.goals import goals
from shopctl.compare.lambda_subjects import needs_fresh_deploy


def test_percentile_is_a_sample_that_was_seen() -> None:
    values = [10.0, 30.0, 20.0, 40.0]
    assert percentile(values, 50) == 20.0
    assert percentile(values, 99) == 40.0
    assert percentile([5.0], 99) == 5.0


def test_summary_keeps_the_run_order_for_pairing() -> None:
    figures = summary([300.0, 100.0, 200.0])
    assert figures is not None
    assert figures["values"] == [300.0, 100.0, 200.0]
    assert (figures["median"], figures["min"], figures["max"]) == (200.0, 100.0, 300.0)
    assert summary([]) is None


def test_a_paired_ratio_is_the_median_of_the_per_round_ratios() -> None:
    # Round 2 ran on a busy machine: both sides were slow. Per round the stage is 1.0x, 1.1x, 1.2x the floor.
    stage = summary([1000.0, 2200.0, 1200.0])
    floor = summary([1000.0, 2000.0, 1000.0])
    assert ratio(stage, floor, paired=True) == pytest.approx(1.1)
    # The ratio of the medians mixes the slow round of one side with a quick round of the other.
    assert ratio(stage, floor) == pytest.approx(1200.0 / 1000.0)


def test_a_ratio_falls_back_to_the_medians_when_the_rounds_do_not_pair() -> None:
    stage = summary([1100.0, 1300.0])
    floor = summary([1000.0, 1000.0, 1000.0])
    assert ratio(stage, floor, paired=True) == pytest.approx(1200.0 / 1000.0)
    assert ratio(stage, None) is None
    assert ratio(None, floor) is None


def test_over_as_many_rounds_as_subjects_each_runs_once_in_each_position() -> None:
    subjects = ["floor", "monolith", "users", "orders", "clean"]
    orders = [rotated(subjects, run) for run in range(len(subjects))]
    assert all(sorted(order) == sorted(subjects) for order in orders)
    for position in range(len(subjects)):
        assert sorted(order[position] for order in orders) == sorted(subjects)
    assert rotated(subjects, len(subjects)) == orders[0]  # and then it starts over
    assert rotated([], 3) == []


def test_with_an_even_count_each_subject_follows_every_other_once() -> None:
    subjects = ["floor", "monolith", "users", "orders", "clean", "optimized"]
    orders = [rotated(subjects, run) for run in range(len(subjects))]
    pairs = [(order[i], order[i + 1]) for order in orders for i in range(len(order) - 1)]
    assert len(pairs) == len(set(pairs)) == len(subjects) * (len(subjects) - 1)


def test_the_spread_of_the_rounds_is_reported_only_for_paired_figures() -> None:
    stage = summary([1000.0, 2200.0, 1500.0])
    floor = summary([1000.0, 2000.0, 1000.0])
    assert round_ratios(stage, floor) == [1.0, 1.5]
    assert round_ratios(stage, summary([1000.0, 1000.0])) is None  # rounds that do not pair
    assert round_ratios(None, floor) is None


# --- the four Lambda modes ----------------------------------------------------------------------------------


def lambda_row(function: str, mode: str, cold: list[float], *, stage: str = "clean", service: str = "app") -> dict:
    return {
        "stage": stage,
        "service": service,
        "function": function,
        "variant": mode,
        "cold_request_ms": summary(cold),
        "init_ms": None if mode == "snapstart" else summary([c - 100 for c in cold]),
        "restore_ms": summary([10.0] * len(cold)) if mode == "snapstart" else None,
        "warm_p50_ms": 5.0,
        "cold_request_ratio": 1.0,
        "floor_variant": "plain",
    }


def test_only_a_move_into_or_out_of_snapstart_or_the_image_redeploys_from_scratch() -> None:
    assert not needs_fresh_deploy(None, "snapstart")  # nothing deployed yet
    assert not needs_fresh_deploy("plain", "optimized")  # a new ZIP: an ordinary update
    assert needs_fresh_deploy("optimized", "snapstart")  # the local Lambda's settings change
    assert needs_fresh_deploy("snapstart", "image")  # and Lambda cannot turn a ZIP function into an image one
    assert needs_fresh_deploy("image", "plain")


def test_the_modes_table_compares_each_mode_with_the_plain_zip_of_the_same_function() -> None:
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


def test_the_goals_of_snapstart_and_the_image_are_ratios_to_the_plain_zip() -> None:
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
