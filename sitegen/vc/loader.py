"""The JSON-LD contexts a build may read: the copies bundled in `contexts/`, never the network.

A build must give the same bytes offline, and a context fetched at build time could change
what every signature covers; so a document loader that knows only these URLs, and refuses
any other one.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

CONTEXTS = Path(__file__).parent / "contexts"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@cache
def bundled_sources() -> dict[str, dict]:
    """URL -> {file, sha256, copied_from}: what `contexts/sources.json` records of each copy."""
    return json.loads((CONTEXTS / "sources.json").read_text(encoding="utf-8"))


@cache
def _bundled_document(url: str) -> dict:
    return json.loads((CONTEXTS / bundled_sources()[url]["file"]).read_text(encoding="utf-8"))


def bundled_context(url: str) -> dict:
    """The bundled document of a context URL (a copy the caller may change); KeyError if not bundled."""
    return copy.deepcopy(_bundled_document(url))


def load_document(url: str, options: dict | None = None) -> dict:
    """A pyld document loader that serves the bundled contexts and refuses every other URL."""
    if url not in bundled_sources():
        from pyld.jsonld import JsonLdError  # only pyld calls this loader: it is loaded already

        raise JsonLdError(f"{url} is not a context bundled with sitegen, and a build fetches nothing",
                          "jsonld.LoadDocumentError", {"url": url}, code="loading document failed")
    # "static": the document never changes, so pyld may keep it parsed between operations.
    return {"contextUrl": None, "documentUrl": url, "document": bundled_context(url), "tag": "static"}
