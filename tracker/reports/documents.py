"""The comparison report as a document: the HTML that the page `/vergleich` shows, standalone, and
the same as a PDF of print quality (A4, page numbers, the table header repeated on every page,
the charts), made on the server by WeasyPrint, which fetches nothing: no CDN, no internet."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jinja2

from tracker import i18n
from tracker.reports import charts, comparison

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(i18n.TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
i18n.configure(ENVIRONMENT)

# (sort key, column header, numeric): the table of the page and the PDF
COLUMNS = [
    ("rank", "Rang", True),
    ("name", "Gemeinde", False),
    ("typ", "Gemeindetyp", False),
    ("population", "Einwohner", True),
    ("share_online", "Anteil online", True),
    ("share_ozg_konform", "Anteil OZG-konform", True),
    ("mean_backoffice", "Back-Office (Mittel)", True),
    ("assessed", "bewertete Paare", True),
    ("stale", "veraltet", True),
    ("provisional", "vorläufig", True),
    ("change", "Veränderung online", True),
    ("rank_change", "Rang Veränderung", True),
]
SORTS = [key for key, _, _ in COLUMNS]
# an added flag's column sorts by `flag_<dimension>_<key>` (`comparison.added_flags`)
FLAG_SORT = r"flag_[a-z]+_[a-z0-9_]+"
# a column's first click: ranks and names from the top, figures largest first
FIRST_ORDER = {"rank": "asc", "rank_change": "asc", "name": "asc", "typ": "asc"}
DIMENSION_NAMES = {"online": "Online-Zugang", "backoffice": "Back-Office"}


def _sort_value(row: dict[str, Any], key: str) -> Any:
    value = {
        "typ": row["typ_name"],
        "assessed": row["assessed_online"] + row["assessed_backoffice"],
        "change": row["change"]["share_online"],
    }.get(key, row.get(key))
    if key.startswith("flag_"):
        dimension, _, flag = key.removeprefix("flag_").partition("_")
        value = row["share_flags"].get(dimension, {}).get(flag)
    return (value is None, value if value is not None else 0)


def ordered(members: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """By a column; unranked and empty values last either way, ties by name."""
    descending = order == "desc"
    by_name = sorted(members, key=lambda row: row["name"])
    present = [row for row in by_name if _sort_value(row, sort)[0] is False]
    absent = [row for row in by_name if _sort_value(row, sort)[0] is True]
    present.sort(key=lambda row: _sort_value(row, sort)[1], reverse=descending)
    return present + absent


HIGHLIGHTED = 5  # Gemeinden in the lists "Spitze" and "am stärksten verbessert"


def highlights(members: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The top of the set beside its most improved: both read by the reader of a report."""
    ranked = [row for row in members if row["rank"] is not None]
    improved = [row for row in members if (row["change"]["share_online"] or 0) > 0]
    return {
        "top": sorted(ranked, key=lambda row: (row["rank"], row["name"]))[:HIGHLIGHTED],
        "improved": sorted(improved, key=lambda row: (-row["change"]["share_online"], row["name"]))[
            :HIGHLIGHTED
        ],
    }


def _flipped(order: str) -> str:
    return "asc" if order == "desc" else "desc"


def heat(share: float | None) -> str:
    """A cell's background: from white (0) to the accent blue (1); grey when not applicable."""
    if share is None:
        return "#eeeeee"
    return f"rgba(11, 92, 173, {0.08 + 0.6 * share:.2f})"


def context(
    result: dict[str, Any],
    lang: str,
    *,
    sort: str = "rank",
    order: str = "asc",
    sort_link: Any = None,
    links: bool = False,
) -> dict[str, Any]:
    """What the report's templates read; `sort_link(key, order)` makes a header's link."""
    translate = i18n.translator(lang)
    flags = [
        {"sort": f"flag_{dimension}_{key}", "dimension": dimension, "key": key,
         "label": f"{translate(DIMENSION_NAMES.get(dimension, dimension))}: {translate(name)} "
                  f"({translate('ab')} {'B' if dimension == 'backoffice' else ''}{from_level})"}
        for dimension, key, name, from_level in comparison.added_flags(result)
    ]  # fmt: skip
    cut = SORTS.index("mean_backoffice") + 1
    columns = [*COLUMNS[:cut], *((flag["sort"], flag["label"], True) for flag in flags),
               *COLUMNS[cut:]]  # fmt: skip
    sort_links = None
    if sort_link is not None:
        sort_links = {
            key: sort_link(key, _flipped(order) if key == sort else FIRST_ORDER.get(key, "desc"))
            for key, _, _ in columns
        }
    return {
        "result": result,
        "lang": lang,
        "_": translate,
        "members": ordered(result["members"], sort, order),
        "highlights": highlights(result["members"]),
        "names": {row["ars"]: row["name"] for row in result["members"]},
        "columns": columns,
        "flag_columns": flags,
        "sort": sort,
        "order": order,
        "sort_links": sort_links,
        "links": links,
        "charts": charts.charts(result, translate, lang),
        "rules": comparison.labelled_rules(lang, result["rules"]),
        "without_data": {row["ars"] for row in result["members"] if row["share_online"] is None},
        "dimension_names": DIMENSION_NAMES,
        "heat": heat,
    }


def html_document(result: dict[str, Any], lang: str = "de") -> str:
    return ENVIRONMENT.get_template("reports/vergleich_dokument.html").render(context(result, lang))


def _nothing_fetched(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report fetches nothing ({url})")


def pdf_document(result: dict[str, Any], lang: str = "de") -> bytes:
    # imported here: WeasyPrint and its fonts take about a second, which every `tracker`
    # command (they import the reports) would otherwise pay, a bulk import among them
    import weasyprint  # type: ignore[import-untyped]

    document = weasyprint.HTML(string=html_document(result, lang), url_fetcher=_nothing_fetched)
    return bytes(document.write_pdf())


def permalink(path: str, params: dict[str, Any]) -> str:
    present = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(present)}" if present else path
