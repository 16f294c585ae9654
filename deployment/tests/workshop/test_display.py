"""shopctl.workshop.display and charts: what a notebook shows."""

from __future__ import annotations

from types import SimpleNamespace

from shopctl import workshop


def test_markdown_tables_escape_pipes_and_show_missing_values() -> None:
    assert workshop.markdown_table(["a", "b"], [("x|y", None), (1.25, 2)]).splitlines() == [
        "| a | b |",
        "| --- | --- |",
        "| x\\|y | — |",
        "| 1.2 | 2 |",
    ]


def test_every_label_of_the_cold_start_chart_stays_inside_its_frame() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reports = [SimpleNamespace(init_ms=900.0, duration_ms=40.0, cold=True)] + [
        SimpleNamespace(init_ms=None, duration_ms=d, cold=False) for d in (3.1, 2.4, 2.2)
    ]
    figure = workshop.invocations_chart(reports)
    try:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        axis = figure.axes[0]
        frame = axis.get_window_extent(renderer)
        labels = [t for t in axis.texts if t.get_text().endswith(" ms")]
        assert len(labels) == len(reports)
        for label in labels:
            box = label.get_window_extent(renderer)
            assert box.y1 < frame.y1 - 2, f"{label.get_text()!r} touches the frame: {box.y1:.0f} >= {frame.y1:.0f}"
    finally:
        plt.close(figure)
