"""Signatures of one credential's outputs: the PDF's detached signature and the statement."""

from __future__ import annotations

from sitegen.render.credential import RenderedCredential
from sitegen.sign.gpg import Signer


def sign_credential(rendered: RenderedCredential, signer: Signer) -> dict[str, bytes]:
    """The rendered files plus `signature` (of the PDF) and `statement` (clear-signed)."""
    files = dict(rendered.files)
    if "pdf" in files:
        files["signature"] = signer.sign_detached(files["pdf"], rendered.signed_at).encode("ascii")
    if rendered.statement is not None:
        files["statement"] = signer.clearsign(rendered.statement, rendered.signed_at).encode("utf-8")
    return files
