"""The build report: one summary line for people, JSON for machines.

Per credential the state follows the old certificate agent's lifecycle: generated,
unchanged, removed, or error with its reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import __version__
from sitegen.json_text import indented_json
from sitegen.layout import LAST_BUILD_FILE
from sitegen.write.files import write_atomic

# The report's entry of every unchanged (removed) credential: read-only, shared by all of them.
_UNCHANGED = {"state": "unchanged"}
_REMOVED = {"state": "removed"}


@dataclass
class LegacyReport:
    """What the legacy stage did (sitegen/legacy/stage.py): counts, never a list of certificates
    (a site must not list its learners; 594,716 lines would not help anyone)."""

    certificates: int = 0
    generated: Counter = field(default_factory=Counter)  # why -> certificates rendered
    unchanged: int = 0
    removed: int = 0
    purged: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # verify_uuid -> reason
    skipped: Counter = field(default_factory=Counter)  # status -> rows not downloadable
    other_sites: int = 0
    other_shards: int = 0
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.certificates} legacy certificate(s): {sum(self.generated.values())} generated, "
                f"{self.unchanged} unchanged, {self.removed} removed, {len(self.errors)} error(s)")

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "certificates": self.certificates,
            "generated": sum(self.generated.values()),
            "reasons": dict(sorted(self.generated.items())),
            "unchanged": self.unchanged,
            "removed": self.removed,
            "purged": self.purged,
            "errors": dict(sorted(self.errors.items())),
            "skipped": sum(self.skipped.values()),
            "skipped_by_status": dict(sorted(self.skipped.items())),
            "other_sites": self.other_sites,
            "other_shards": self.other_shards,
        }


@dataclass
class BuildReport:
    ok: bool = True
    generated: dict[str, str] = field(default_factory=dict)  # uuid -> why (new, changed, theme, missing)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # uuid or file -> reason
    input_problems: list[str] = field(default_factory=list)
    pages_written: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    development_key: bool = False
    preview: str | None = None  # why this build must never be published
    seconds: float = 0.0
    site: str = ""  # the site's name in a project of several sites
    shard: str | None = None  # "K/N" when the build holds shard K of N of the credentials
    legacy: LegacyReport | None = None  # legacy edX certificates, when the project has any

    def summary(self) -> str:
        if self.input_problems:
            return f"Build failed: {len(self.input_problems)} problem(s) in the input; nothing was written."
        total = len(self.generated) + len(self.unchanged) + len(self.errors)
        text = (f"{total} credential(s): {len(self.generated)} generated, {len(self.unchanged)} unchanged, "
                f"{len(self.removed)} removed, {len(self.errors)} error(s); "
                f"{len(self.pages_written)} site file(s) updated in {self.seconds:.1f} s")
        if self.legacy and (self.legacy.certificates or self.legacy.removed or self.legacy.purged):
            text += f"; {self.legacy.summary()}"
        where = f" site {self.site}:" if self.site else ""
        return ("Build failed:" if not self.ok else "Built") + where + " " + text

    def to_dict(self, errors_only: bool = False) -> dict:
        """The report; with `errors_only`, its credentials are the failed ones alone."""
        credentials = {}
        if not errors_only:
            credentials.update({u: {"state": "generated", "reason": r} for u, r in self.generated.items()})
            # One dict for all of them, which `indented_json` lays out once (100k: 0.3 s less).
            credentials.update(dict.fromkeys(self.unchanged, _UNCHANGED))
            credentials.update(dict.fromkeys(self.removed, _REMOVED))
        credentials.update({u: {"state": "error", "reason": r} for u, r in self.errors.items()})
        return {
            "ok": self.ok,
            **({"site": self.site} if self.site else {}),
            "sitegen_version": __version__,
            "counts": {"generated": len(self.generated), "unchanged": len(self.unchanged),
                       "removed": len(self.removed), "errors": len(self.errors)},
            "errors": len(self.errors) + len(self.input_problems),
            "input_problems": self.input_problems,
            "signing": {"fingerprint": self.fingerprint, "development_key": self.development_key},
            "publishable": self.preview is None,
            "preview": self.preview,
            "shard": self.shard,  # publish checks it is publishing the shard it was given
            "site_files_updated": self.pages_written,
            "seconds": round(self.seconds, 3),
            "credentials": {uuid: credentials[uuid] for uuid in sorted(credentials)},
            "legacy": self.legacy.to_dict() if self.legacy else None,
        }

    def to_json(self) -> str:
        return indented_json(self.to_dict(), ensure_ascii=False)  # 10k credentials: 0.1 s less

    @staticmethod
    def last_was_publishable(out_dir: Path) -> bool:
        try:
            last = json.loads((out_dir / LAST_BUILD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(last, dict) and last.get("publishable") is True

    def save(self, out_dir: Path) -> None:
        """build/.sitegen/last-build.json: what publish checks before it uploads anything."""
        total = len(self.generated) + len(self.unchanged) + len(self.removed) + len(self.errors)
        data = self.to_dict(errors_only=total > 1000)  # 100k entries cost a second a build
        write_atomic(out_dir / LAST_BUILD_FILE, json.dumps(data, indent=1).encode("utf-8"))
