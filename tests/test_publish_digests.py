"""Publish remembers the MD5 of every build file between runs (build/.sitegen/publish-digests.json)
and reads a file again only when it may have changed."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from sitegen.layout import PUBLISH_DIGESTS_FILE
from sitegen.model import CachePolicy
from sitegen.publish import digests as digests_module
from sitegen.publish.plan import scan_build
from sitegen.write.files import write_atomic


@pytest.fixture
def build_dir(tmp_path):
    out = tmp_path / "build"
    for key, text in {"index.html": "home", "credentials/0123456789abcdef0123456789abcdef/index.html": "Zoë",
                      "assets/site.0a1b2c3d.css": "body{}"}.items():
        write_atomic(out / key, text.encode())
    return out


@pytest.fixture
def reads(monkeypatch):
    """The files whose bytes a scan reads to hash them."""
    paths = []
    real = digests_module.file_md5

    def counting(path):
        paths.append(os.path.relpath(path))
        return real(path)
    monkeypatch.setattr(digests_module, "file_md5", counting)
    return paths


def md5s(build_dir) -> dict[str, str]:
    return {obj.key: obj.md5 for obj in scan_build(build_dir, CachePolicy())}


def true_md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_a_second_publish_reads_only_the_files_that_changed(build_dir, reads, monkeypatch):
    first = md5s(build_dir)
    assert len(reads) == 3 and (build_dir / PUBLISH_DIGESTS_FILE).is_file()
    reads.clear()
    assert md5s(build_dir) == first and reads == []
    # A rebuilt page of the same size: a new file renamed into place.
    page = build_dir / "credentials/0123456789abcdef0123456789abcdef/index.html"
    write_atomic(page, "Zoé".encode())
    again = md5s(build_dir)
    assert len(reads) == 1 and again[page.relative_to(build_dir).as_posix()] == true_md5(page)


def test_a_file_edited_in_place_with_its_old_time_and_size_is_read_again(build_dir, reads):
    md5s(build_dir)
    reads.clear()
    css = build_dir / "assets/site.0a1b2c3d.css"
    before = css.stat()
    css.write_bytes(b"body{x")
    os.utime(css, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime: the change time moved
    assert md5s(build_dir)["assets/site.0a1b2c3d.css"] == true_md5(css)
    assert len(reads) == 1


@pytest.mark.parametrize("damage", ["not json", "another format", "files not a mapping", "entries"])
def test_a_damaged_or_foreign_digest_file_is_ignored(build_dir, reads, damage):
    truth = md5s(build_dir)
    saved = json.loads((build_dir / PUBLISH_DIGESTS_FILE).read_text())
    if damage == "entries":  # each entry with its signature intact and one field wrong
        for (key, entry), wrong in zip(sorted(saved["files"].items()), ("../../etc/passwd", None, -1)):
            saved["files"][key] = [wrong, *entry[1:]] if wrong == -1 else [*entry[:4], wrong]
    text = {"not json": "{", "another format": json.dumps({**saved, "format": 99}),
            "files not a mapping": json.dumps({**saved, "files": list(saved["files"])}),
            "entries": json.dumps(saved)}[damage]
    (build_dir / PUBLISH_DIGESTS_FILE).write_text(text)
    reads.clear()
    assert md5s(build_dir) == truth and len(reads) == 3
