"""The comparison's charts as SVG made on the server with pygal: pure Python, SVG natively, no
JavaScript and no CDN (`js=[]`), so the same markup serves the page, the PDF (WeasyPrint draws
inline SVG) and the city dashboard. Each chart carries its text alternative (`role="img"`,
`aria-label`), and the page shows the same figures as a table beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygal  # type: ignore[import-untyped]
from pygal.style import Style  # type: ignore[import-untyped]

from tracker.i18n import number, percent, points

RANKED_MAX = 30  # bars in the ranking and change charts; the table lists every member
STEPS_PP = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)  # tick steps of the change chart, in points


def _shown_of(title: str, shown: int, of: int, translate: Callable[[str], str]) -> str:
    """A chart that draws the first `shown` of `of` says so in its title."""
    if of <= shown:
        return title
    return f"{title} ({translate('die ersten')} {shown} {translate('von')} {number(of)})"


def count_ticks(highest: int) -> list[int]:
    """Whole-number ticks for a count axis (no 0.2 of a Gemeinde), at most six."""
    step = 1
    while highest / step > 5:
        step = next(s for s in (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if s > step)
    return list(range(0, max(highest, 1) + step, step))


def change_ticks(widest: float) -> list[float]:
    """Distinct ticks for a change in points (shares of 1), symmetric around zero: a step of
    the points that its one-decimal label shows apart."""
    points_wide = widest * 100
    step = next((s for s in STEPS_PP if points_wide / s <= 4), STEPS_PP[-1])
    count = int(points_wide // step) + 1
    return [round(k * step / 100, 6) for k in range(-count, count + 1)]


STYLE = Style(
    background="white", plot_background="white", foreground="#1d2733",
    foreground_strong="#1d2733", foreground_subtle="#d5dbe2",
    font_family="DejaVu Sans, Verdana, sans-serif", colors=("#0b5cad", "#b8860b"),
    title_font_size=15, label_font_size=12, major_label_font_size=12, value_font_size=11,
)  # fmt: skip


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    alternative: str  # the chart in words


def _svg(chart: Any, label: str) -> str:
    """pygal's SVG with a text alternative on its root element."""
    svg = str(chart.render(is_unicode=True))
    safe = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{safe}" ', 1)


def _bars(
    title: str, names: list[str], values: list[float | None], fmt: Callable[[float], str]
) -> Any:
    chart = pygal.HorizontalBar(
        style=STYLE, js=[], show_legend=False, width=760, height=max(220, 26 * len(names) + 90),
        explicit_size=True, disable_xml_declaration=True, value_formatter=fmt,
        print_values=True, print_values_position="top", margin=8, truncate_label=-1,
    )  # fmt: skip
    chart.title = title
    # pygal draws the first value at the bottom: reversed, the first row is on top
    chart.x_labels = list(reversed(names))
    chart.add(title, list(reversed(values)))
    return chart


def ranking(result: dict[str, Any], translate: Callable[[str], str], lang: str) -> Chart:
    """Share online of the leading members, highest first."""
    rows = sorted(
        (row for row in result["members"] if row["share_online"] is not None),
        key=lambda row: (-row["share_online"], row["name"]),
    )
    ranked = len(rows)
    rows = rows[:RANKED_MAX]
    title = _shown_of(
        translate("Anteil der anwendbaren Leistungen online"), len(rows), ranked, translate
    )

    def fmt(value: float) -> str:
        return percent(value, lang)

    chart = _bars(title, [row["name"] for row in rows], [row["share_online"] for row in rows], fmt)
    chart.range = (0, 1)  # the whole scale: a short bar is a low share, not a near-leader
    words = "; ".join(f"{row['name']} {fmt(row['share_online'])}" for row in rows)
    return Chart(title, _svg(chart, f"{title}: {words}"), words)


