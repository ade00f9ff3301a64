"""Indented JSON, as `json.dumps(value, indent=2)` writes it, at the speed of json's C encoder.

The Open Badges files are published indented (readable, and the same bytes as they always
were), and so is the build report of `--json`; Python's json writes an indented document with
its pure-Python encoder, several times slower than the C one, which writes no indent: about
10-20 µs for each credential's assertion. Here the lists and objects are laid out in Python and
every key and value in them is written by json's C functions, so the escaping is json's own.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring, encode_basestring_ascii  # json's C functions

_ENCODE = {True: json.JSONEncoder(ensure_ascii=True).encode,
           False: json.JSONEncoder(ensure_ascii=False).encode}
_STRING = {True: encode_basestring_ascii, False: encode_basestring}
_CONSTANTS = {True: "true", False: "false", None: "null"}


class _KeyNotText(Exception):
    """An object key that is not a str: left to json.dumps, which converts it."""


def indented_json(value, ensure_ascii: bool = True, indent: int = 2) -> str:
    """The text of `json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)`."""
    try:
        return _layout(value, "\n", " " * indent, _STRING[ensure_ascii], _ENCODE[ensure_ascii])
    except _KeyNotText:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)


def _layout(value, margin: str, step: str, string, encode) -> str:
    """`value` at the indentation that `margin` (a newline and spaces) starts, each level
    `step` further in; `string` writes a str, `encode` anything else not a list or object."""
    if isinstance(value, str):
        return string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = margin + step
        return "{" + inner + ("," + inner).join(
            [f"{_key(key, string)}: {_layout(item, inner, step, string, encode)}" for key, item in value.items()]
        ) + margin + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = margin + step
        items = [_layout(item, inner, step, string, encode) for item in value]
        return "[" + inner + ("," + inner).join(items) + margin + "]"
    if value is None or type(value) is bool:
        return _CONSTANTS[value]
    return encode(value)


def _key(key, string) -> str:
    if not isinstance(key, str):
        raise _KeyNotText
    return string(key)
