"""The Jinja2 environment of a theme (`Theme.env`), made when a first page is rendered.

A build with nothing to render (a no-op) never imports Jinja: loading it took a tenth of
a no-op build of 10k credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jinja2
import markupsafe
from markupsafe import Markup


def escape(value) -> Markup:
    """MarkupSafe's `escape`, with the same result for every value, made cheaper for the two
    kinds a page prints nearly always: a str is escaped by MarkupSafe's own C function without
    the two Python calls around it, and Markup (a macro's or a shared part's output) is already
    safe. A certificate page prints about a hundred values: this was a quarter of its time."""
    kind = type(value)
    if kind is str:
        return _new_str(Markup, _escape_str(value))
    if kind is Markup:
        return value
    return markupsafe.escape(value)


_new_str = str.__new__  # Markup(text) without Markup.__new__'s look for an __html__ a str lacks
_escape_str = getattr(markupsafe, "_escape_inner", markupsafe.escape)  # MarkupSafe >= 3.0 has it


class ThemeTemplate(jinja2.Template):
    """A template whose `{{ ... }}` escape with `escape` above (autoescaping is unchanged: every
    value printed is escaped, Markup is not escaped twice)."""

    @classmethod
    def from_code(cls, environment, code, globals, uptodate=None):
        template = super().from_code(environment, code, globals, uptodate)
        # The module of the compiled template: its render, block and macro functions look
        # `escape` up here, where Jinja put MarkupSafe's.
        template.root_render_func.__globals__["escape"] = escape
        return template


class RecordingEnvironment(jinja2.Environment):
    """Calls `on_lookup(name)` for every template lookup, cached or not: `extends`,
    `include`, `import`."""

    template_class = ThemeTemplate

    def __init__(self, on_lookup: Callable[[str], None], **options):
        super().__init__(**options)
        self.on_lookup = on_lookup

    def make_globals(self, d):
        # A dict, not Jinja's ChainMap over the environment's: each page (and each import in
        # it) reads every global, and a ChainMap is read in Python. The environment's globals
        # are never changed once pages render.
        return {**self.globals, **(d or {})}

    def _load_template(self, name, globals):
        # Misses count too: a new override template must rebuild what it now overrides.
        self.on_lookup(name)
        return super()._load_template(name, globals)


def theme_environment(templates_dir: Path, on_lookup: Callable[[str], None]) -> RecordingEnvironment:
    env = RecordingEnvironment(
        on_lookup,
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,  # every template, whatever its extension: names are untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # one environment per build: no stat() per template per page
    )
    env.filters["tojson_safe"] = tojson_safe
    return env


def tojson_safe(value) -> jinja2.utils.markupsafe.Markup:
    """JSON for a <script> block: `<`, `>`, `&` and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return jinja2.utils.markupsafe.Markup(text)
