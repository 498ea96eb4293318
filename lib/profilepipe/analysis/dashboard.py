"""The live dashboard (``profilepipe dashboard``): a Dash page that follows the stream in MongoDB.

Served on ``http://127.0.0.1:<dashboard_port>``; a ``dcc.Interval`` redraws it every
``dashboard_refresh_seconds`` (no reload) from the exact aggregates (``MongoStore.read_raw_aggregates``:
``dimension``, ``key``, ``count``, ``age_sum``, ...), protected before anything is shown (``snapshot``),
and the batch log (``MongoStore.read_batches``:
``read``, ``stored``, ``filtered_minor``, ``erased``, ``dead_letter``, ``dead_letter_reasons``,
``seconds``, ``finished_at``, ...), the batches written whose aggregates are not applied yet
(``MongoStore.written_batches``), the size of the erasure register (``CassandraStore.erased_keys``,
Cassandra: the users forgotten by ``profilepipe forget``) and the Kafka lag (``analysis.lag.read``:
what waits for the stream, how old, against the topic's retention). It only reads.

Contract:

* ``snapshot(aggregate_docs, batch_docs, k, forgotten, behind, lag)`` is pure and returns every number
  the page shows; ``page(snapshot, refreshed_at, source)`` builds the layout from it and nothing else.
* k-anonymity: ``snapshot`` protects the documents with its k, every dimension together
  (``analysis.disclosure.protect``): a group of 1 to k-1 users (``count < k``, recomputed
  whatever the stored ``suppressed`` flag says), and every group that would give one away
  (the users held minus the other genders, a gender minus its other nationalities, ...), is shown
  as ``suppressed``, never its count or average age; the charts leave it out and say how many
  they left out. A group with no users shows 0. Fewer than k users: the users held and the
  overall average are withheld too.
* Every number has a stable element id: ``users-held``, ``users-forgotten``, ``batches``, ``balance``,
  ``avg-age-overall``, ``avg-age-<gender>``, ``group-size-<gender>``, ``age-band-<band>``,
  ``ng-<nat>-<gender>``, ``dead-letters-<reason>``, ``lag-waiting``, ``lag-oldest``, ``lag-margin``,
  ``lag-lost``, ``messages-lost``, ``messages-lost-unacknowledged``, ``last-refresh``, ``last-batch``...
  (``slug``).
* Users held: one number, the users the aggregates count now (their ``gender`` groups summed,
  so it equals the table's rows and the average-age table's ``all``), with the forgotten users
  beside it. Not the batch log's ``stored`` summed: a forgotten user stays in it, and a user
  sent again is stored twice but held once. Records per second: records read per second
  of batch processing time (``read / seconds``), overall and for the last batch. Balance:
  ``contract.BALANCE_RULE`` for every batch. Aggregates behind (id ``aggregates-behind``):
  the batches whose rows are stored and whose change to the aggregates is not applied yet
  (0 or 1 while a stream runs: ``pipeline.batch_writer``'s applier), beside the batches.
* Kafka lag (``analysis.lag``): the messages waiting in the topic for the stream (``lag-waiting``),
  the age of the oldest of them (``lag-oldest``), how long until retention may delete it
  (``lag-margin``; negative: past retention) and the messages deleted before the stream read them
  (``lag-lost``), with the one line of ``profilepipe lag`` (``lag-summary``); ``-`` when Kafka
  cannot be read now. Beside them, from the batch log, the messages the stream recorded as lost
  (``lost``, summed; ``messages-lost``) and those of them not acknowledged (``lost_acknowledged``
  not set; ``messages-lost-unacknowledged``), in a warning style when there are any.
* No batch logged yet: one line says what to run first (``EMPTY_HINT``), and the Kafka lag.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from profilepipe import contract
from profilepipe.analysis import disclosure
from profilepipe.analysis import lag as kafka_lag
from profilepipe.config import Settings
from profilepipe.contract import AGE_BANDS

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SUPPRESSED = "suppressed"
EMPTY_HINT = (
    "No batch in MongoDB yet: run `profilepipe produce` then `profilepipe stream` "
    "(or notebooks 01 and 02) first; this page picks the data up by itself."
)


# ------------------------------------------------------------------ numbers
def slug(text: str) -> str:
    """The element-id form of a key: ``65+`` -> ``65plus``, ``DE|female`` -> ``DE-female``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text).replace("+", "plus")).strip("-")


