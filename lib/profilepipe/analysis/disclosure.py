"""Disclosure control of the published aggregates: no hidden group can be worked out from the rest.

A group of fewer than ``k`` users is hidden (*suppressed*): one 67-year-old from Norway is not
anonymous. Hiding it alone is not enough, because the published tables add up. With the
total on the dashboard, a hidden gender is the total minus the genders shown; a hidden
``country_gender`` cell is its country minus the other genders of that country; a hidden
nationality is its country, since a randomuser.me nationality has one country. ``protect``
hides more cells until no hidden one can be computed. ``protect`` is pure: no Spark, no I/O but
one read of the package's nationality files (through the generator's reader, on first use);
``read_aggregates`` is the one reader of what may be published: MongoDB's exact aggregates
(``stores.read_raw_aggregates``), protected.

**The attacker model.** A *cell* is one aggregate group, ``(dimension, key)``. The attacker
reads every published table (``read_aggregates``, notebook 03's figures, the dashboard)
and knows these linear relations between the cells (``relations``):

* *totals*: the cells of a dimension sum to its total, and every total is public (the number
  of users N: the dashboard shows it, with the overall average age, so the total age sum too);
* *margins*: the ``country_gender`` cells of a country sum to its ``country`` cell, those of
  a gender to its ``gender`` cell; ``nationality_gender`` likewise against ``nationality`` and
  ``gender``;
* *nationality -> country*: the nationalities of a country sum to its cell (one each in the
  API, so nationality X equals country map(X)), and per gender the same between
  ``nationality_gender`` and ``country_gender``; the map is the ``country`` of each
  ``sources/data/nationalities`` file (``countries``).

Every relation is assumed to hold exactly. Where the data break one (a user without a
gender), the attacker knows less than assumed, and assuming more only hides more: safe.
A relation needs a cell on each side (a published nationality whose country has no cell
tells the attacker the relation does not hold there). Absent groups are known to be empty.

**Determined.** Given the published cells, a hidden cell is *determined* when it has the
same value in every solution of the relations: exactly when its unit vector lies in the row
space of the relations restricted to the hidden cells (``determined``: exact Gaussian
elimination over ``fractions.Fraction``). ``count``, ``age_sum`` and ``age_sq_sum`` obey the same
relations, so a cell's count is determined iff its age sum is, and iff its sum of squared ages
is; its average age (and the spread of its ages) is then not determined either (they vary
independently in the solutions). Whatever hides a count hides the two sums with it.

**What is hidden** (``protect``):

1. *below k* (primary): a group with ``0 < count < k``;
2. *complementary*: while a hidden cell is determined, one more published cell, or a
   rectangle of a cross table (the determined cell's row partner and the two cells of another
   row: one cell at a time never frees a cross-table cell, which its row or its column still
   gives away, and would snowball), is hidden: the option that leaves the fewest determined
   cells (ties: the fewest users hidden, then the cells), among the published cells that share
   a relation with a determined one (no other can help);
3. *totals*: a dimension whose total is below k has its total withheld (its cells are all below
   k); so with fewer than k users (N < k) everything is withheld, the total included. A cell
   still determined when no published cell is left beside it (a safety net: the relations
   above never lead there) withholds everything too.

``ingested_minute`` is protected like every dimension: its minutes sum to N, so the last
minute's handful of users would be N minus the other minutes. Its only relation is its total,
so what it hides never changes another dimension's cells (the figures' summary, which leaves
it out of its counts, stays the same for the same data).

**Not protected**: bounds. The attacker also knows that a hidden cell holds at least one
user (and fewer than k if it is below k), and that counts are whole numbers; that gives
intervals, and in a corner case (two hidden cells known to sum to 2) an exact value. Only
values derivable from the linear relations are protected.

A protected document keeps its fields; a hidden one has ``count``, ``age_sum``, ``age_sq_sum`` and
``avg_age`` None, ``suppressed`` True and ``suppression`` ``BELOW_K`` or ``COMPLEMENTARY`` (so a reader can
see that a group of 40 is hidden with the small one it would give away); a shown one has
``suppressed`` False and ``suppression`` None. Every document carries ``dimension_count``, the
published total of its dimension (None when withheld). Protecting protected documents changes
nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from profilepipe import contract, stores
from profilepipe.config import Settings

#: Why a group is hidden: fewer than k users, or it would give away a hidden group.
BELOW_K, COMPLEMENTARY = "below_k", "complementary"
#: The ``(dimension, key)`` of one aggregate group.
Cell = tuple[str, str]
#: A linear relation: ``{cell: coefficient}`` summing to a value the attacker knows.
Relation = dict[Cell, int]

#: (two-part dimension, the dimension of one part, which part): a cross table's margins.
MARGINS = (
    ("country_gender", "country", 0),
    ("country_gender", "gender", 1),
    ("nationality_gender", "nationality", 0),
    ("nationality_gender", "gender", 1),
)
SEPARATOR = "|"
#: What a hidden document holds in place of its numbers (every field a value could be worked
#: back from: the sums, and what is derived from them).
HIDDEN_FIELDS = {"count": None, "age_sum": None, "age_sq_sum": None, "avg_age": None}


@functools.cache
def _countries() -> tuple[tuple[str, str], ...]:
    from profilepipe.sources import generator  # its reader of data/nationalities/<NAT>.json

    return tuple((nat, generator.nationality(nat).country) for nat in contract.NATIONALITIES)


def countries() -> dict[str, str]:
    """``{nationality: country}`` of the API: the ``country`` of each nationality's data file."""
    return dict(_countries())


