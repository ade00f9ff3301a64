"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents, the full way and the fast way.

`canonize` runs pyld, the reference implementation: expansion, toRDF and the whole labelling
algorithm; it costs milliseconds per credential even once the contexts are parsed. Credentials of one achievement share
their shape and differ only in a few values, so `ShapeTemplate` asks pyld once per shape for the
RDF of a document whose varying values are placeholders, and then, per credential, writes
the values into those quads and runs the simple case of RDFC-1.0 itself (every blank node told
apart by its first-degree hash). Whenever that case does not hold, or a value is anything but
plain, it answers None and the caller canonicalises in full.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sitegen.vc.loader import load_document

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
PLACEHOLDER_PREFIX = "https://placeholder.sitegen.invalid/"


class _ParsedContexts(dict):
    """pyld's cache of parsed contexts, ours alone: nothing another caller of pyld cached for the same
    URLs can reach our documents. The bundled contexts and their scoped ones are a few dozen; a
    document full of inline contexts (one being verified) only empties it."""

    def __setitem__(self, key, value):
        if len(self) >= 256:
            self.clear()
        super().__setitem__(key, value)


_PARSED_CONTEXTS = _ParsedContexts()

# RDFC-1.0's canonical N-Quads escape these in literals. pyld writes U+0000-U+001F (but tab, line
# feed and carriage return) and U+007F unescaped, so values holding them are refused upstream and
# never take the fast path: the two forms would disagree.
_LITERAL_ESCAPES = {chr(code): f"\\u{code:04X}" for code in [*range(0x20), 0x7F]}
_LITERAL_ESCAPES.update({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r",
                         '"': '\\"', "\\": "\\\\"})
_NEEDS_ESCAPE = re.compile('[\x00-\x1f\x7f"\\\\]')
DISPUTED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# IRIs that every serialiser writes unchanged: ASCII, nothing that N-Quads escapes or forbids.
_PLAIN_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")


class CanonicalizationError(ValueError):
    """The document says something the bundled contexts do not define, or that RDF drops."""


def escape_literal(value: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda match: _LITERAL_ESCAPES[match.group()], value)


def canonize(document: dict) -> str:
    """The canonical N-Quads of a JSON-LD document, by pyld (full RDFC-1.0)."""
    return _strictly(document, lambda processor, expanded, options: processor.normalize(
        expanded, {**options, "algorithm": "URDNA2015", "format": "application/n-quads"}))


def to_rdf(document: dict) -> dict:
    """pyld's RDF dataset of a document, as strict as `canonize`."""
    return _strictly(document, lambda processor, expanded, options: processor.to_rdf(expanded, options))


def _strictly(document: dict, then):
    """Expand as a verifier in safe mode does (nothing dropped), then go on from the expanded form."""
    # pyld (and the requests it imports) is loaded here, not with the module: a build that signs
    # nothing new, a no-op build, never needs it, and importing it costs a tenth of a second.
    from pyld.context_resolver import ContextResolver
    from pyld.jsonld import JsonLdError, JsonLdProcessor

    processor = JsonLdProcessor(on_property_dropped=_refuse_dropped_property)
    options = {"documentLoader": load_document, "base": None,
               "contextResolver": ContextResolver(_PARSED_CONTEXTS, load_document)}
    try:
        expanded = processor.expand(document, dict(options))
        _refuse_relative_iris(expanded)
        return then(processor, expanded, options)
    except JsonLdError as error:  # what pyld raises for any document it cannot process
        raise CanonicalizationError(_innermost_message(error)) from None


def _refuse_dropped_property(expanded_property) -> None:
    # What expansion drops, the signature does not cover: a verifier in safe mode refuses it.
    from pyld.jsonld import JsonLdError

    raise JsonLdError(f"the property {expanded_property!r} is not defined by the document's contexts",
                      "jsonld.ValidationError")


def _refuse_relative_iris(element) -> None:
    """toRDF silently drops what has a relative IRI: the signature would not cover it, yet the JSON shows it."""
    if isinstance(element, list):
        for item in element:
            _refuse_relative_iris(item)
    elif isinstance(element, dict):
        if "@value" in element:
            _check_absolute(element.get("@type", []))  # a datatype
            return
        _check_absolute(element.get("@id", []))
        _check_absolute(element.get("@type", []))
        for key, value in element.items():
            if key not in ("@id", "@type", "@index"):
                _refuse_relative_iris(value)


def _check_absolute(iris) -> None:
    for iri in iris if isinstance(iris, list) else [iris]:
        if not (iri.startswith("_:") or iri == "@json" or _is_absolute_iri(iri)):
            raise CanonicalizationError(f"{iri!r} is not an absolute IRI")


def _is_absolute_iri(value: str) -> bool:
    return re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*\Z", value) is not None


def _innermost_message(error: BaseException) -> str:
    """pyld wraps the error that says what is wrong in others that say where it was found."""
    while error.__cause__ is not None:
        error = error.__cause__
    message = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    return message.splitlines()[0] if message else type(error).__name__


@dataclass(frozen=True)
class _Blank:
    label: str


@dataclass(frozen=True)
class _Slot:
    name: str
    is_iri: bool
    suffix: str = ""  # ^^<datatype> or @language after a literal


