"""The legacy stage's build state, beside the credentials' (build/.sitegen/legacy-state.json,
never published).

Per certificate, as for credentials (sitegen/plan/state.py): a digest of what its pages
show (the row's fields, the parts of site.yml they read, sitegen's version), the set of
theme files its render loaded (shared by all, mostly), the size and modification time of
each of its three pages, and the uncertain mark: a certificate about to be rewritten is
marked, and the state saved, before any of its pages is written, so a build killed
part-way is followed by one that redoes it. Also the digest of the URL map's contents.

Its own file, not state.json: 594,716 entries are saved by the legacy stage alone, only
when it changed something, and never by each save of the credential stage. JSON read
field by field (build/ may come back from a shared CI cache), replaced atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.layout import LEGACY_STATE_FILE, is_uuid
from sitegen.plan.state import mark_uncertain, read_state, theme_file_set_index
from sitegen.write.files import write_atomic

STATE_FORMAT = 1


@dataclass(slots=True)  # one per legacy certificate: 594,716 of them in a build of the whole site
class LegacyEntry:
    inputs: str  # digest of the row's fields and the site facts the pages show
    theme_files: int  # index into LegacyState.theme_file_sets
    stamps: tuple[int, ...]  # size and mtime_ns of each page, in paths.PAGES order
    uncertain: bool = False  # a build started to rewrite it and did not finish


@dataclass
class LegacyState:
    certificates: dict[str, LegacyEntry] = field(default_factory=dict)
    theme_file_sets: list[dict[str, str]] = field(default_factory=list)
    url_map: str = ""  # digest of the URL map's rows, when it was last written

    @classmethod
    def load(cls, out_dir: Path) -> LegacyState:
        # No state or an unreadable one: every page is uncertain, rendered again.
        return read_state(out_dir / LEGACY_STATE_FILE, STATE_FORMAT, cls._from_json) or cls()

    @classmethod
    def _from_json(cls, data: dict) -> LegacyState:
        return cls({str(uuid): _entry(item) for uuid, item in data["certificates"].items() if is_uuid(uuid)},
                   [{str(k): str(v) for k, v in files.items()} for files in data["theme_file_sets"]],
                   str(data["url_map"]))

    def save(self, out_dir: Path) -> None:
        data = {
            "format": STATE_FORMAT,
            "theme_file_sets": self.theme_file_sets,
            "url_map": self.url_map,
            "certificates": {uuid: [e.inputs, e.theme_files, e.stamps, int(e.uncertain)]
                             for uuid, e in self.certificates.items()},
        }
        write_atomic(out_dir / LEGACY_STATE_FILE, json.dumps(data, separators=(",", ":")).encode("ascii"))

    def mark_uncertain(self, uuids) -> None:
        mark_uncertain(self.certificates, uuids)

    def theme_file_set_index(self, files: dict[str, str]) -> int:
        return theme_file_set_index(self.theme_file_sets, files)


def _entry(item: list) -> LegacyEntry:
    inputs, theme_files, stamps, uncertain = item
    return LegacyEntry(str(inputs), int(theme_files), tuple(map(int, stamps)), bool(uncertain))
