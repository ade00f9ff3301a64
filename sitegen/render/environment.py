"""The Jinja2 environment of a theme (`Theme.env`), made when a first page is rendered.

A build with nothing to render (a no-op) never imports Jinja: loading it took a tenth of
a no-op build of 10k credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jinja2


class RecordingEnvironment(jinja2.Environment):
    """Calls `on_lookup(name)` for every template lookup, cached or not: `extends`,
    `include`, `import`."""

    def __init__(self, on_lookup: Callable[[str], None], **options):
        super().__init__(**options)
        self.on_lookup = on_lookup

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