class ShapeTemplate:
    """The RDF of every document of one shape, with a slot for each value that varies."""

    def __init__(self, document: dict, placeholders: Mapping[str, str]):
        """`document` holds `placeholders[name]` wherever value `name` goes (each a distinct absolute
        IRI, so that it survives wherever a real value could stand). CanonicalizationError if one of
        them does not come out whole, or some value changed the graph itself."""
        slots_by_placeholder = {placeholder: name for name, placeholder in placeholders.items()}
        self.quads = [
            tuple(_template_term(term, slots_by_placeholder) for term in quad)
            for quad in _dataset_quads(to_rdf(document))
        ]
        found = {term.name: term.is_iri for quad in self.quads for term in quad if isinstance(term, _Slot)}
        if set(found) != set(placeholders):
            raise CanonicalizationError(f"values with no place in the graph: {sorted(set(placeholders) - set(found))}")
        self.iri_slots = [name for name, is_iri in found.items() if is_iri]
        self.literal_slots = [name for name, is_iri in found.items() if not is_iri]
        labels = sorted({term.label for quad in self.quads for term in quad if isinstance(term, _Blank)})
        # For each blank node, the quads that mention it: all its first-degree hash reads.
        self.mentions = {label: [number for number, quad in enumerate(self.quads) if _Blank(label) in quad]
                         for label in labels}

    def canonize(self, values: Mapping[str, str]) -> str | None:
        """The canonical N-Quads of the document these values make, or None where the full
        algorithm is needed (a value out of the ordinary, or blank nodes that look alike)."""
        terms = self._filled_terms(values)
        if terms is None:
            return None
        quads = [[terms[t.name] + t.suffix if isinstance(t, _Slot) else t for t in quad] for quad in self.quads]
        labels = _canonical_labels(quads, self.mentions)
        if labels is None:
            return None
        lines = sorted(_serialize(quad, labels) for quad in quads)
        if len(set(lines)) != len(lines):
            return None  # two quads became one: an RDF dataset is a set
        return "".join(lines)

    def _filled_terms(self, values: Mapping[str, str]) -> dict[str, str] | None:
        terms = {}
        for name in self.iri_slots:
            if not _PLAIN_IRI.match(values[name]):
                return None
            terms[name] = f"<{values[name]}>"
        for name in self.literal_slots:
            if DISPUTED_CHARACTERS.search(values[name]):
                return None
            terms[name] = f'"{escape_literal(values[name])}"'
        return terms


def _dataset_quads(dataset: dict) -> list[tuple]:
    """pyld's {graph name: triples} as (subject, predicate, object, graph) terms; None for the default graph."""
    quads = []
    for graph, triples in dataset.items():
        if graph == "@default":
            graph_term = None
        else:
            graph_term = {"type": "blank node" if graph.startswith("_:") else "IRI", "value": graph}
        quads.extend((t["subject"], t["predicate"], t["object"], graph_term) for t in triples)
    return quads


def _template_term(term: dict | None, slots_by_placeholder: Mapping[str, str]):
    """A constant N-Quads term (str), a blank node, or a slot; None for the default graph."""
    if term is None:
        return None
    value = term["value"]
    if term["type"] == "blank node":
        return _Blank(value.removeprefix("_:"))
    if value in slots_by_placeholder:
        if term["type"] == "IRI":
            return _Slot(slots_by_placeholder[value], is_iri=True)
        return _Slot(slots_by_placeholder[value], is_iri=False, suffix=_literal_suffix(term))
    if PLACEHOLDER_PREFIX in value:
        raise CanonicalizationError(f"a placeholder came out changed: {value!r}")
    if term["type"] == "IRI":
        if not _PLAIN_IRI.match(value):
            raise CanonicalizationError(f"an IRI that needs escaping in the shape itself: {value!r}")
        return f"<{value}>"
    if DISPUTED_CHARACTERS.search(value):
        raise CanonicalizationError(f"a literal with control characters in the shape itself: {value!r}")
    return f'"{escape_literal(value)}"' + _literal_suffix(term)


def _literal_suffix(term: dict) -> str:
    datatype = term.get("datatype", XSD_STRING)
    if datatype == RDF_LANGSTRING:
        return "@" + term["language"]
    return "" if datatype == XSD_STRING else f"^^<{datatype}>"


def _serialize(quad, names: Mapping[str, str]) -> str:
    """One N-Quads line; blank nodes written as `names` says."""
    parts = [f"_:{names[term.label]}" if isinstance(term, _Blank) else term for term in quad if term is not None]
    return " ".join(parts) + " .\n"


def _canonical_labels(quads, mentions: Mapping[str, list[int]]) -> dict[str, str] | None:
    """RDFC-1.0's labels when every blank node has its own first-degree hash, else None."""
    hashes = {label: _first_degree_hash([quads[number] for number in numbers], label)
              for label, numbers in mentions.items()}
    if len(set(hashes.values())) != len(hashes):
        return None
    ordered = sorted(hashes, key=hashes.__getitem__)
    return {label: f"c14n{number}" for number, label in enumerate(ordered)}


def _first_degree_hash(quads, label: str) -> str:
    """RDFC-1.0 4.6: the quads that mention the node, itself as _:a and any other blank node as _:z."""
    names = defaultdict(lambda: "z", {label: "a"})
    lines = sorted(_serialize(quad, names) for quad in quads)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