def relations(
    cells: Iterable[Cell], totals: Iterable[str] = (), nat_country: Mapping[str, str] | None = None
) -> list[Relation]:
    """The relations the attacker knows between ``cells`` (the non-empty groups).

    ``totals``: the dimensions whose total is public. Deterministic order.
    """
    cells = sorted(set(cells))
    by_dim: dict[str, list[Cell]] = {}
    for cell in cells:
        by_dim.setdefault(cell[0], []).append(cell)
    out: list[Relation] = [{c: 1 for c in by_dim[d]} for d in sorted(set(totals)) if d in by_dim]

    def split(key: str) -> tuple[str, str]:
        first, _, second = key.partition(SEPARATOR)
        return first, second

    present = set(cells)
    for crossed, margin, part in MARGINS:
        children: dict[str, list[Cell]] = {}
        for cell in by_dim.get(crossed, []):
            children.setdefault(split(cell[1])[part], []).append(cell)
        for value, kids in sorted(children.items()):
            if (margin, value) in present:
                out.append({(margin, value): -1, **{c: 1 for c in kids}})
    nat_country = countries() if nat_country is None else nat_country
    for nat_dim, country_dim, two_part in (
        ("nationality", "country", False),
        ("nationality_gender", "country_gender", True),
    ):
        preimage: dict[str, list[Cell]] = {}
        for cell in by_dim.get(nat_dim, []):
            nat, gender = split(cell[1]) if two_part else (cell[1], "")
            if nat in nat_country:
                key = f"{nat_country[nat]}{SEPARATOR}{gender}" if two_part else nat_country[nat]
                preimage.setdefault(key, []).append(cell)
        for key, nats in sorted(preimage.items()):
            if (country_dim, key) in present:
                out.append({(country_dim, key): -1, **{c: 1 for c in nats}})
    return out


def determined(rels: Sequence[Mapping[Cell, int]], hidden: Iterable[Cell]) -> set[Cell]:
    """The hidden cells whose value the relations and the published cells fix.

    A hidden cell is determined iff its unit vector is in the row space of the relations
    restricted to the hidden cells: the reduced row echelon form (exact, ``Fraction``) then
    has that unit vector as a row.
    """
    hidden = set(hidden)
    pivots: dict[Cell, dict[Cell, Fraction]] = {}  # fully reduced: 1 at its pivot, 0 at the others
    for rel in rels:
        row = {c: Fraction(v) for c, v in rel.items() if c in hidden and v}
        for p in [c for c in row if c in pivots]:
            factor = row.get(p)
            if factor:
                for c, v in pivots[p].items():
                    nv = row.get(c, 0) - factor * v
                    if nv:
                        row[c] = nv
                    else:
                        row.pop(c, None)
        if not row:
            continue
        pivot = min(row)
        scale = row[pivot]
        row = {c: v / scale for c, v in row.items()}
        for other in pivots.values():
            factor = other.get(pivot)
            if factor:
                for c, v in row.items():
                    nv = other.get(c, 0) - factor * v
                    if nv:
                        other[c] = nv
                    else:
                        other.pop(c, None)
        pivots[pivot] = row
    return {p for p, row in pivots.items() if len(row) == 1}


