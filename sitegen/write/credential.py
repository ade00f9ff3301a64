"""Writing one credential's files, and removing them, by the layout's paths.

Files are written in the layout's order (PDF and signature first, the page last), so a
page never links to a file that is not there yet; what the credential no longer has (the
PDF once revoked, the hash-index entry of its previous PDF) goes after the new page is up.
"""

from __future__ import annotations

import hashlib
import os

from sitegen.layout import CREDENTIAL_OUTPUTS, CredentialPaths
from sitegen.plan.state import CredentialState, OutputStamp
from sitegen.write.files import OutputTree


class CredentialWriter:
    def __init__(self, tree: OutputTree):
        self.tree = tree

    def write(self, uuid: str, files: dict[str, bytes], previous: CredentialState | None) -> dict[str, OutputStamp]:
        """Write `files` (output kind -> bytes); the stamps the build state keeps for them."""
        paths = CredentialPaths(uuid)
        digests = {kind: hashlib.sha256(data).hexdigest() for kind, data in files.items()}
        stamps: dict[str, OutputStamp] = {}
        written: set[str] = set()
        for kind, site_path in paths.outputs(digests).items():
            data = files[kind]
            if CREDENTIAL_OUTPUTS[kind].shared:
                # Named by its bytes and used by many: written once, never rewritten.
                self.tree.write_if_changed(site_path, data)
                stat = self.tree.path(site_path).stat()
            else:
                stat = self.tree.write(site_path, data)
            stamps[kind] = OutputStamp(digests[kind], stat.st_size, stat.st_mtime_ns)
            written.add(site_path)
        if previous is not None:
            for site_path in owned_paths(uuid, previous):
                if site_path not in written:
                    self.tree.remove(site_path)
        self._remove_strays(paths.folder, written)
        return stamps

    def _remove_strays(self, folder: str, written: set[str]) -> None:
        """Files in the credential's folder that this build did not write: a PDF from before
        a revocation whose build state was lost, say. Dot-files are temporary, swept apart."""
        if self.tree.made_new(folder):  # a cold build: no folder to list
            return
        for name in os.listdir(self.tree.path(folder)):
            site_path = f"{folder}/{name}"
            if site_path not in written and not name.startswith("."):
                self.tree.remove_any(site_path)

    def remove(self, uuid: str, previous: CredentialState | None) -> None:
        """Every file of a credential whose record is gone, and its folder."""
        paths = CredentialPaths(uuid)
        if previous is not None:
            for site_path in owned_paths(uuid, previous):
                self.tree.remove(site_path)
        self.tree.remove(paths.api)  # also when the state was lost
        self.tree.remove_folder(paths.folder)


def owned_paths(uuid: str, state: CredentialState) -> list[str]:
    """The files only this credential has (not the shared ones, such as its share card)."""
    return [path for kind, path in output_paths(uuid, state).items() if not CREDENTIAL_OUTPUTS[kind].shared]


def output_paths(uuid: str, state: CredentialState) -> dict[str, str]:
    """kind -> file of every output the state says the credential has."""
    return CredentialPaths(uuid).outputs({kind: stamp.sha256 for kind, stamp in state.outputs.items()})
