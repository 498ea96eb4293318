"""Notebook 03's figures on hand-made aggregate documents (matplotlib only, no services, no Spark).

Each figure's table equals known numbers and is what the figure draws; the notebook's k decides
what is suppressed; legends and notes stay clear of the bars; empty or partial documents give one
line instead of an error; the per-minute figure needs more than one minute; the README figure is
notebook 03's output, byte for byte.
"""

import base64
import json

import nbformat
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from profilepipe.analysis import figure_data, plots

NAMES = [
    "users_by_nationality",
    "users_by_nationality_gender",
    "gender_split",
    "avg_age_by_gender",
    "age_bands",
    "avg_age_by_country_gender",
    "top_email_domains",
    "registrations_by_year",
    "ingested_per_minute",
]


def doc(dimension, key, count, age_sum=None, stored_k=5, age_sq_sum=None):
    age_sum = count * 40 if age_sum is None else age_sum
    return {
        "dimension": dimension,
        "key": key,
        "count": count,
        "age_sum": age_sum,
        "age_sq_sum": age_sq_sum,  # None: not known (no interval)
        "avg_age": round(age_sum / count, 3),
        "suppressed": count < stored_k,
    }


DOCS = [
    doc("nationality", "GB", 60),
    doc("nationality", "FR", 25),
    doc("nationality", "IR", 3),
    doc("nationality", "DE", 1),
    doc("nationality_gender", "GB|female", 28),
    doc("nationality_gender", "GB|male", 32),
    doc("nationality_gender", "FR|female", 12),
    doc("nationality_gender", "FR|male", 13),
    doc("nationality_gender", "IR|male", 3),
    doc("nationality_gender", "DE|female", 1),
    doc("gender", "female", 41, 41 * 41, age_sq_sum=41 * 41**2 + 40 * 121),  # sd 11
    doc("gender", "male", 48, 48 * 45, age_sq_sum=48 * 45**2 + 47 * 100),  # sd 10
    doc("age_band", "68-77", 2),
    doc("age_band", "18-27", 10),
    doc("age_band", "38-47", 30),
    doc("age_band", "28-37", 47),
    doc("country_gender", "France|female", 12, 480),
    doc("country_gender", "France|male", 13, 546),
    doc("country_gender", "Iran|male", 3, 150),
    doc("country_gender", "Germany|female", 1, 70),
    doc("country_gender", "United Kingdom|female", 28, 1232, age_sq_sum=28 * 44**2 + 27 * 100),  # sd 10
    doc("country_gender", "United Kingdom|male", 32, 1296, age_sq_sum=52_488 + 31 * 144),  # sd 12
    doc("email_domain", "example.com", 89),
    doc("registered_year", "2021", 3),
    doc("registered_year", "2019", 40),
    doc("registered_year", "2020", 46),
    doc("ingested_minute", "2026-06-01T10:01", 9),
    doc("ingested_minute", "2026-06-01T10:00", 80),
]

TABLES = {
    "users_by_nationality": """\
Users by nationality (k=5)
nationality       users
GB                   60
FR                   25
DE           suppressed
IR           suppressed""",
    "users_by_nationality_gender": """\
Users by nationality and gender (k=5)
nationality  gender       users
GB           female          28
GB           male            32
DE           female  suppressed
FR           female  suppressed
FR           male    suppressed
IR           male    suppressed""",
    "gender_split": """\
Gender split (k=5)
gender  users  share
male       48  53.9%
female     41  46.1%""",
    "avg_age_by_gender": """\
Average age by gender (k=5)
gender     avg age     95% CI   n
female        41.0  37.5-44.5  41
male          45.0  42.1-47.9  48
all shown     43.2  40.9-45.4  89""",
    "age_bands": """\
Users by age band (k=5)
age band       users  note
18-27     suppressed
28-37             47
38-47             30
48-57              0
58-67              0
68-77     suppressed
78-87              0
88+                0  open-ended""",
    "avg_age_by_country_gender": """\
Average age by country and gender (k=5)
country         gender     avg age     95% CI   n
United Kingdom  female        44.0  40.1-47.9  28
United Kingdom  male          40.5  36.2-44.8  32
France          female  suppressed
France          male    suppressed
Germany         female  suppressed
Iran            male    suppressed""",
    "top_email_domains": """\
Top email domains (k=5)
email domain  users
example.com      89""",
    "registrations_by_year": """\
Registrations by year (k=5)
registered year       users
2019             suppressed
2020                     46
2021             suppressed""",
    "ingested_per_minute": """\
Users ingested per minute (UTC) (k=5)
ingested minute   users
2026-06-01T10:00     80
2026-06-01T10:01      9""",
}


