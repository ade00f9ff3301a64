"""Indented JSON, as `json.dumps(value, indent=2)` writes it, at the speed of json's C encoder.

The Open Badges files are published indented (readable, and the same bytes as they always
were), and so is the build report of `--json`; Python's json writes an indented document with
its pure-Python encoder, several times slower than the C one, which writes no indent: about
10-20 µs for each credential's assertion. Here the lists and objects are laid out in Python and
every key and value in them is written by json's C functions, so the escaping is json's own.
A list or object met again (the same object, as the build report's 100k "unchanged" entries
are) is laid out once per depth.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring, encode_basestring_ascii  # json's C functions

_ENCODE = {True: json.JSONEncoder(ensure_ascii=True).encode,
           False: json.JSONEncoder(ensure_ascii=False).encode}
_STRING = {True: encode_basestring_ascii, False: encode_basestring}
_CONSTANTS = {True: "true", False: "false", None: "null"}
_PAIR = "{}: {}".format


class _KeyNotText(Exception):
    """An object key that is not a str: left to json.dumps, which converts it."""


def indented_json(value, ensure_ascii: bool = True, indent: int = 2) -> str:
    """The text of `json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)`."""
    try:
        return _layout(value, "\n", " " * indent, _STRING[ensure_ascii], _ENCODE[ensure_ascii], {})
    except _KeyNotText:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)


def _layout(value, margin: str, step: str, string, encode, done: dict) -> str:
    """`value` at the indentation that `margin` (a newline and spaces) starts, each level
    `step` further in; `string` writes a str, `encode` anything else not a list or object.
    `done` holds the text of each list and object laid out so far, by depth and identity
    (every one of them lives as long as the document, so an identity is never reused)."""
    if isinstance(value, str):
        return string(value)
    if isinstance(value, dict | list | tuple):
        laid_out = done.setdefault(len(margin), {})
        text = laid_out[id(value)] = _container(value, margin, step, string, encode, done)
        return text
    if value is None or type(value) is bool:
        return _CONSTANTS[value]
    return encode(value)


def _container(value, margin: str, step: str, string, encode, done: dict) -> str:
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    inner = margin + step
    if isinstance(value, dict):
        try:
            keys = list(map(string, value))
        except TypeError:  # a key that is not a str
            raise _KeyNotText from None
        items = _items(value.values(), inner, step, string, encode, done)
        return "{" + inner + ("," + inner).join(map(_PAIR, keys, items)) + margin + "}"
    items = _items(value, inner, step, string, encode, done)
    return "[" + inner + ("," + inner).join(items) + margin + "]"


def _items(values, margin: str, step: str, string, encode, done: dict) -> list[str]:
    """Each value at `margin`; a list or object already laid out there is not laid out again."""
    laid_out = done.setdefault(len(margin), {})
    return [laid_out.get(id(item)) or _layout(item, margin, step, string, encode, done) for item in values]