def _utc(value: Any) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (pymongo gives naive ones without ``tz_aware``)."""
    if not isinstance(value, dt.datetime):
        return None
    return contract.from_store(value)


HIDDEN = {"count": None, "avg_age": None, "suppressed": True}
EMPTY = {"count": 0, "avg_age": None, "suppressed": False}  # no users: points at nobody


def _group(doc: dict | None) -> dict:
    """``{"count", "avg_age", "suppressed"}`` of a protected document (None: an empty group, 0)."""
    if doc is None:
        return dict(EMPTY)
    if doc["suppressed"]:
        return dict(HIDDEN)
    count, age_sum = int(doc["count"]), doc.get("age_sum")
    avg = round(age_sum / count, 3) if age_sum is not None and count else None
    return {"count": count, "avg_age": avg, "suppressed": False}


def _dimension(docs: Iterable[dict], name: str) -> dict[str, dict]:
    """``{key: protected document}`` of one dimension."""
    return {str(d["key"]): d for d in docs if d.get("dimension") == name}


def _users(docs: list[dict]) -> int | None:
    """The users held: the gender total as published (None: withheld, fewer than k users)."""
    genders = list(_dimension(docs, "gender").values())
    return genders[0]["dimension_count"] if genders else 0


def _ages(raw: list[dict], docs: list[dict]) -> dict:
    """Overall (the public total, from the exact documents) and per gender (protected)."""
    users = _users(docs)
    if users is None:
        overall = dict(HIDDEN)
    else:
        sums = [d.get("age_sum") for d in raw if d.get("dimension") == "gender"]
        age_sum = None if None in sums else sum(int(s) for s in sums)
        avg = round(age_sum / users, 3) if age_sum is not None and users else None
        overall = {"count": users, "avg_age": avg, "suppressed": False}
    by_gender = {g: _group(d) for g, d in sorted(_dimension(docs, "gender").items())}
    return {"overall": overall, "by_gender": by_gender}


def _counted(doc: dict | None) -> dict:
    """A group's count only (``avg_age`` None): the age bands, nationalities and minutes."""
    return {**_group(doc), "avg_age": None}


def _age_bands(docs: list[dict]) -> list[tuple[str, dict]]:
    bands = _dimension(docs, "age_band")
    order = [label for _, label in AGE_BANDS]
    labels = order + sorted(set(bands) - set(order))  # e.g. "under 18" if one ever appears
    return [(label, _counted(bands.get(label))) for label in labels]


def _nationality_gender(docs: list[dict]) -> dict:
    cells: dict[str, dict[str, dict]] = {}
    for key, doc in _dimension(docs, "nationality_gender").items():
        nat, _, gender = key.partition("|")
        cells.setdefault(nat, {})[gender] = _counted(doc)
    genders = sorted({g for row in cells.values() for g in row})
    return {"genders": genders, "rows": [(nat, cells[nat]) for nat in sorted(cells)]}


def _int(doc: dict, name: str) -> int:
    return int(doc.get(name) or 0)


def _health(batches: list[dict]) -> dict:
    totals = {p: sum(_int(b, p) for b in batches) for p in ("read", *contract.OUTCOMES)}
    seconds = [float(b.get("seconds") or 0.0) for b in batches]
    last = batches[-1] if batches else {}
    reasons: Counter[str] = Counter()
    for b in batches:
        reasons.update({r: int(n) for r, n in (b.get("dead_letter_reasons") or {}).items()})
    off = [
        {"batch_id": b.get("batch_id"), "read": _int(b, "read"), "parts": _parts(b)}
        for b in batches
        if not contract.balanced(b)
    ]
    return {
        **totals,
        "batches": len(batches),
        "rate_overall": _rate(totals["read"], sum(seconds)),
        "rate_last": _rate(_int(last, "read"), seconds[-1]) if last else None,
        "batch_seconds": [(b.get("batch_id"), s) for b, s in zip(batches, seconds, strict=True)],
        "seconds_last": seconds[-1] if seconds else None,
        "seconds_median": statistics.median(seconds) if seconds else None,
        "dead_letter_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "balanced": not off,
        "unbalanced": off,
        "last_batch_at": _utc(last.get("finished_at")) if last else None,
    }


def _parts(batch: dict) -> dict[str, int]:
    return {p: _int(batch, p) for p in contract.OUTCOMES}


