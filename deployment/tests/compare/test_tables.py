"""The report's markdown building blocks (shopctl.compare.tables)."""

from __future__ import annotations

from shopctl.compare.tables import image, method, table


def test_a_table_has_a_header_a_rule_and_one_line_per_row_with_pipes_escaped() -> None:
    assert table(["stage", "lines"], [["clean", 3], ["a|b", None]]) == [
        "| stage | lines |",
        "| --- | --- |",
        "| clean | 3 |",
        "| a\\|b | None |",
    ]


def test_a_method_note_and_an_image_stand_apart_from_the_text() -> None:
    assert method("how") == ["", "_Method: how_", ""]
    assert image("c.png", "chart") == ["", "![chart](c.png)", ""]
