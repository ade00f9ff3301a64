"""`sitegen keys init` and `sitegen keys export`: create the signing key, or show it."""

from __future__ import annotations

import logging
from pathlib import Path

from sitegen.errors import SitegenError
from sitegen.model import SigningSettings
from sitegen.sign.gpg import KEY_ENV, GpgSigner, generate_key, locate_key, open_gpg

log = logging.getLogger("sitegen")


def init_key(settings: SigningSettings, project_root: Path, *, name: str,
             email: str | None = None, algorithm: str | None = None,
             gpg_binary: str = "gpg") -> str:
    """Create a signing key in the configured GNUPGHOME; its fingerprint.

    Never overwrites or doubles a key: refuses if the configured key exists, or if the
    home already holds a secret key for `email` (for `name`, without an email).
    """
    where = locate_key(settings, project_root)
    if not where.is_development_home and where.home.resolve().is_relative_to(
        Path(project_root).resolve()
    ):
        raise SitegenError(
            f"GNUPGHOME {where.home} is inside the project folder, where a private key "
            "could be committed: keep it outside (set SITEGEN_GNUPGHOME)"
        )
    gpg = open_gpg(where.home, gpg_binary, create=True)
    if where.fingerprint and gpg.list_keys(keys=[where.fingerprint]):
        raise SitegenError(
            f"signing key {where.fingerprint} (from {where.fingerprint_source}) already "
            f"exists in {where.home}: refusing to create another"
        )
    for key in gpg.list_keys(secret=True):
        if any((f"<{email}>" in uid) if email else uid == name for uid in key["uids"]):
            raise SitegenError(
                f"{where.home} already holds a key for {email or name} ({key['fingerprint']}): "
                f"refusing to create another; set {KEY_ENV} or signing.key to use it"
            )
    fingerprint = generate_key(gpg, algorithm or settings.algorithm, name, email)
    if where.is_development_home:
        log.warning(
            "the key was created in the development home %s; a production key belongs "
            "outside the project (SITEGEN_GNUPGHOME)", where.home,
        )
    return fingerprint


def export_key(settings: SigningSettings, project_root: Path, *,
               allow_development_key: bool = True, gpg_binary: str = "gpg") -> tuple[str, str]:
    """The signing key's fingerprint and its ASCII-armoured public key."""
    # Showing the key signs nothing: no need to open (and check) the gpg-agent fast path.
    signer = GpgSigner.open(settings, project_root, allow_development_key, gpg_binary, use_agent=False)
    return signer.fingerprint, signer.public_key_armored()
