"""Indented JSON the fast way is, byte for byte, what json.dumps(indent=2) writes."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest

from sitegen.json_text import indented_json

DOCUMENTS = [
    {},
    [],
    "plain",
    {"@context": "https://w3id.org/openbadges/v2", "id": "https://x.example/a b", "type": "Assertion",
     "recipient": {"type": "id", "hashed": True, "salt": "s", "identity": "sha256$ab"},
     "evidence": ["https://x.example/"], "expires": None, "n": 3, "f": 0.1, "big": 10**20, "neg": -1.5e-7},
    {"name": "Zoë \"Ó\" Súilleabháin\\ 王小明 محمد <script> \u2028 \x00 \ud83c\udf93 \t\n", "empty": {}, "none": []},
    {"nested": [[], [{}], [1, [2, [3, {"deep": ["x", {"y": False}]}]]]], "tuple": (1, "two")},
    OrderedDict([("b", 1), ("a", {"c": [OrderedDict()]})]),
    {"not text keys": {7: "seven", 2.5: "x", True: "t", None: "n"}},  # json.dumps converts them
    [float("nan"), float("inf"), -0.0],
]
_SHARED = {"state": "unchanged", "list": [1, {"x": None}]}
# The same objects met again, at the same depth and deeper (the build report's entries are one dict).
DOCUMENTS += [{"a": _SHARED, "b": _SHARED, "c": [_SHARED, {"d": _SHARED}], "e": _SHARED["list"]},
              [_SHARED["list"], [_SHARED["list"], [_SHARED]], _SHARED]]


@pytest.mark.parametrize("indent", [2, 1, 0])
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("document", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_the_same_text_as_json_dumps_with_an_indent(document, ensure_ascii, indent):
    assert indented_json(document, ensure_ascii, indent) == json.dumps(document, ensure_ascii=ensure_ascii,
                                                                       indent=indent)


def test_what_json_cannot_write_is_refused_the_same_way():
    with pytest.raises(TypeError):
        indented_json({"when": object()})
