"""Charts drawn at sync time: matplotlib → SVG text, byte for byte deterministic.

Sync writes a file only when its bytes change, so a chart must come out
identical from identical data: the SVG hash salt is fixed (element ids are
hashes), the date and creator metadata are dropped, the figure size depends
only on the data, text stays text (``svg.fonttype: none``: smaller, and no
glyph paths that vary with the installed fonts) and math parsing is off (a
``$`` in a package name is a character, not LaTeX). Matplotlib is imported
lazily and used without pyplot (no global figure state, Agg-free SVG canvas),
so commands that draw nothing (``kbgen report``) never pay for it.

Labels are database text: control characters are dropped and long labels
shortened; matplotlib XML-escapes text it writes into the SVG.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from kbgen.render import escape

WIDTH_IN = 8.0
LABEL_MAX = 36
_RC: dict[str, Any] = {
    "svg.hashsalt": "kbgen",
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "path.simplify": True,
}
_METADATA: dict[str, Any] = {"Date": None, "Creator": None}
BAR_COLOR = "#3b6ea5"
LINE_COLORS: tuple[str, ...] = ("#3b6ea5", "#c05a2b", "#4f8a3c")
SEVERITY_COLORS: dict[str, str] = {
    "CRITICAL": "#a50f15", "HIGH": "#e6550d", "MEDIUM": "#fdae6b", "LOW": "#9ecae1", "INFO": "#3182bd",
    "UNKNOWN": "#bdbdbd",
}


def label(text: object, limit: int = LABEL_MAX) -> str:
    """A database name as a chart label: one line, no control characters, at most ``limit`` characters."""
    value = " ".join(escape.clean(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _figure(height: float) -> Any:
    """A figure without a layout engine (:func:`_svg` lays it out), at the SVG backend's 72 dpi:
    display units are then points, the unit the SVG text is measured in."""
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height), dpi=72)


def _svg(fig: Any) -> str:
    _lay_out(fig)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_METADATA)
    return buf.getvalue()


#: Space around the axes' decorations and around a figure legend, in points: constrained layout's
#: default padding (``figure.constrained_layout.w_pad``/``h_pad``, 3/72 inch).
PAD_PT = 3.0


def _lay_out(fig: Any) -> None:
    """Place the figure's one axes so that its decorations just fit, as matplotlib's constrained layout does.

    The axes' tight box (tick labels, axis labels, title, the value labels at the bar ends), measured
    with the SVG renderer's own text metrics, sets each margin, plus :data:`PAD_PT`; a figure legend
    ``outside right`` takes its width and twice the pad off the right. Measured a second time, as
    constrained layout does, when the first round may have moved something: the axes' new size
    changed its ticks (an automatic locator places as many as fit), or the axes hold text placed in
    data coordinates (the value labels at the bar ends stick out by an amount that scales with the
    axes). What this saves is the layout engine's extra pass over the figure (a whole draw with
    output off before the real one) and, for the charts with fixed ticks, the second round.
    """
    from matplotlib.backends.backend_svg import RendererSVG

    (ax,) = fig.axes
    width, height = fig.get_size_inches() * 72.0
    renderer = RendererSVG(width, height, io.StringIO())  # type: ignore[no-untyped-call]
    legend = sum(leg.get_tightbbox(renderer).width + 2 * PAD_PT for leg in fig.legends)
    ticks = None
    for _ in range(2):
        now = [list(ax.xaxis.get_majorticklocs()), list(ax.yaxis.get_majorticklocs())]
        if now == ticks and not ax.texts:
            break
        ticks = now
        pos = ax.get_position().transformed(fig.transFigure)
        tight = ax.get_tightbbox(renderer, for_layout_only=True)
        left = PAD_PT + pos.x0 - tight.x0
        right = PAD_PT + tight.x1 - pos.x1 + legend
        bottom = PAD_PT + pos.y0 - tight.y0
        top = PAD_PT + tight.y1 - pos.y1
        ax.set_position([left / width, bottom / height, (width - left - right) / width,
                         (height - bottom - top) / height])


def _rc() -> Any:
    import matplotlib

    return matplotlib.rc_context(_RC)  # type: ignore[arg-type]  # typed keys are a Literal union


def _tick_step(count: int, room: int = 40) -> int:
    """Show every n-th category label so at most ``room`` labels share an axis."""
    return max(1, -(-count // room))


def hbar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str,
               xmax: float | None = None, value_format: str = "{:.0f}%") -> str:
    """Horizontal bars, one per label, in the order given (top to bottom), values printed at the bar ends."""
    with _rc():
        fig = _figure(min(1.2 + 0.28 * max(len(labels), 1), 14.0))
        ax = fig.add_subplot()
        ys = list(range(len(labels)))
        ax.barh(ys, list(values), color=BAR_COLOR, height=0.7)
        ax.set_yticks(ys, [label(t) for t in labels])
        ax.invert_yaxis()
        top = xmax if xmax is not None else max([*values, 1.0]) * 1.12
        ax.set_xlim(0, top)
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        for y, v in zip(ys, values, strict=True):
            ax.annotate(value_format.format(v), (v, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg(fig)


def line_chart(xlabels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, ylabel: str,
               ymax: float | None = None) -> str:
    """One line per series over categorical x positions (sessions in campaign order)."""
    with _rc():
        fig = _figure(4.0)
        ax = fig.add_subplot()
        xs = list(range(len(xlabels)))
        for i, (name, values) in enumerate(series.items()):
            ax.plot(xs, list(values), marker="o" if len(xs) <= 30 else None, markersize=3, linewidth=1.6,
                    color=LINE_COLORS[i % len(LINE_COLORS)], label=label(name))
        step = _tick_step(len(xs))
        ax.set_xticks(xs[::step], [label(t, 14) for t in xlabels[::step]], rotation=90)
        if ymax is not None:
            ax.set_ylim(0, ymax)
        else:
            ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        if len(series) > 1:
            ax.legend(loc="upper left", frameon=False)
        return _svg(fig)


def stacked_bar_chart(xlabels: Sequence[str], stacks: Mapping[str, Sequence[int]], *, title: str, ylabel: str,
                      colors: Mapping[str, str]) -> str:
    """Vertical bars stacked by series (bottom to top in the order given), one bar per x label.

    The values are counts, so the value axis has whole-number ticks only.
    """
    with _rc():
        fig = _figure(4.2)
        ax = fig.add_subplot()
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Patch

        xs = list(range(len(xlabels)))
        bottom = [0] * len(xs)
        handles = []
        for name, values in stacks.items():
            if not any(values):
                continue
            # One collection per series: hundreds of sessions draw in a fraction of ax.bar's time.
            boxes = [[(x - 0.4, b), (x + 0.4, b), (x + 0.4, b + v), (x - 0.4, b + v)]
                     for x, b, v in zip(xs, bottom, values, strict=True) if v]
            color = colors.get(name, "#888888")
            ax.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="none"))
            handles.append(Patch(facecolor=color, label=label(name)))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xlim(-0.6, max(len(xs) - 0.4, 0.6))
        ax.set_ylim(0, max([*bottom, 1]) * 1.05)
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 findings
        step = _tick_step(len(xs))
        ax.set_xticks(xs[::step], [label(t, 14) for t in xlabels[::step]], rotation=90)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if handles:
            fig.legend(handles=handles[::-1], loc="outside right upper", frameon=False, fontsize=8)
        return _svg(fig)