def _dimension_totals(docs: list[dict]) -> dict[str, int | None]:
    """Each dimension's total: the ``dimension_count`` protected documents carry, else the sum of
    its counts (None when a count is hidden and no total is carried)."""
    totals: dict[str, int | None] = {}
    for d in docs:
        dim, count = d["dimension"], d.get("count")
        so_far = totals.get(dim, 0)
        totals[dim] = None if so_far is None or count is None else so_far + int(count)
    return {**totals, **{d["dimension"]: d["dimension_count"] for d in docs if "dimension_count" in d}}


def protect(docs: Iterable[dict], k: int | None, nat_country: Mapping[str, str] | None = None) -> list[dict]:
    """The documents as they may be published: hidden below k, and complementary (the module's rules).

    ``docs``: aggregate documents (``dimension``, ``key``, ``count``, ``age_sum``, ...), raw or
    already protected (a hidden one, ``count`` None, stays hidden). ``k``: the smallest group
    shown; None: the stored ``suppressed`` flags say which groups are below k (totals are
    then not checked). Returns new documents in the input order; same input, same output.
    """
    docs = [dict(d) for d in docs]
    totals = _dimension_totals(docs)
    public = {d for d, t in totals.items() if t is not None and (k is None or t >= k)}
    counts: dict[Cell, int] = {}
    hidden: dict[Cell, str] = {}
    for d in docs:
        cell, count = (d["dimension"], str(d["key"])), d.get("count")
        if count is None:
            hidden[cell] = d.get("suppression") or BELOW_K
            counts[cell] = 0
            continue
        if int(count) <= 0:  # an empty group points at nobody: known, never hidden
            continue
        counts[cell] = int(count)
        below = bool(d.get("suppressed")) if k is None else contract.below_k(int(count), k)
        if below:
            hidden[cell] = BELOW_K
    rels = relations(counts, public, nat_country)
    withhold_all = _complement(rels, counts, hidden)
    if withhold_all:
        public = set()
        for cell in counts:
            hidden.setdefault(cell, COMPLEMENTARY)
    out = []
    for d in docs:
        cell = (d["dimension"], str(d["key"]))
        total = totals.get(d["dimension"]) if d["dimension"] in public else None
        if cell in hidden:
            d.update(**HIDDEN_FIELDS, suppressed=True, suppression=hidden[cell])
        else:
            d.update(suppressed=False, suppression=None)
        d["dimension_count"] = total
        out.append(d)
    return out


def read_aggregates(settings: Settings, dimension: str | None = None, mongo=None) -> list[dict]:
    """The aggregates as they may be published (of one ``dimension``, or all), with ``k_anonymity``.

    ``protect`` over every dimension together (then the one asked for): a
    group below k is hidden, and so is every group that would give a hidden one away (its
    ``suppression`` says which); each document carries its dimension's published total,
    ``dimension_count``. Shown groups come largest first, the hidden ones after them by key (their
    place must not tell their size). ``mongo``: the store read (default ``stores.connect(settings).mongo``);
    the exact numbers (a reconciliation) are its ``read_raw_aggregates``.
    """
    mongo = mongo or stores.connect(settings).mongo
    docs = protect(mongo.read_raw_aggregates(), settings.k_anonymity)
    docs = [d for d in docs if dimension is None or d["dimension"] == dimension]
    return sorted(docs, key=lambda d: (d["dimension"], d["suppressed"], -(d["count"] or 0), str(d["key"])))


