"""The charts' own layout (``kbgen.render.charts._lay_out``) places the axes where matplotlib's
constrained layout would: same margins for the tick labels, axis labels, title, value labels and
legend, so the chart looks the same while it is drawn once instead of twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from kbgen.render import charts

LONG = "a-rather-long-package-name-for-a-label-that-gets-cut"


def _axes_box(svg: str) -> tuple[float, ...]:
    """The axes' rectangle (x0, y0, x1, y1 in points) from the SVG: the path of its background patch."""
    start = svg.index('<g id="patch_2">')
    path = re.search(r'\sd="([^"]*)"', svg[start:])
    assert path is not None
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.group(1))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _constrained(monkeypatch: pytest.MonkeyPatch, draw: Callable[[], str]) -> str:
    """The same chart laid out by matplotlib's constrained layout engine (what kbgen used before)."""
    from matplotlib.figure import Figure

    with monkeypatch.context() as m:
        m.setattr(charts, "_figure", lambda height: Figure(figsize=(charts.WIDTH_IN, height), dpi=100,
                                                           layout="constrained"))
        m.setattr(charts, "_lay_out", lambda fig: None)
        return draw()


CASES: dict[str, Callable[[], str]] = {
    "short bars": lambda: charts.hbar_chart(["a", "b"], [10.0, 100.0], title="Coverage by domain", xlabel="%",
                                            xmax=105.0),
    "long labels, free axis": lambda: charts.hbar_chart([LONG, "core", LONG + "2"] * 5, [3.0, 77.5, 0.0] * 5,
                                                        title="Coverage by package", xlabel="LOC (%)"),
    "one bar": lambda: charts.hbar_chart(["only"], [42.0], title="T", xlabel="x", value_format="{:.1f}"),
    "no bars": lambda: charts.hbar_chart([], [], title="Nothing", xlabel="x"),
    "lines": lambda: charts.line_chart([f"R{i}" for i in range(12)],
                                       {"LOC": [i * 3.0 for i in range(12)], "Files": [i * 5.0 for i in range(12)]},
                                       title="Growth", ylabel="%"),
    "many sessions": lambda: charts.line_chart([f"R{i}-{LONG}" for i in range(130)],
                                               {"s": [i / 2 for i in range(130)]}, title="L", ylabel="%", ymax=100),
    "stacked with legend": lambda: charts.stacked_bar_chart(
        [f"R{i}" for i in range(106)] + ["no session"],
        {sev: [(i * (k + 3)) % 17 for i in range(107)] for k, sev in enumerate(charts.SEVERITY_COLORS)},
        title="Findings by severity per session", ylabel="Findings", colors=charts.SEVERITY_COLORS),
    "stacked, empty": lambda: charts.stacked_bar_chart([], {}, title="S", ylabel="n", colors={}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_axes_land_where_constrained_layout_puts_them(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    ours = _axes_box(CASES[name]())
    theirs = _axes_box(_constrained(monkeypatch, CASES[name]))
    assert ours == pytest.approx(theirs, abs=0.1), (ours, theirs)


def test_the_figure_is_measured_once_when_the_ticks_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed ticks (category labels, whole-number counts) do not move with the axes: one measuring round."""
    from matplotlib.axes import Axes

    calls: list[Any] = []
    original = Axes.get_tightbbox

    def counted(self: Axes, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "get_tightbbox", counted)
    charts.stacked_bar_chart(["R1", "R2"], {"HIGH": [1, 2]}, title="S", ylabel="n", colors=charts.SEVERITY_COLORS)
    assert len(calls) == 1
