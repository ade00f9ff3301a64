"""Parts of pages shared by a course and mode: rendered once per key, checked, recorded.

A `{% call shared(key...) %}` block (docs/themes.md) is rendered for the first page with its
key and rendered again for the second, which must give the same output; later pages reuse it.
A theme that puts a learner's data in a shared part is stopped with a message naming the
template. The test suite runs with SITEGEN_CHECK_SHARED=1 (conftest), so every build of the
default theme in it compares every use of every part.
"""

from __future__ import annotations

import jinja2
import pytest

from sitegen.load.config import load_site
from sitegen.render.theme import RenderRecord, Theme

PAGE = "credentials/{}/index.html"


def theme_with(project, monkeypatch, templates: dict[str, str], check_every_use: bool = False) -> Theme:
    folder = project / "themes" / "plain" / "templates"
    for name, text in templates.items():
        (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("SITEGEN_CHECK_SHARED", "1" if check_every_use else "0")
    return Theme(load_site(project))


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return ""


def test_a_shared_part_is_rendered_for_two_pages_only_and_reused_after(sample_site, monkeypatch):
    theme = theme_with(sample_site, monkeypatch, {
        "probe.html": '<h1>{{ name }}</h1>{% call shared("course", course) %}{{ count() }}'
                      '<p>About {{ course }}</p>{% endcall %}'})
    count = Counter()
    pages = [theme.render("probe.html", PAGE.format(n), name=f"Learner {n}", course="Cryptography", count=count)
             for n in range(6)]

    assert count.calls == 2  # the first page renders it, the second checks it, four reuse it
    assert pages[5] == "<h1>Learner 5</h1><p>About Cryptography</p>"
    theme.render("probe.html", PAGE.format(9), name="X", course="Botany", count=count)
    assert count.calls == 3  # another key: rendered again


def test_every_use_is_compared_when_asked(sample_site, monkeypatch):
    theme = theme_with(sample_site, monkeypatch, {
        "probe.html": '{% call shared("course") %}{{ count() }}static{% endcall %}'}, check_every_use=True)
    count = Counter()
    for n in range(5):
        theme.render("probe.html", PAGE.format(n), count=count)
    assert count.calls == 5


def test_a_learner_name_in_a_shared_part_stops_the_build_naming_the_template(sample_site, monkeypatch):
    theme = theme_with(sample_site, monkeypatch, {
        "leaky.html": '{% call shared("course") %}<p>Congratulations, {{ name }}</p>{% endcall %}'})
    assert "Ana" in theme.render("leaky.html", PAGE.format(1), name="Ana")
    with pytest.raises(jinja2.TemplateRuntimeError, match=r"shared part of leaky\.html .*differs between two pages"):
        theme.render("leaky.html", PAGE.format(2), name="Bo")


def test_the_full_build_reports_a_leaky_override(sample_site, monkeypatch, sitegen):
    monkeypatch.delenv("SITEGEN_CHECK_SHARED", raising=False)  # the default: compare the second use
    overrides = sample_site / "themes" / "plain" / "templates" / "mode" / "verified"
    overrides.mkdir(parents=True)
    (overrides / "certificate.html").write_text(
        '{% extends "certificate.html" %}{% block title %}{% call shared("t") %}{{ cert.recipient_name }}'
        '{% endcall %}{% endblock %}', encoding="utf-8")
    run = sitegen("build", "--site", sample_site, "--pages-only")
    assert run.code != 0
    assert "shared part of certificate.html" in run.err and "differs between two pages" in run.err


def test_the_templates_and_assets_a_part_uses_are_recorded_on_every_page(sample_site, monkeypatch):
    theme = theme_with(sample_site, monkeypatch, {
        "part.html": "<footer>the footer</footer>",
        "probe.html": '{% call shared("footer") %}{% include "part.html" %}'
                      '<link href="{{ asset(css) }}">{% endcall %}'})
    css = next(iter(theme.assets))
    records = [RenderRecord() for _ in range(4)]
    for n, record in enumerate(records):
        theme.render("probe.html", PAGE.format(n), record=record, css=css)
    # A changed asset or included template must rebuild the pages that reused the part too.
    assert all("part.html" in r.templates and css in r.assets for r in records)


def test_links_in_a_part_are_right_at_every_depth_and_from_every_folder(sample_site, monkeypatch):
    theme = theme_with(sample_site, monkeypatch, {
        "probe.html": '{% call shared("nav") %}<a href="{{ url("keys/") }}">key</a>{% endcall %}'})
    assert theme.render("probe.html", "keys/index.html") == '<a href="../keys/">key</a>'
    assert theme.render("probe.html", "faq/index.html") == '<a href="../keys/">key</a>'
    assert theme.render("probe.html", PAGE.format(1)) == '<a href="../../keys/">key</a>'
    assert theme.render("probe.html", "index.html") == '<a href="keys/">key</a>'


def test_shared_parts_are_kept_apart_by_their_place_in_the_template(sample_site, monkeypatch):
    theme = theme_with(sample_site, monkeypatch, {
        "probe.html": '{% call shared("same key") %}first{% endcall %}|'
                      '{% call shared("same key") %}second{% endcall %}'})
    assert [theme.render("probe.html", PAGE.format(n)) for n in range(3)] == ["first|second"] * 3

