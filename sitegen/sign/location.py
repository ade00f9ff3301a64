"""Where the signing key is: its GnuPG home and fingerprint, as the settings say.

Apart from the signing itself (gpg.py): every build asks where the key is (its home must
not be in the output folder), and a build that signs nothing loads no more than this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import SitegenError
from sitegen.model import SigningSettings

DEV_HOME_NAME = ".dev-gnupg"
FINGERPRINT_RE = re.compile(r"[0-9A-F]{40}")


@dataclass(frozen=True)
class KeyLocation:
    """Where the signing key is, and which setting said so (for error messages)."""

    home: Path
    home_source: str
    fingerprint: str | None
    fingerprint_source: str | None
    is_development_home: bool


def locate_key(settings: SigningSettings, project_root: Path) -> KeyLocation:
    """GNUPGHOME: the settings' (site.yml or SITEGEN_GNUPGHOME, as `load_site` applied them),
    else <project>/.dev-gnupg; the key: the settings' fingerprint, or none."""
    dev_home = Path(project_root).resolve() / DEV_HOME_NAME
    if settings.gnupghome:
        home, home_source = Path(settings.gnupghome).expanduser().absolute(), settings.gnupghome_source
    else:
        home, home_source = dev_home, "the development home"
    fingerprint = settings.key or None
    if fingerprint and not FINGERPRINT_RE.fullmatch(fingerprint):
        # load_site normalises fingerprints; anything else must never reach gpg's command line.
        raise SitegenError(f"{settings.key_source}: {fingerprint!r} is not a key fingerprint (40 hex digits)")
    key_source = settings.key_source if fingerprint else None
    return KeyLocation(home, home_source, fingerprint, key_source, home == dev_home)
