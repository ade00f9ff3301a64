"""The output tree writes every file under a temporary name and renames it into place, and
knows which folders it made (where no earlier build's file can be)."""

from __future__ import annotations

import os

from sitegen.write import files
from sitegen.write.files import OutputTree

PAGE = "credentials/0a1b2c3d4e5f40718293a4b5c6d7e8f9/index.html"


def test_a_file_is_written_under_a_temporary_name_and_renamed(tmp_path, monkeypatch):
    renames = []
    real_replace = os.replace

    def replace(source, target):
        renames.append((source, target, open(source, "rb").read()))
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    stat = OutputTree(tmp_path).write(PAGE, b"<p>page</p>")
    target = tmp_path / PAGE
    ((source, renamed_to, data),) = renames
    assert renamed_to == str(target) and data == b"<p>page</p>"
    assert os.path.dirname(source) == str(target.parent)
    assert os.path.basename(source) == f".index.html.tmp-{os.getpid()}"
    assert sorted(p.name for p in target.parent.iterdir()) == ["index.html"]  # no temporary left
    assert target.read_bytes() == b"<p>page</p>"
    on_disk = target.stat()
    assert (stat.st_size, stat.st_mtime_ns, stat.st_ino) == (on_disk.st_size, on_disk.st_mtime_ns, on_disk.st_ino)


def test_a_file_gets_the_mode_open_gives_and_replaces_the_old_one(tmp_path):
    tree = OutputTree(tmp_path)
    tree.write(PAGE, b"old, and longer than the new")
    tree.write(PAGE, b"new")
    assert (tmp_path / PAGE).read_bytes() == b"new"
    with open(tmp_path / "by-open", "wb"):
        pass
    assert (tmp_path / PAGE).stat().st_mode == (tmp_path / "by-open").stat().st_mode


def test_a_big_file_is_written_whole(tmp_path):
    data = os.urandom(3 * 1024 * 1024)
    assert OutputTree(tmp_path).write("credentials/big.bin", data).st_size == len(data)
    assert (tmp_path / "credentials/big.bin").read_bytes() == data


def test_the_tree_knows_which_folders_it_made(tmp_path):
    folder = PAGE.rpartition("/")[0]
    (tmp_path / "credentials/ffffffffffffffffffffffffffffffff").mkdir(parents=True)
    tree = OutputTree(tmp_path)
    tree.write(PAGE, b"x")
    tree.write("credentials/ffffffffffffffffffffffffffffffff/index.html", b"y")
    assert tree.made_new(folder)
    assert not tree.made_new("credentials/ffffffffffffffffffffffffffffffff")  # there before
    assert not tree.made_new("credentials/00000000000000000000000000000000")  # never made
    tree.remove_folder(folder)
    assert not tree.made_new(folder)
    (tmp_path / folder).mkdir()  # made again by someone else
    tree.write(PAGE, b"z")
    assert not tree.made_new(folder)