def _complement(rels: list[Relation], counts: dict[Cell, int], hidden: dict[Cell, str]) -> bool:
    """Hide published cells (in ``hidden``, as ``COMPLEMENTARY``) until none hidden is determined.

    *Twins*, the two cells of a relation of two (a nationality and its country, a country with
    one gender and its cell of that gender), are equal: hidden together, and one variable here.
    Returns True when a determined cell has no published cell beside it: withhold everything.
    """
    rep = {c: c for c in counts}

    def find(cell: Cell) -> Cell:
        while rep[cell] != cell:
            cell = rep[cell]
        return cell

    for rel in rels:
        if len(rel) == 2 and sorted(rel.values()) == [-1, 1]:
            a, b = sorted(find(c) for c in rel)
            rep[b] = a
    members: dict[Cell, list[Cell]] = {}
    for cell in sorted(counts):
        members.setdefault(find(cell), []).append(cell)
    merged, seen = [], set()
    for rel in rels:
        row: dict[Cell, int] = {}
        for cell, v in rel.items():
            row[find(cell)] = row.get(find(cell), 0) + v
        row = {c: v for c, v in row.items() if v}
        if row and tuple(sorted(row.items())) not in seen:
            seen.add(tuple(sorted(row.items())))
            merged.append(row)

    def hide(group: Cell) -> None:
        for cell in members[group]:
            hidden.setdefault(cell, COMPLEMENTARY)

    hidden_groups = {find(c) for c in hidden}
    for group in hidden_groups:
        hide(group)
    touching: dict[Cell, list[Relation]] = {}
    for row in merged:
        for group in row:
            touching.setdefault(group, []).append(row)

    def after(chosen: set[Cell]) -> tuple[set[Cell], set[Cell]]:
        """The hidden cells ``chosen`` links, and the determined ones among them, once it is hidden."""
        comp: set[Cell] = set()
        for cell in chosen:
            comp |= _component(cell, hidden_groups | chosen, touching)
        return comp, determined(_rows(comp, touching), comp)

    tables = _cross_tables(counts, find)  # the groups do not change below
    det = determined(merged, hidden_groups)
    while det:
        candidates = sorted(
            {g for h in det for row in touching.get(h, []) for g in row if g not in hidden_groups}
        )
        if not candidates:
            return True
        # one cell, or a rectangle of a cross table (the cheapest cycle there): the fewest
        # determined cells left, then the fewest users hidden, then the cells themselves
        options = [{c} for c in candidates] + _rectangles(det, members, tables, hidden_groups)
        best: tuple | None = None
        for chosen in options:
            comp, inside = after(chosen)
            score = (len(det - comp) + len(inside), sum(counts[c] for c in chosen), sorted(chosen))
            if best is None or score < best[0]:
                best = (score, chosen, comp, inside)
        assert best is not None
        _, chosen, comp, inside = best
        for group in chosen:
            hidden_groups.add(group)
            hide(group)
        det = (det - comp) | inside
    return False


def _cross_tables(counts: Mapping[Cell, int], find) -> dict[str, dict[str, dict[str, Cell]]]:
    """``{cross dimension: {row: {column: group}}}`` of the cells present (``MARGINS``' tables)."""
    crossed = {m[0] for m in MARGINS}
    tables: dict[str, dict[str, dict[str, Cell]]] = {}
    for cell in counts:
        if cell[0] in crossed:
            row, _, col = cell[1].partition(SEPARATOR)
            tables.setdefault(cell[0], {}).setdefault(row, {})[col] = find(cell)
    return tables


def _rectangles(
    det: set[Cell],
    members: Mapping[Cell, list[Cell]],
    tables: Mapping[str, Mapping[str, Mapping[str, Cell]]],
    hidden: set[Cell],
) -> list[set[Cell]]:
    """For each determined cell ``A|g`` of a cross table: ``{A|h, B|g, B|h}`` for every other row B
    and column h, as groups not hidden yet. Hiding a rectangle leaves each of its four cells free
    (two unknowns in each of its rows and columns), where one cell at a time never helps: a
    single extra cell is still given away by its own row or column."""
    out: list[set[Cell]] = []
    seen: set[tuple[Cell, ...]] = set()
    for dim, key in (cell for group in sorted(det) for cell in members[group]):
        table = tables.get(dim, {})
        row, _, col = key.partition(SEPARATOR)
        for other_col, partner in table.get(row, {}).items():
            if other_col == col:
                continue
            for cells in (c for r, c in table.items() if r != row and col in c and other_col in c):
                chosen = {partner, cells[col], cells[other_col]} - hidden
                if len(chosen) > 1 and tuple(sorted(chosen)) not in seen:
                    seen.add(tuple(sorted(chosen)))
                    out.append(chosen)
    return out


def _component(start: Cell, hidden: Mapping[Cell, Any], touching: Mapping[Cell, list[Relation]]) -> set[Cell]:
    """The hidden cells linked to ``start`` (taken as hidden) through relations: only they change
    when ``start`` is hidden."""
    comp, todo = {start}, [start]
    while todo:
        cell = todo.pop()
        for rel in touching.get(cell, []):
            for other in rel:
                if other not in comp and other in hidden:
                    comp.add(other)
                    todo.append(other)
    return comp


def _rows(comp: set[Cell], touching: Mapping[Cell, list[Relation]]) -> list[Relation]:
    seen: dict[int, Relation] = {}
    for cell in sorted(comp):
        for rel in touching.get(cell, []):
            seen.setdefault(id(rel), rel)
    return list(seen.values())