def rendered(name, docs=DOCS, k=5):
    """(axes, renderer) of one figure, drawn with Agg so that extents are final."""
    fig = plots.figure(name, docs, k)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fig.axes[0], canvas.get_renderer()


def hidden(name, k):
    return sorted(
        f"{c.group}|{c.series}" if c.series else c.group
        for c in plots.figure_data(name, DOCS, k).cells
        if c.suppressed
    )


def test_the_figures_are_the_original_seven_and_two_new_ones():
    assert list(plots.FIGURES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_table_has_the_known_numbers(name):
    assert plots.table(name, DOCS, k=5) == TABLES[name]


def test_average_age_line_is_computed_from_age_sum_and_count_of_the_gender_documents():
    # female 1681 / 41 = 41.0, male 2160 / 48 = 45.0, all (1681 + 2160) / 89 = 43.16
    assert plots.average_age_line(DOCS, k=5) == (
        "average age: 43.2 years over 89 users; female 41.0 (n=41), male 45.0 (n=48)"
    )
    # k=45 hides female (41); male (48) would be the total minus female, so it is hidden too
    assert plots.average_age_line(DOCS, k=45) == (
        "all 2 gender groups are suppressed (fewer than 45 users, or they would give such a group away):"
        " nothing to draw"
    )
    third = DOCS + [doc("gender", "other", 60, 60 * 50)]  # three genders: one small, two shown
    assert plots.average_age_line(third, k=45) == (
        "average age: 50.0 years over 60 users; other 50.0 (n=60); 2 suppressed group(s) left out"
    )


def test_the_bars_drawn_are_the_numbers_of_the_table():
    ax, _ = rendered("avg_age_by_country_gender")
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == [40.5, 44.0]  # France's two genders are hidden (see the complementary test)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["United Kingdom"]
    ax, _ = rendered("users_by_nationality")
    assert [p.get_height() for p in ax.patches] == [60, 25]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["GB", "FR"]


def test_group_sizes_are_written_on_the_bars_of_averages():
    ax, _ = rendered("avg_age_by_country_gender")
    labels = sorted(t.get_text() for t in ax.texts if t.get_text().startswith("n="))
    assert labels == ["n=28", "n=32"]
    ax, _ = rendered("avg_age_by_gender")
    texts = [t.get_text() for t in ax.texts]
    assert "41.0 years\nn=41" in texts and "45.0 years\nn=48" in texts
    assert ax.get_legend().get_texts()[0].get_text() == "all shown\n43.2 (n=89)"


def test_k_decides_what_is_suppressed_not_the_stored_flag():
    assert hidden("users_by_nationality", 2) == ["DE", "IR"]  # IR: 89 - 60 - 25 - DE
    assert hidden("users_by_nationality", 50) == ["DE", "FR", "IR"]
    assert hidden("avg_age_by_country_gender", 2) == [
        "France|female",
        "France|male",
        "Germany|female",
        "Iran|male",
    ]
    assert hidden("avg_age_by_country_gender", 50) == [
        "France|female",
        "France|male",
        "Germany|female",
        "Iran|male",
        "United Kingdom|female",
        "United Kingdom|male",
    ]
    ax = plots.plot_counts(DOCS, "nationality", k=50)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["GB"]
    assert any("3 group(s) with fewer than 50 users suppressed" in t.get_text() for t in ax.texts)
    assert "FR           suppressed" in plots.table("users_by_nationality", DOCS, k=50)


def test_without_k_the_stored_flag_decides():
    flagged = [dict(d, suppressed=True) if d["key"] == "FR" else d for d in DOCS]
    assert hidden_of(flagged, None) == ["DE", "FR", "IR"]
    assert hidden_of(flagged, 5) == ["DE", "IR"]


def hidden_of(docs, k):
    return sorted(c.group for c in plots.figure_data("users_by_nationality", docs, k).cells if c.suppressed)


def test_a_group_that_would_give_a_small_one_away_is_hidden_with_it():
    """68-77 (2) is below k; 18-27 (10) is hidden too, since 89 - 47 - 30 - 10 would be 68-77."""
    data = plots.figure_data("age_bands", DOCS, k=5)
    why = {c.group: c.why for c in data.cells if c.suppressed}
    assert why == {"68-77": "below_k", "18-27": "complementary"}
    assert all(c.count is None for c in data.cells if c.suppressed)
    assert sum(c.count for c in data.drawn) == 77 != 89  # the total less the shown is two groups
    # FR (25) is shown, but its two genders are hidden: female 41 - 28 - FR|female would be DE|female
    grouped = plots.figure_data("users_by_nationality_gender", DOCS, k=5)
    assert {f"{c.group}|{c.series}": c.why for c in grouped.cells if c.suppressed} == {
        "DE|female": "below_k", "IR|male": "below_k", "FR|female": "complementary", "FR|male": "complementary"
    }  # fmt: skip
    assert grouped.notes == (
        "2 group(s) with fewer than 5 users suppressed, 2 more that would give one away",
    )
    ax, _ = rendered("avg_age_by_country_gender")  # no bar group left for France: nothing labelled there
    assert [t.get_text() for t in ax.get_xticklabels()] == ["United Kingdom"]


def test_protected_documents_are_drawn_as_they_are():
    from profilepipe.analysis import disclosure

    once = disclosure.protect(DOCS, 5)
    for name in NAMES:
        assert plots.table(name, once, k=5) == plots.table(name, DOCS, k=5)
        assert plots.figure_data(name, once, None).cells == plots.figure_data(name, DOCS, 5).cells


def test_a_suppressed_group_never_shows_its_numbers():
    for name in NAMES:
        data = plots.figure_data(name, DOCS, k=5)
        for line in data.table().splitlines():
            if figure_data.SUPPRESSED in line:
                assert not any(ch.isdigit() for ch in line.split()[-1]), line
    ax, _ = rendered("avg_age_by_country_gender")
    assert all(round(p.get_height(), 3) != 50.0 for p in ax.patches)  # Iran|male's average


@pytest.mark.parametrize(
    "name", ["users_by_nationality_gender", "avg_age_by_gender", "avg_age_by_country_gender"]
)
def test_the_legend_is_outside_the_axes_and_covers_no_bar(name):
    ax, renderer = rendered(name)
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))
    assert not any(legend.overlaps(p.get_window_extent(renderer)) for p in ax.patches)


