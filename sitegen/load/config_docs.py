"""docs/configuration.md, written from the option declarations in `config.py`.

    python -m sitegen.load.config_docs > docs/configuration.md    (or: ./dev docs)

A test fails when the committed page differs from what this prints, so the page
cannot drift from what `load_site` accepts.
"""

from __future__ import annotations

import sys

from sitegen.load.config import SECTIONS, Option, Section

INTRO = """\
# Configuration: site.yml

<!-- Generated from the declarations in sitegen/load/config.py by
     `python -m sitegen.load.config_docs > docs/configuration.md` (or `./dev docs`).
     Do not edit by hand: a test fails when this page is out of date. -->

`site.yml`, at the root of the project folder, holds the site's settings; the example
project's own [site.yml](../site.yml) uses most of them. sitegen checks the whole file before
it builds anything: an unknown key, a missing required option or a value of the wrong type
is reported as one line naming the line of site.yml and the option, and nothing is written.

## Environment variables

The environment overrides site.yml for what CI keeps secret or sets per run. A variable
that is set but empty counts as unset. A wrong value is reported as one line naming the
variable. AWS credentials come only from the standard AWS chain, never from site.yml.

| variable | overrides |
| --- | --- |
"""


def render() -> str:
    parts = [INTRO]
    parts += [f"| `{option.env}` | `{_join(section.path, key)}` |\n"
              for section, key, option in _all_options() if option.env]
    for section in SECTIONS:
        parts.append(_section(section))
    return "".join(parts)


def _section(section: Section) -> str:
    title = f"`{section.path}`" if section.path else "Top level"
    rows = [
        f"| `{key}` | {_type(option)} | {'yes' if option.required else ''} | {_default(option)} "
        f"| {f'`{option.env}`' if option.env else ''} | {option.doc}{_see_also(section, key)} |\n"
        for key, option in section.options.items()
    ]
    return (f"\n## {title}\n\n{section.doc}\n\n"
            "| option | type | required | default | environment variable | description |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + "".join(rows))


def _all_options():
    for section in SECTIONS:
        for key, option in section.options.items():
            yield section, key, option


def _type(option: Option) -> str:
    if option.choices:
        return " or ".join(f"`{choice}`" for choice in option.choices)
    names = {str: "text", int: "whole number", dict: "mapping", list: "list", bool: "`true` or `false`"}
    kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds)


def _default(option: Option) -> str:
    value = option.default
    if option.required or value is None:
        return ""
    if isinstance(value, list):
        return "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, bool):  # as YAML spells it
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _see_also(section: Section, key: str) -> str:
    """For a mapping option, where its own options are listed."""
    path = _join(section.path, key)
    nested = [s.path for s in SECTIONS if s.path == path or s.path.startswith(path + ".<")]
    return f" Its options: `{nested[0]}` below." if nested else ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


if __name__ == "__main__":
    sys.stdout.write(render())
