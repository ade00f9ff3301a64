"""The verifiable credential a certificate PDF carries.

    FILE_NAME, MEDIA_TYPE, RELATIONSHIP, DESCRIPTION   how a signed build embeds credential.json

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
"""

from __future__ import annotations

FILE_NAME = "credential.json"
MEDIA_TYPE = "application/vc"
RELATIONSHIP = "Data"
DESCRIPTION = ("The Open Badges 3.0 verifiable credential this certificate presents, signed by "
               "its issuer (as published beside the PDF); check it with a wallet or `sitegen verify`.")