@pytest.mark.parametrize("name", ["users_by_nationality", "users_by_nationality_gender", "top_email_domains"])
def test_notes_sit_between_the_title_and_the_axes(name):
    ax, renderer = rendered(name)
    notes = [t for t in ax.texts if "suppressed" in t.get_text() or "example.com" in t.get_text()]
    assert notes
    axes, title = ax.get_window_extent(renderer), ax.title.get_window_extent(renderer)
    for note in notes:
        box = note.get_window_extent(renderer)
        assert box.y0 >= axes.y1 and box.y1 <= title.y0
        assert not any(box.overlaps(p.get_window_extent(renderer)) for p in ax.patches)


def test_the_email_figure_says_why_it_is_one_bar():
    data = plots.figure_data("top_email_domains", DOCS, k=5)
    assert len(data.drawn) == 1
    assert "randomuser.me gives every user an @example.com address, so this is one bar" in data.notes
    two = DOCS + [doc("email_domain", "mail.test", 7)]
    assert not any("one bar" in n for n in plots.figure_data("top_email_domains", two, k=5).notes)


def test_per_minute_is_drawn_only_for_more_than_one_minute():
    assert plots.figure_data("ingested_per_minute", DOCS, k=5).message is None
    one = [d for d in DOCS if d["key"] != "2026-06-01T10:01"]
    data = plots.figure_data("ingested_per_minute", one, k=5)
    assert data.message == "all 80 users arrived within one minute, 10:00 UTC on 2026-06-01"
    ax, _ = rendered("ingested_per_minute")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10:00", "10:01"]
    assert ax.get_xlabel() == "minute (UTC) on 2026-06-01"


def test_show_displays_the_figure_then_prints_its_table(monkeypatch, capsys):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    plots.show("avg_age_by_gender", DOCS, k=5)
    out = capsys.readouterr().out
    assert out == plots.average_age_line(DOCS, 5) + "\n" + TABLES["avg_age_by_gender"] + "\n"
    data, metadata = shown[0]._repr_mimebundle_()
    assert metadata == {"profilepipe": {"figure": "avg_age_by_gender"}}
    assert data["text/plain"] == "<figure avg_age_by_gender: Average age by gender>"
    png = base64.b64decode(data["image/png"])
    assert png == plots.png_bytes(plots.figure("avg_age_by_gender", DOCS, 5))