def _rate(records: int, seconds: float) -> float | None:
    return round(records / seconds, 1) if seconds > 0 else None


def _losses(batches: list[dict]) -> dict:
    """Messages the batch log records as lost before the stream read them, and how many of
    those are not acknowledged (documents without the fields: none)."""
    lost = sum(_int(b, "lost") for b in batches)
    unacknowledged = sum(_int(b, "lost") for b in batches if not b.get("lost_acknowledged"))
    return {"lost": lost, "unacknowledged": unacknowledged}


def _lag(report: kafka_lag.LagReport | None) -> dict | None:
    """The Kafka lag's numbers (None: not read now)."""
    if report is None:
        return None
    return {
        "topic": report.topic,
        "waiting": report.waiting,
        "oldest": report.age,
        "margin": report.margin,
        "lost": report.lost,
        "retention": report.retention_text(),
        "line": report.line(),
    }


def snapshot(
    aggregate_docs: Iterable[dict],
    batch_docs: Iterable[dict],
    k: int,
    forgotten: int | None = None,
    behind: int | None = 0,
    lag: kafka_lag.LagReport | None = None,
) -> dict:
    """Every number the page shows, from the aggregate documents, the batch log, the number of
    users in the erasure register (``forgotten``; None when it could not be read), of
    batches written whose aggregates are not applied yet (``behind``; None: not read) and the
    Kafka lag (``lag``, ``analysis.lag.report``'s; None: not read).

    Pure: no I/O, no clock. Batches are taken in ``finished_at`` order (the last one is the
    newest). ``aggregate_docs``: exact (``MongoStore.read_raw_aggregates``) or already protected;
    they are protected here with ``k`` (``analysis.disclosure``), and every hidden group carries
    ``count=None, avg_age=None, suppressed=True``. ``users_held`` is None when withheld (fewer
    than k users). ``empty`` is true when no batch has been logged yet.
    """
    raw = list(aggregate_docs)
    docs = disclosure.protect(raw, k)
    batches = sorted(batch_docs, key=lambda b: _utc(b.get("finished_at")) or EPOCH)
    minutes = _dimension(docs, "ingested_minute")
    return {
        "empty": not batches,
        "k": k,
        "users_held": _users(docs),
        "forgotten": forgotten,
        "behind": behind,
        **_health(batches),
        "lag": _lag(lag),
        "losses": _losses(batches),
        "ages": _ages(raw, docs),
        "age_bands": _age_bands(docs),
        "nationality_gender": _nationality_gender(docs),
        "per_minute": [(m, _counted(d)) for m, d in sorted(minutes.items())],
    }


# ------------------------------------------------------------------ layout
CSS = """
body { margin: 0; font-family: system-ui, sans-serif; background: #f6f7f9; }
.page { padding: 16px 20px; min-height: 100vh; box-sizing: border-box; }
.grid { display: grid; gap: 14px; margin-bottom: 14px; align-items: start; }
.card { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 12px 16px; min-width: 0; }
.card h3 { margin-top: 0; }
.muted { color: #5f6b7a; font-size: 13px; }
.big { font-size: 26px; }
.strip { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 14px; white-space: nowrap; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: start; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eef0f3; text-align: right; }
th { color: #5f6b7a; }
.suppressed { color: #8a94a3; font-style: italic; }
.ok { color: #1a7f37; } .bad { color: #cf222e; }
.warn { color: #9a6700; background: #fff8c5; font-weight: 600; padding: 0 4px; border-radius: 4px; }
"""


def _count(group: dict) -> str:
    return SUPPRESSED if group["suppressed"] else _num(group["count"])


def _avg(group: dict) -> str:
    if group["suppressed"]:
        return SUPPRESSED
    return "-" if group["avg_age"] is None else f"{group['avg_age']:.1f}"


def _num(value: float | int | None, fmt: str = "{:,}") -> str:
    return "-" if value is None else fmt.format(value)


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _value(tag: Any, text: str, element_id: str | None, cls: str = "") -> Any:
    """A component showing ``text`` (greyed if suppressed) under ``element_id``."""
    cls = f"{cls} {SUPPRESSED}" if text == SUPPRESSED else cls
    return tag(text, className=cls.strip(), **({"id": element_id} if element_id else {}))


def _grid(children: list, columns: str) -> Any:
    return html.Div(children, className="grid", style={"gridTemplateColumns": columns})


