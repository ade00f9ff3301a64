"""The verifiable credential a certificate PDF carries, and reading it back out.

    FILE_NAME, MEDIA_TYPE, RELATIONSHIP, DESCRIPTION   how a signed build embeds credential.json
    embedded_credential(pdf) -> bytes | None          what `sitegen verify` reads back

A signed build's PDF is PDF/A-3b with the credential's signed `credential.json`, byte for byte
the published file, as an associated file of the document (ISO 19005-3, 6.8): listed in the
catalog's /AF and in the EmbeddedFiles name tree, its file specification saying how it relates
to the page (/AFRelationship) and its stream what it is (/Subtype, the media type):

* `application/vc`: the media type VC Data Model 2.0 registers for a credential secured with
  an embedded proof (IANA, 2024); its drafts' `application/vc+ld+json` was renamed to it, and
  `application/ld+json` says only "some JSON-LD". The certificate page's
  `<link rel="alternate">` names the same file with the same type.
* `/Data`: the credential is the information the page presents ("used to derive a visual
  presentation", ISO 32000-2, 7.11.3). It is not its `/Source`: both are made from the
  record; the page is not rendered from the credential, nor the credential from the page.

Reading it back takes an untrusted file: the PDF's objects are parsed by pypdf, then only what
this module needs is followed (the /AF array and the name tree, each bounded), only a plain or
Flate-compressed stream is read, and it is inflated here with a size cap, never more.
"""

from __future__ import annotations

import io
import zlib

FILE_NAME = "credential.json"
MEDIA_TYPE = "application/vc"
RELATIONSHIP = "Data"
DESCRIPTION = ("The Open Badges 3.0 verifiable credential this certificate presents, signed by "
               "its issuer (as published beside the PDF); check it with a wallet or `sitegen verify`.")

MAX_BYTES = 256 * 1024  # a credential is 2 to 5 KB (long names and descriptions): more is not ours
MAX_FILES = 256  # entries of the name tree and the /AF array looked at
MAX_DEPTH = 8  # levels of the name tree


class EmbeddedError(Exception):
    """The PDF carries a credential.json that cannot be read back; the message says why."""


def embedded_credential(pdf: bytes) -> bytes | None:
    """The bytes of the PDF's embedded credential.json; None when it carries none.

    Raises EmbeddedError for one that cannot be read (damaged, too large, an unexpected
    filter) and for two different ones: a verifier must not pick which to believe.
    """
    from pypdf import PdfReader

    try:
        catalog = PdfReader(io.BytesIO(pdf), strict=False).trailer["/Root"].get_object()
        specs = _file_specs(catalog)
    except Exception:  # a damaged file can fail in many ways inside pypdf
        return None
    try:
        found = {_contents(spec) for spec in specs if _spec_name(spec) == FILE_NAME}
    except EmbeddedError:
        raise
    except Exception:  # an object that is not what its key says, a dangling reference...
        raise EmbeddedError(f"the PDF's {FILE_NAME} cannot be read (the file is damaged)") from None
    if len(found) > 1:
        raise EmbeddedError(f"the PDF carries {len(found)} different {FILE_NAME} files")
    return found.pop() if found else None


def _file_specs(catalog) -> list:
    """File specification dictionaries of the catalog's /AF and EmbeddedFiles name tree."""
    specs = list(_array(catalog.get("/AF")))[:MAX_FILES]
    names = _dictionary(catalog.get("/Names"))
    tree = _dictionary(names.get("/EmbeddedFiles")) if names else None
    if tree:
        specs += _name_tree_values(tree, depth=0, budget=[MAX_FILES])
    return [spec for spec in (_dictionary(s) for s in specs) if spec is not None]


def _name_tree_values(node, depth: int, budget: list[int]) -> list:
    if node is None or depth > MAX_DEPTH or budget[0] <= 0:
        return []
    values = []
    pairs = list(_array(node.get("/Names")))
    for value in pairs[1::2][:budget[0]]:
        values.append(value)
        budget[0] -= 1
    for kid in list(_array(node.get("/Kids")))[:MAX_FILES]:
        values += _name_tree_values(_dictionary(kid), depth + 1, budget)
    return values


def _spec_name(spec) -> str | None:
    for key in ("/UF", "/F"):
        value = spec.get(key)
        if value is not None:
            return str(value.get_object())
    return None


def _contents(spec) -> bytes:
    files = _dictionary(spec.get("/EF"))
    stream = files.get("/UF", files.get("/F")) if files else None
    stream = stream.get_object() if stream is not None else None
    raw = getattr(stream, "_data", None)  # pypdf keeps a stream's bytes as they are in the file
    if not isinstance(raw, bytes):
        raise EmbeddedError(f"the PDF's {FILE_NAME} has no contents")
    filters = _filters(stream)
    if filters == []:
        data = raw
    elif filters == ["/FlateDecode"] and "/DecodeParms" not in stream:
        data = _inflate(raw)
    else:
        raise EmbeddedError(f"the PDF's {FILE_NAME} is encoded with {' '.join(filters)}, which sitegen never writes")
    if len(data) > MAX_BYTES:
        raise EmbeddedError(f"the PDF's {FILE_NAME} is larger than {MAX_BYTES // 1024} KB")
    return data


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, MAX_BYTES + 1)
    except zlib.error:
        raise EmbeddedError(f"the PDF's {FILE_NAME} is damaged (it does not inflate)") from None
    if len(data) > MAX_BYTES or inflater.unconsumed_tail:
        raise EmbeddedError(f"the PDF's {FILE_NAME} is larger than {MAX_BYTES // 1024} KB")
    return data


def _filters(stream) -> list[str]:
    value = stream.get("/Filter")
    value = value.get_object() if value is not None else None
    if value is None:
        return []
    return [str(name) for name in value] if isinstance(value, list) else [str(value)]


def _dictionary(value):
    value = value.get_object() if value is not None else None
    return value if hasattr(value, "keys") else None


def _array(value):
    value = value.get_object() if value is not None else None
    return value if isinstance(value, list) else []
