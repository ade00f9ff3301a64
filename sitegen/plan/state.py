"""Build state kept beside the output (build/.sitegen/, never published).

For every credential: a digest of everything it was made from except the theme files,
the set of theme files (templates, assets) its render actually loaded, and the SHA-256
of its PDF. Theme file sets are shared between credentials, so a template change is
checked once per set, not once per credential.

The state file is replaced atomically. It is saved during a build as well as at its
end, and only ever lists outputs that were completely written; after a crash the next
build redoes whatever the saved state does not vouch for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.write.files import write_atomic

STATE_DIR = ".sitegen"
STATE_FILE = "state.json"
STATE_FORMAT = 2


@dataclass
class CredentialState:
    inputs: str  # digest of record, site settings, key, options, sitegen version
    theme_files: int  # index into BuildState.theme_file_sets
    pdf_sha256: str | None


@dataclass
class BuildState:
    credentials: dict[str, CredentialState] = field(default_factory=dict)
    # Each set maps a theme file name ("template:certificate.html", "asset:site.css") to its digest.
    theme_file_sets: list[dict[str, str]] = field(default_factory=list)
    # Site-wide files (content pages, keys, verify, assets) written last time, so that the
    # ones no longer produced (a deleted page, an old asset fingerprint) can be removed.
    shared_pages: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, out_dir: Path) -> "BuildState":
        path = out_dir / STATE_DIR / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return cls()  # no state or an unreadable one: everything is uncertain, rebuild
        if data.get("format") != STATE_FORMAT:
            return cls()
        credentials = {
            uuid: CredentialState(entry[0], entry[1], entry[2])
            for uuid, entry in data["credentials"].items()
        }
        return cls(credentials, data["theme_file_sets"], data["shared_pages"])

    def save(self, out_dir: Path) -> None:
        data = {
            "format": STATE_FORMAT,
            "theme_file_sets": self.theme_file_sets,
            "shared_pages": self.shared_pages,
            "credentials": {
                uuid: [entry.inputs, entry.theme_files, entry.pdf_sha256]
                for uuid, entry in sorted(self.credentials.items())
            },
        }
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
        write_atomic(out_dir / STATE_DIR / STATE_FILE, text.encode("ascii"))

    def theme_file_set_index(self, files: dict[str, str]) -> int:
        for index, existing in enumerate(self.theme_file_sets):
            if existing == files:
                return index
        self.theme_file_sets.append(files)
        return len(self.theme_file_sets) - 1