def _card(title: str, *children: Any) -> Any:
    return html.Div([html.H3(title), *children], className="card")


def _balance_text(snap: dict) -> str:
    if snap["balanced"]:
        return "balanced"
    b = snap["unbalanced"][0]
    parts = " + ".join(f"{p} {n}" for p, n in b["parts"].items())
    more = f" (and {len(snap['unbalanced']) - 1} more)" if len(snap["unbalanced"]) > 1 else ""
    return f"batch {b['batch_id']} does not add up: read {b['read']} != {parts}{more}"


def _kpi(label: str, value: str, element_id: str, beside: tuple[str, str, str] | None = None) -> Any:
    """A number's card: its label, the number, and (``beside``: label, value, id) a second one under it."""
    children = [html.Div(label, className="muted"), _value(html.Div, value, element_id, "big")]
    if beside:
        note, text, note_id = beside
        children.append(html.Div([html.Span(f"{note} ", className="muted"), html.Span(text, id=note_id)]))
    return html.Div(children, className="card")


def _kpis(snap: dict) -> Any:
    cards = [
        _kpi(
            "users held",
            SUPPRESSED if snap["users_held"] is None else _num(snap["users_held"]),
            "users-held",
            ("forgotten", _num(snap["forgotten"]), "users-forgotten"),
        ),
        _kpi(
            "batches",
            _num(snap["batches"]),
            "batches",
            ("aggregates behind", _num(snap["behind"]), "aggregates-behind"),
        ),
        _kpi("records read", _num(snap["read"]), "records-read"),
        _kpi("records/s (all)", _num(snap["rate_overall"], "{:,.1f}"), "rate-overall"),
        _kpi("records/s (last)", _num(snap["rate_last"], "{:,.1f}"), "rate-last"),
        _kpi("minors filtered", _num(snap["filtered_minor"]), "filtered-minor"),
        _kpi("erased", _num(snap["erased"]), "erased"),
        _kpi("dead letters", _num(snap["dead_letter"]), "dead-letters"),
    ]
    return _grid(cards, "repeat(8, 1fr)")


def _table(header: list[str], rows: list[list[tuple[str, str | None]]]) -> Any:
    """A small table; each cell is ``(text, element id or None)``."""
    body = [html.Tr([_value(html.Td, text, i) for text, i in row]) for row in rows]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)])


def _ages_card(snap: dict) -> Any:
    ages = snap["ages"]
    groups = [("all", "overall", ages["overall"])] + [(g, slug(g), a) for g, a in ages["by_gender"].items()]
    rows = [
        [(name, None), (_count(g), f"group-size-{s}"), (_avg(g), f"avg-age-{s}")] for name, s, g in groups
    ]
    return _card("Average age", _table(["group", "users", "average age"], rows))


def _health_card(snap: dict) -> Any:
    reasons = snap["dead_letter_reasons"].items()
    rows = [[(r, None), (f"{n:,}", f"dead-letters-{slug(r)}")] for r, n in reasons]
    return _card(
        "Stream health",
        html.Div(
            [
                "balance: ",
                html.B(_balance_text(snap), id="balance", className="ok" if snap["balanced"] else "bad"),
            ]
        ),
        html.Div(f"{contract.BALANCE_RULE}, per batch", className="muted"),
        html.H4("Dead letters by reason"),
        _table(["reason", "dead letters"], rows) if rows else html.Div("no dead letter", className="muted"),
    )