def improved(result: dict[str, Any], translate: Callable[[str], str], lang: str) -> Chart | None:
    """Change of the share online since the comparison date, most improved first; none where
    nothing changed (a chart of zeros says less than the table)."""
    rows = sorted(
        (row for row in result["members"] if row["change"]["share_online"]),
        key=lambda row: (-row["change"]["share_online"], row["name"]),
    )
    if not rows:
        return None
    changed = len(rows)
    rows = rows[:RANKED_MAX]
    title = _shown_of(
        translate("Veränderung des Anteils online seit dem Vergleichsdatum"),
        len(rows), changed, translate,
    )  # fmt: skip

    def fmt(value: float) -> str:
        return points(value, lang)

    values = [row["change"]["share_online"] for row in rows]
    chart = _bars(title, [row["name"] for row in rows], values, fmt)
    ticks = change_ticks(max(abs(value) for value in values) * 1.25)
    chart.range = (ticks[0], ticks[-1])  # zero in the middle: losses left, gains right
    chart.y_labels = ticks  # each tick its own label (not -0,2 Pp. five times)
    words = "; ".join(
        f"{row['name']} {fmt(value)}" for row, value in zip(rows, values, strict=True)
    )
    return Chart(title, _svg(chart, f"{title}: {words}"), words)


def distribution(result: dict[str, Any], translate: Callable[[str], str], lang: str) -> Chart:
    """How many members fall in each band of ten points of the share online."""
    title = translate("Verteilung: Gemeinden nach Anteil online")
    bins = result["histogram"]
    labels = [f"{percent(b['lower'], lang)}–{percent(b['upper'], lang)}" for b in bins]
    chart = pygal.Bar(
        style=STYLE, js=[], show_legend=False, width=760, height=300, explicit_size=True,
        disable_xml_declaration=True, print_values=True, margin=8, x_label_rotation=30,
        value_formatter=lambda value: number(int(value), lang),
    )  # fmt: skip
    chart.title = title
    chart.x_labels = labels
    chart.y_labels = count_ticks(max((b["gemeinden"] for b in bins), default=0))
    chart.add(translate("Gemeinden"), [b["gemeinden"] for b in bins])
    words = "; ".join(f"{label}: {b['gemeinden']}" for label, b in zip(labels, bins, strict=True))
    return Chart(title, _svg(chart, f"{title}: {words}"), words)


def charts(result: dict[str, Any], translate: Callable[[str], str], lang: str) -> list[Chart]:
    if not result["members"]:
        return []
    drawn = [
        ranking(result, translate, lang),
        improved(result, translate, lang),
        distribution(result, translate, lang),
    ]
    return [chart for chart in drawn if chart is not None]


def course(points: list[dict[str, Any]], translate: Callable[[str], str], lang: str) -> Chart:
    """A Gemeinde's shares online and OZG-konform at each month's end."""
    title = translate("Verlauf: Anteil online und OZG-konform")
    chart = pygal.Line(
        style=STYLE, js=[], width=760, height=300, explicit_size=True,
        disable_xml_declaration=True, margin=8, x_label_rotation=30, legend_at_bottom=True,
        value_formatter=lambda value: percent(value, lang), dots_size=3,
    )  # fmt: skip
    chart.title = title
    chart.x_labels = [point["period"] for point in points]
    online = [point.get("share_online") for point in points]
    konform = [point.get("share_ozg_konform") for point in points]
    chart.range = (0, min(1, max([0.05, *(v * 1.2 for v in online + konform if v)])))
    chart.add(translate("online"), online)
    # dashed and with other dots, so that the two stay apart where they coincide
    chart.add(translate("OZG-konform"), konform, stroke_style={"dasharray": "7, 4", "width": 2},
              dots_size=5)  # fmt: skip
    words = "; ".join(
        f"{point['period']}: {percent(a, lang)} / {percent(b, lang)}"
        for point, a, b in zip(points, online, konform, strict=True)
    )
    return Chart(title, _svg(chart, f"{title}: {words}"), words)