def test_pngs_are_the_same_bytes_every_time(tmp_path):
    first = plots.png_bytes(plots.figure("avg_age_by_country_gender", DOCS, 5))
    assert first == plots.png_bytes(plots.figure("avg_age_by_country_gender", DOCS, 5))
    paths = plots.save_all(DOCS, tmp_path, k=5)
    assert paths["avg_age_by_country_gender"].read_bytes() == first


@pytest.mark.parametrize("name", NAMES)
def test_no_documents_gives_one_line_that_says_what_to_run(name, monkeypatch, capsys):
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: pytest.fail("displayed a figure"))
    plots.show(name, [], k=5)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "run notebooks 01 and 02 first" in out
    assert plots.figure_data(name, [], 5).table().endswith("(run notebooks 01 and 02 first)")


def test_no_documents_at_all():
    assert plots.summary([], 5) == (
        "no aggregate documents yet: run notebooks 01_produce_users and 02_stream_transform_store first,"
        " then run this notebook again"
    )
    assert plots.average_age_line([], 5) == "no gender aggregates to draw (run notebooks 01 and 02 first)"


def test_every_figure_copes_with_missing_dimensions_and_all_suppressed(tmp_path):
    older = [d for d in DOCS if d["dimension"] != "nationality_gender"]  # before that dimension existed
    assert plots.figure_data("users_by_nationality_gender", older, 5).message == (
        "no nationality_gender aggregates to draw (run notebooks 01 and 02 first)"
    )
    assert "no documents for country, nationality_gender" in plots.summary(older, 5)
    assert plots.figure_data("avg_age_by_country_gender", DOCS, 1000).message == (
        "all 6 country_gender groups have fewer than 1000 users (suppressed): nothing to draw"
    )
    for docs, k in [([], 5), (older, 5), (DOCS, 1000), (DOCS, None)]:
        paths = plots.save_all(docs, tmp_path / f"{len(docs)}-{k}", k)
        assert list(paths) == NAMES and all(p.stat().st_size > 5000 for p in paths.values())


def test_summary_counts_what_k_suppresses_whenever_the_pipeline_ran():
    assert plots.summary(DOCS, 5) == (
        "aggregates of 89 users in 8 dimensions; with k=5, 14 groups suppressed (age_band 2,"
        " country_gender 4, nationality 2, nationality_gender 4, registered_year 2); no documents for country"
    )
    later = DOCS + [doc("ingested_minute", "2026-06-01T10:02", 2)]  # the same users, other minutes
    later = [dict(d, count=7) if d["key"] == "2026-06-01T10:01" else d for d in later]
    assert plots.summary(later, 5) == plots.summary(DOCS, 5)


def test_export_figure_copies_the_png_of_a_notebook_output(tmp_path):
    png = plots.png_bytes(plots.figure("avg_age_by_country_gender", DOCS, 5))
    b64 = base64.b64encode(png).decode("ascii")
    output = {
        "output_type": "display_data",
        "metadata": {"profilepipe": {"figure": "avg_age_by_country_gender"}},
        "data": {"image/png": [b64[:100], b64[100:]], "text/plain": ["<figure>"]},
    }
    nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [output]}], "nbformat": 4}
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    dest = plots.export_figure(tmp_path / "nb.ipynb", "avg_age_by_country_gender", tmp_path / "d" / "f.png")
    assert dest.read_bytes() == png
    with pytest.raises(LookupError, match="no output of figure 'gender_split'"):
        plots.notebook_figure_png(tmp_path / "nb.ipynb", "gender_split")


def test_notebook_03_shows_every_figure_and_leaves_the_minutes_out_of_nbval():
    notebook, _ = plots.readme_figure_paths()
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    shown = [name for name in NAMES for c in code if f'plots.show("{name}", docs, k, as_of)' in c.source]
    assert shown == NAMES
    minutes = next(c for c in code if '"ingested_per_minute"' in c.source)
    assert minutes.metadata.get("tags") == ["nbval-ignore-output"]


def test_readme_figure_is_notebook_03s_output():
    """Fails until notebook 03's reference outputs are refreshed (scripts/refresh_notebooks.py)."""
    notebook, figure = plots.readme_figure_paths()
    try:
        expected = plots.notebook_figure_png(notebook, plots.README_FIGURE)
    except LookupError as exc:
        pytest.fail(f"{exc}; run scripts/refresh_notebooks.py 03", pytrace=False)
    assert figure.read_bytes() == expected, "docs/figures/ is stale: run scripts/refresh_notebooks.py 03"
