"""The arithmetic behind the cold-start figures of `make compare`: percentiles, ratios to the floor and the
order of the interleaved rounds. Pure functions, no measurement."""

from __future__ import annotations

import pytest

from shopctl.compare.cold_starts import percentile, ratio, rotated, round_ratios, summary


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
