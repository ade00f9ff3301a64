"""Pages escape every value exactly as MarkupSafe does, through the theme's cheaper `escape`."""

from __future__ import annotations

import re
from pathlib import Path

import markupsafe
import pytest
from markupsafe import Markup

from sitegen.render.environment import escape, theme_environment

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "themes" / "default" / "templates"


class _Html:
    def __html__(self):
        return "<b>trusted</b>"


class _Text(str):
    pass


VALUES = [
    "Zoë <script>alert('x')</script> & \"friends\"",
    "",
    "王小明",
    "a\u2028b",
    _Text("<i>a str subclass</i>"),
    Markup("<em>already safe</em> &amp;"),
    _Html(),
    42,
    0.5,
    None,
    True,
    ["<list>"],
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_escape_gives_what_markupsafe_gives(value):
    ours = escape(value)
    assert type(ours) is Markup
    assert str(ours) == str(markupsafe.escape(value))


def test_theme_templates_print_values_escaped(tmp_path):
    (tmp_path / "page.html").write_text("<p title=\"{{ name }}\">{{ name }}</p>{{ safe }}{{ number }}")
    env = theme_environment(tmp_path, lambda name: None)
    html = env.get_template("page.html").render(name="<script>'&\"", safe=Markup("<br>"), number=3)
    assert html == ('<p title="&lt;script&gt;&#39;&amp;&#34;">&lt;script&gt;&#39;&amp;&#34;</p><br>3')


def test_the_default_themes_icons_are_each_icon_as_the_macro_draws_it():
    env = theme_environment(DEFAULT_TEMPLATES, lambda name: None)
    names = re.findall(r'name == "([a-z]+)"', (DEFAULT_TEMPLATES / "partials" / "icons.html").read_text())
    module = env.get_template("partials/icons.html").module
    assert sorted(module.icons) == sorted(names)
    for name in names:
        assert module.icons[name] == module.icon(name)
