"""Whether a file of credentials_data/ is an export of the GeneratedCertificate table.

Kept apart from `export.py` (which reads with the record readers) so that the record
loader can ask it without importing them back: an export is recognised by its header
alone, never by its name.
"""

from __future__ import annotations

import csv
from pathlib import Path

# The columns of the platform's `certificates_generatedcertificate` table, as exported.
EXPORT_COLUMNS = frozenset((
    "id", "user_id", "name", "course_id", "verify_uuid", "download_uuid", "download_url", "grade",
    "status", "mode", "created_date", "modified_date", "error_reason", "key", "distinction",
))
# What tells an export from a record file: no record file has these columns.
TELLING_COLUMNS = frozenset(("verify_uuid", "download_uuid", "course_id", "status", "name"))
_HEADER_BYTES = 64 * 1024


def is_legacy_export(path: Path) -> bool:
    """A CSV file whose header names the telling columns of the export (others may follow)."""
    if path.suffix.lower() != ".csv":
        return False
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first = handle.read(_HEADER_BYTES)
    except (OSError, UnicodeDecodeError):
        return False  # the record reader reports it
    lines = first.splitlines()
    if not lines:
        return False
    try:
        header = {name.strip() for name in next(csv.reader([lines[0]]))}
    except (csv.Error, StopIteration):
        return False
    return TELLING_COLUMNS <= header