def _bar(element_id: str, groups: list[tuple[str, dict]], title: str) -> Any:
    """A bar chart of the groups that may be shown; the title counts the others."""
    shown = [(x, g["count"]) for x, g in groups if not g["suppressed"]]
    hidden = len(groups) - len(shown)
    note = f" ({hidden} suppressed)" if hidden else ""
    fig = go.Figure(go.Bar(x=[x for x, _ in shown], y=[y for _, y in shown], marker_color="#4c78a8"))
    fig.update_layout(
        title={"text": title + note, "font": {"size": 15}},
        height=260,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
        plot_bgcolor="#fff",
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(gridcolor="#eef0f3", rangemode="tozero")
    return dcc.Graph(id=element_id, figure=fig, config={"displayModeBar": False})


def _strip(items: list[tuple[str, str, str]]) -> Any:
    """``label: value`` pairs under a chart, each value with its element id."""
    pairs = [
        html.Span([html.Span(f"{label}: ", className="muted"), _value(html.Span, v, i)])
        for label, v, i in items
    ]
    return html.Div(pairs, className="strip")


def _charts(snap: dict) -> Any:
    bands, minutes = snap["age_bands"], [(m[11:], g) for m, g in snap["per_minute"]]  # HH:MM
    last = minutes[-1] if minutes else ("-", {"count": None, "suppressed": False})
    seconds = [
        (str(i), {"count": s, "suppressed": False}) for i, (_, s) in enumerate(snap["batch_seconds"], 1)
    ]
    timing = [
        ("last batch", _num(snap["seconds_last"], "{:.1f} s"), "seconds-last"),
        ("median", _num(snap["seconds_median"], "{:.1f} s"), "seconds-median"),
    ]
    cards = [
        (
            _bar("chart-age-bands", bands, "Users by age band"),
            [(b, _count(g), f"age-band-{slug(b)}") for b, g in bands],
        ),
        (
            _bar("chart-per-minute", minutes, "Users ingested per minute (UTC)"),
            [(f"last minute {last[0]} UTC", _count(last[1]), "users-last-minute")],
        ),
        (_bar("chart-batch-seconds", seconds, "Processing time per batch, s (in order)"), timing),
    ]
    return _grid(
        [html.Div([chart, _strip(strip)], className="card") for chart, strip in cards], "repeat(3, 1fr)"
    )


def _nationality_card(snap: dict) -> Any:
    ng, empty = snap["nationality_gender"], EMPTY
    rows = [
        [(nat, None)] + [(_count(cells.get(g, empty)), f"ng-{slug(nat)}-{slug(g)}") for g in ng["genders"]]
        for nat, cells in ng["rows"]
    ]
    third = -(-len(rows) // 3) or 1  # three side-by-side tables keep the card short
    tables = [_table(["nat.", *ng["genders"]], rows[i : i + third]) for i in range(0, len(rows), third)]
    return _card("Users by nationality and gender", html.Div(tables, className="tables"))


def _lag_card(snap: dict) -> Any:
    """Kafka lag against retention, and the messages the batch log records as lost."""
    lag, losses = snap["lag"] or {}, snap["losses"]

    def span(label: str, text: str, element_id: str, cls: str = "") -> Any:
        return html.Span(
            [html.Span(f"{label}: ", className="muted"), _value(html.Span, text, element_id, cls)]
        )

    def duration(value: dt.timedelta | None) -> str:
        return "-" if value is None else kafka_lag.human(value)

    margin = lag.get("margin")
    past = margin is not None and margin <= dt.timedelta(0)
    unacknowledged = losses["unacknowledged"]
    title = f"Kafka lag: topic {lag['topic']}, {lag['retention']}" if lag else "Kafka lag"
    items = [
        span("messages waiting", _num(lag.get("waiting")), "lag-waiting"),
        span("oldest unread", duration(lag.get("oldest")), "lag-oldest"),
        span("retention margin", duration(margin), "lag-margin", "warn" if past else ""),
        span("already lost", _num(lag.get("lost")), "lag-lost", "warn" if lag.get("lost") else ""),
        span(
            "lost before read (batch log)",
            _num(losses["lost"]),
            "messages-lost",
            "warn" if losses["lost"] else "",
        ),  # fmt: skip
        span(
            "not acknowledged",
            _num(unacknowledged),
            "messages-lost-unacknowledged",
            "warn" if unacknowledged else "",
        ),  # fmt: skip
    ]
    line = lag.get("line") or "Kafka cannot be read now"
    return _card(
        title, html.Div(items, className="strip"), html.Div(line, id="lag-summary", className="muted")
    )


def page(snap: dict, refreshed_at: dt.datetime, source: str = "") -> Any:
    """The page's content for one snapshot (``snapshot``), refreshed at ``refreshed_at``."""
    times = html.Div(
        [
            html.Span("refreshed ", className="muted"),
            html.Span(_when(refreshed_at), id="last-refresh"),
            html.Span(" · last batch ", className="muted"),
            html.Span(_when(snap["last_batch_at"]), id="last-batch"),
            html.Span(
                f" · {source} · groups below k = {snap['k']}, and those that would give one away,"
                " shown as suppressed",
                className="muted",
            ),
        ],
        style={"marginBottom": "14px"},
    )
    if snap["empty"]:
        hint = html.P(EMPTY_HINT, id="empty", style={"fontSize": "18px"})
        return html.Div([times, hint, _lag_card(snap)])
    left = html.Div([_ages_card(snap), _health_card(snap)], className="grid", style={"marginBottom": 0})
    return html.Div(
        [
            times,
            _kpis(snap),
            _grid([_lag_card(snap)], "1fr"),
            _charts(snap),
            _grid([left, _nationality_card(snap)], "1fr 2fr"),
        ]
    )


# ------------------------------------------------------------------ server
def render(settings: Settings, now: dt.datetime | None = None) -> Any:
    """Read MongoDB once and build the page; a store that cannot be read is one line, not an error."""
    from pymongo.errors import PyMongoError

    from profilepipe import stores

    now = now or dt.datetime.now(dt.UTC)
    source = f"MongoDB {settings.mongo_database}.{settings.mongo_collection}"
    try:
        aggregates, batches = (
            stores.connect(settings).mongo.read_raw_aggregates(),
            stores.connect(settings).mongo.read_batches(),
        )
    except PyMongoError as exc:  # the class only: a message could carry connection details
        text = (
            f"{source} on {settings.mongo_host}:{settings.mongo_port} cannot be read ({type(exc).__name__})"
        )
        return html.Div([html.Span(_when(now), id="last-refresh"), html.P(text, id="error")])
    snap = snapshot(
        aggregates, batches, settings.k_anonymity, forgotten(settings), behind(settings), lag(settings, now)
    )
    return page(snap, now, source)


def forgotten(settings: Settings) -> int | None:
    """How many users the erasure register holds (Cassandra), or None when it cannot be read now."""
    from profilepipe import stores

    return _count_now(settings, lambda s: stores.connect(s).cassandra.erased_keys())


def behind(settings: Settings) -> int | None:
    """How many batches are written and not yet applied to the aggregates, or None if not read now."""
    from profilepipe import stores

    return _count_now(settings, lambda s: stores.connect(s).mongo.written_batches())


def lag(settings: Settings, now: dt.datetime | None = None) -> kafka_lag.LagReport | None:
    """The Kafka lag now (``analysis.lag.read``, short timeouts), or None when Kafka cannot be read now."""
    try:
        return kafka_lag.read(settings, now, timeout_s=2.0)
    except Exception:  # noqa: BLE001 - Kafka down, the topic missing, ...: the page says "-"
        return None


def _count_now(settings: Settings, read: Callable[[Settings], Iterable]) -> int | None:
    """``len(read(settings))`` read once, without the stores' retries: None (the page shows ``-``)
    instead of waiting when the store cannot be read now."""
    try:
        return len(list(read(settings.replace(sink_retry_seconds=0))))
    except Exception:  # noqa: BLE001 - any failure of the driver: the page says "-"
        return None


def create_app(settings: Settings) -> Any:
    """The Dash app: a ``dcc.Interval`` every ``settings.dashboard_refresh_seconds`` redraws the page."""
    app = Dash(__name__, title="profilepipe dashboard", update_title=None)
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")
    app.layout = html.Div(
        [
            html.H2("profilepipe: live stream", style={"margin": "0 0 6px 0"}),
            dcc.Interval(id="tick", interval=int(settings.dashboard_refresh_seconds * 1000)),
            html.Div(id="content"),  # filled by the first tick, at page load
        ],
        className="page",
    )

    @app.callback(Output("content", "children"), Input("tick", "n_intervals"))
    def _refresh(_n: int | None) -> Any:
        return render(settings)

    return app


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.dashboard_port}/"


def bind(settings: Settings) -> Any:
    """The dashboard's threaded werkzeug server on 127.0.0.1:``dashboard_port``, bound, not serving yet.

    Call ``serve_forever()`` (in a thread, if need be) and ``shutdown()``. A port in use:
    werkzeug says so on stderr and exits with status 1.
    """
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    return make_server("127.0.0.1", settings.dashboard_port, create_app(settings).server, threaded=True)


def serve(settings: Settings, ready: Callable[[str], None] | None = None) -> None:
    """Serve the dashboard until interrupted; ``ready`` is called with the URL once the port is bound."""
    server = bind(settings)
    try:
        if ready:
            ready(url(settings))
        server.serve_forever()
    finally:
        server.server_close()
