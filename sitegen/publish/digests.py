"""The MD5 of every file of the build, remembered between publishes.

A publish compares each file's MD5 (an S3 ETag) with the bucket's manifest. Reading every
file again for it is most of a daily run's time at scale (3.6 GB for one 30,000-credential
shard of a 600k site: 200 s here). The MD5s of the last publish are kept in
`build/.sitegen/publish-digests.json`, each with the file's stat signature (size,
modification and change times, inode), and reused while the signature holds. A build
writes every file under a temporary name and renames it into place, so a rewritten file
has a new inode and new times, even with the same size within the same clock tick.

The file is a cache: JSON, read field by field (build/ may come from a shared CI cache),
any entry that does not look right ignored, and a failure to save it never fails a publish.
An MD5 read from it is checked again when its file is uploaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from sitegen.layout import PUBLISH_DIGESTS_FILE
from sitegen.write.files import write_atomic

FORMAT = 1
_MD5 = re.compile(r"[0-9a-f]{32}")

Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


class Digests:
    """MD5s of the build's files by relative path, from the last publish and this one."""

    def __init__(self, build_dir: Path):
        self.build_dir = build_dir
        self.known = _load(build_dir / PUBLISH_DIGESTS_FILE)
        self.seen: dict[str, list] = {}

    def md5(self, key: str, path: str, stat: os.stat_result) -> str:
        """The MD5 of the file at `path` (`key` in the build), whose stat is `stat`."""
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        entry = self.known.get(key)
        md5 = entry[4] if entry is not None and tuple(entry[:4]) == signature else file_md5(path)
        self.seen[key] = [*signature, md5]
        return md5

    def save(self) -> None:
        """Keep what this scan saw (and nothing else: a removed file's entry goes)."""
        text = json.dumps({"format": FORMAT, "files": self.seen}, separators=(",", ":"), sort_keys=True)
        try:
            write_atomic(self.build_dir / PUBLISH_DIGESTS_FILE, text.encode("ascii"))
        except OSError:
            pass  # a read-only build folder: the next publish reads every file again


def file_md5(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _load(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        return {}
    return {key: entry for key, entry in data["files"].items() if _looks_right(entry)}


def _looks_right(entry) -> bool:
    return (isinstance(entry, list) and len(entry) == 5
            and all(type(number) is int and number >= 0 for number in entry[:4])
            and isinstance(entry[4], str) and _MD5.fullmatch(entry[4]) is not None)
