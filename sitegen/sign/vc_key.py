"""The Ed25519 key that signs the verifiable credentials (Open Badges 3.0), beside the OpenPGP key.

Where it comes from, first match wins:

1. `SITEGEN_VC_KEY`: the secret key itself (Multikey `secretKeyMultibase`, one line), for CI
   that keeps it in a secret variable;
2. `signing.vc_key_file` in site.yml, or `SITEGEN_VC_KEY_FILE`: a file made by `sitegen keys init`;
3. `sitegen-vc-ed25519.key` in the GnuPG home (the OpenPGP key's home), where `sitegen keys
   init` puts it by default.

With no GnuPG home configured (the development home, `.dev-gnupg/`), a development key is
made there on first use, as the development OpenPGP key is: pages then say so, and publish
refuses the build. A configured home without the key is an error, never a silent new key:
credentials signed by a key nobody keeps could not be verified after the next rotation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sitegen.errors import SitegenError
from sitegen.model import SigningSettings
from sitegen.sign.gpg import locate_key
from sitegen.vc import KEY_ENVIRONMENT_VARIABLE, key_from_environment, load_key, new_key, save_key
from sitegen.vc.keys import public_key_from_multibase

VC_KEY_FILE_NAME = "sitegen-vc-ed25519.key"


@dataclass(frozen=True)
class VcKey:
    key: Ed25519PrivateKey
    source: str  # where it came from, as messages name it
    previous: tuple[Ed25519PublicKey, ...]  # retired keys the DID document still lists
    is_development_key: bool

    @property
    def public_keys(self) -> list[Ed25519PublicKey]:
        """Every key the DID document lists: the current one first, then the retired ones."""
        return [self.key.public_key(), *self.previous]


def vc_key_file(settings: SigningSettings, project_root: Path) -> tuple[Path, str, bool]:
    """(the key file, which setting named it, whether it is the development key's)."""
    where = locate_key(settings, project_root)
    if settings.vc_key_file:
        path = Path(settings.vc_key_file).expanduser()
        return (path if path.is_absolute() else Path(project_root) / path), settings.vc_key_file_source, False
    return where.home / VC_KEY_FILE_NAME, f"{VC_KEY_FILE_NAME} in {where.home_source}", where.is_development_home


def open_vc_key(settings: SigningSettings, project_root: Path, environ: Mapping[str, str] | None = None) -> VcKey:
    """The key to sign with; a SitegenError naming the setting when it cannot be had."""
    environ = os.environ if environ is None else environ
    previous = tuple(public_key_from_multibase(text) for text in settings.vc_previous_keys)
    try:
        from_environment = key_from_environment(environ)
    except ValueError as err:
        raise SitegenError(f"environment: {err}") from None
    if from_environment is not None:
        return VcKey(from_environment, KEY_ENVIRONMENT_VARIABLE, previous, False)
    path, source, development = vc_key_file(settings, project_root)
    if development and not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        save_key(new_key(), path)
    try:
        key = load_key(path)
    except FileNotFoundError:
        raise SitegenError(f"{source}: no Ed25519 key at {path} for the verifiable credentials: run "
                           f"`sitegen keys init`, or set {KEY_ENVIRONMENT_VARIABLE}") from None
    except (OSError, ValueError) as err:
        raise SitegenError(f"{source}: {path}: {err}") from None
    return VcKey(key, str(path), previous, development)


def create_vc_key(settings: SigningSettings, project_root: Path) -> Path:
    """`sitegen keys init`: a new key in its file; refuses to replace one."""
    path, source, _ = vc_key_file(settings, project_root)
    if path.exists():
        raise SitegenError(f"{source}: {path} already holds a key: refusing to replace it (rotate by "
                           "moving it away and listing its public key in signing.vc_previous_keys)")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    save_key(new_key(), path)
    return path
