"""The arithmetic behind the cold-start figures of `make compare` (shopctl.compare.figures): percentiles,
ratios to the floor, the order of the interleaved rounds, a figure's spread and what is within noise. Pure
functions on synthetic figures, no measurement."""

from __future__ import annotations

import pytest

from shopctl.compare.figures import (
    Figure,
    compared,
    percentile,
    ratio,
    ratio_figure,
    rotated,
    round_ratios,
    scaled,
    summary,
    versus_floor,
    within_noise,
)


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


# --- a figure's spread, and what is within noise -------------------------------------------------------------


def test_a_figure_is_its_median_and_its_spread_across_the_rounds() -> None:
    figure = Figure.of(summary([900.0, 812.0, 780.0]))
    assert figure == Figure(812.0, 780.0, 900.0, 3, "ms")
    assert figure.spread == 120.0
    assert figure.text() == "812 ms (780 to 900, 3 rounds)"
    assert Figure(1.06, 0.98, 1.15, 3, "x floor").text() == "1.06 x floor (0.98 to 1.15, 3 rounds)"
    assert Figure.of(summary([812.0])).text() == "812 ms (1 round)"
    assert Figure.of(None) is None


def test_overlapping_spreads_are_within_noise_and_separate_ones_are_not() -> None:
    # The two runs: 1.14 / 1.34 / 1.06 and 1.06 / 1.22 / 1.12 — ranked differently each time.
    monolith = Figure(1.14, 0.95, 1.30, 3, "x floor")
    clean = Figure(1.06, 0.90, 1.25, 3, "x floor")
    assert within_noise(monolith, clean) is True
    optimised = Figure(400.0, 380.0, 420.0, 3)
    plain = Figure(1240.0, 1030.0, 1870.0, 3)  # a wide spread, and still every round above the optimised ones
    assert within_noise(optimised, plain) is False
    assert within_noise(Figure(1.0, 1.0, 1.0, 1), clean) is None  # one round: no verdict either way


def test_differences_within_noise_are_not_ranked() -> None:
    figures = {
        "monolith": Figure(1.14, 0.95, 1.30, 3, "x floor"),
        "microservices": Figure(1.34, 1.10, 1.40, 3, "x floor"),
        "clean": Figure(1.06, 0.90, 1.25, 3, "x floor"),
    }
    sentence = compared(figures, "plain ZIP")
    assert "within noise" in sentence and "does not rank" in sentence
    assert "lower than" not in sentence
    figures["microservices"] = Figure(1.60, 1.45, 1.70, 3, "x floor")  # now beyond every other spread
    sentence = compared(figures, "plain ZIP")
    assert "monolith is lower than microservices in every round" in sentence
    assert "clean is lower than microservices in every round" in sentence
    assert "Every other difference is within noise" in sentence
    assert "not ranked" in compared({"a": Figure(1.0, 1.0, 1.0, 1), "b": Figure(2.0, 2.0, 2.0, 1)}, "x")
    assert compared({"a": figures["clean"]}, "x") == ""  # nothing to compare with


def test_a_ratio_to_the_floor_says_whether_the_floor_lies_inside_its_spread() -> None:
    assert "within noise of the floor" in versus_floor("clean", Figure(1.06, 0.95, 1.20, 3, "x floor"))
    assert "above the floor in every round" in versus_floor("clean", Figure(1.30, 1.10, 1.45, 3, "x floor"))
    assert "below the floor in every round" in versus_floor("clean", Figure(0.80, 0.70, 0.95, 3, "x floor"))
    assert "one round" in versus_floor("clean", Figure(1.30, 1.30, 1.30, 1, "x floor"))


def test_ratio_figures_pair_rounds_or_scale_by_one_named_median() -> None:
    stage = summary([1000.0, 2200.0, 1500.0])
    floor = summary([1000.0, 2000.0, 1000.0])
    same_mode = "x floor in the same mode"
    assert ratio_figure(stage, floor, same_mode) == Figure(1.1, 1.0, 1.5, 3, same_mode)
    assert ratio_figure(stage, summary([1000.0]), "x floor") is None  # rounds that do not pair: no per-round ratio
    plain = summary([1000.0, 1200.0, 1100.0])
    optimised = summary([440.0, 550.0, 495.0])
    assert scaled(optimised, plain, "x plain ZIP") == Figure(0.45, 0.4, 0.5, 3, "x plain ZIP")
    assert scaled(optimised, None, "x plain ZIP") is None
