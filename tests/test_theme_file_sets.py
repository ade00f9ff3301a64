"""The theme files a render loaded, as the build state keeps them: one set per distinct
content, found by its content (file names and digests), never by the name alone."""

from __future__ import annotations

from sitegen.load.config import load_site
from sitegen.plan.state import BuildState
from sitegen.render.theme import RenderRecord, Theme


def test_a_set_is_found_by_its_names_and_digests():
    state = BuildState(theme_file_sets=[{"template:a.html": "1", "asset:x.css": "9"}])  # as loaded
    assert state.theme_file_set_index({"asset:x.css": "9", "template:a.html": "1"}) == 0
    assert state.theme_file_set_index({"template:a.html": "2", "asset:x.css": "9"}) == 1  # a new digest
    assert state.theme_file_set_index({"template:a.html": "1"}) == 2  # fewer files
    assert state.theme_file_set_index(dict({"template:a.html": "2", "asset:x.css": "9"})) == 1
    assert state.theme_file_set_index({"template:a.html": "1", "asset:x.css": "9"}) == 0
    assert state.theme_file_sets == [{"template:a.html": "1", "asset:x.css": "9"},
                                      {"template:a.html": "2", "asset:x.css": "9"}, {"template:a.html": "1"}]


def test_renders_that_loaded_other_files_get_their_own_digests(sample_site):
    (sample_site / "themes/plain/static/other.css").write_text("p {}")
    theme = Theme(load_site(sample_site))
    first = theme.file_digests(RenderRecord({"page.html"}, {"style.css"}))
    other_asset = theme.file_digests(RenderRecord({"page.html"}, {"other.css"}))
    other_template = theme.file_digests(RenderRecord({"base.html"}, {"style.css"}))
    both = theme.file_digests(RenderRecord({"page.html", "base.html"}, {"style.css"}))
    assert first == {"template:page.html": theme.template_digest("page.html"),
                     "asset:style.css": theme.asset_digest("style.css")}
    assert set(other_asset) == {"template:page.html", "asset:other.css"}
    assert set(other_template) == {"template:base.html", "asset:style.css"}
    assert set(both) == {"template:page.html", "template:base.html", "asset:style.css"}
    assert theme.file_digests(RenderRecord({"page.html"}, {"style.css"})) == first
