"""Writing the output tree so that no reader ever sees a half-written file.

Every file is written under a temporary dot-name in its own folder, then renamed over
the target (atomic on POSIX). A crash leaves at worst a stray dot-file, which publish
never uploads and the next build sweeps away.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary name and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data)


def _replace(path: Path | str, data: bytes) -> os.stat_result:
    """Write through a temporary name; the file's stat (renaming keeps its size and mtime).

    With the os module's calls, not open(): a build writes three files a credential, and
    Python's file objects cost more than the system calls under them."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.tmp-{os.getpid()}")
    handle = os.open(temporary, _NEW_FILE, 0o666)  # as open(..., "wb") does, the umask applied
    try:
        written = os.write(handle, data)
        if written < len(data):  # a short write (a signal, a full disk): write the rest
            with memoryview(data) as rest:
                while written < len(data):
                    written += os.write(handle, rest[written:])
        stat = os.fstat(handle)
    finally:
        os.close(handle)
    os.replace(temporary, path)
    return stat


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


class OutputTree:
    """One output folder: atomic writes and removals by site path ("credentials/<uuid>/...").

    It remembers the folders it made, so most writes skip the mkdir system call, and which
    of them were not there before (`made_new`); one tree belongs to one build (and one worker
    process), never shared between builds.
    """

    def __init__(self, root: Path):
        self.root = root
        self._root = str(root)  # paths as strings: a build writes hundreds of thousands
        self._made_folders: set[str] = set()
        self._new_folders: set[str] = set()  # made by this tree: holds only what it wrote

    def path(self, site_path: str) -> Path:
        return self.root / site_path

    def write(self, site_path: str, data: bytes) -> os.stat_result:
        """Write `data` at `site_path`; the written file's stat."""
        path = f"{self._root}/{site_path}"
        folder = path.rpartition("/")[0]
        if folder not in self._made_folders:
            if _made_new(folder):
                self._new_folders.add(folder)
            self._made_folders.add(folder)
        return _replace(path, data)

    def made_new(self, site_folder: str) -> bool:
        """Whether this tree made the folder at `site_folder`: then nothing but what it wrote
        there is in it (no file of an earlier build to look for)."""
        return f"{self._root}/{site_folder}" in self._new_folders

    def write_if_changed(self, site_path: str, data: bytes) -> bool:
        """Write only when the bytes differ, so an unchanged file keeps its identity."""
        if not self.differs(site_path, data):
            return False
        self.write(site_path, data)
        return True

    def differs(self, site_path: str, data: bytes) -> bool:
        """Whether the file is not there, or holds other bytes than `data`."""
        path = self.root / site_path
        try:
            return path.stat().st_size != len(data) or path.read_bytes() != data
        except FileNotFoundError:
            return True

    def write_linked(self, site_paths: list[str], data: bytes) -> bool:
        """The same bytes at several paths of one folder (a page served at several URLs):
        written once, under a temporary name, and hard-linked at each path that does not hold
        them yet, each atomically. Creating a file costs many times what a link does (a new
        inode). Whether anything was written."""
        folder = f"{self.root}/{site_paths[0].rpartition('/')[0]}"
        if _made_new(folder):  # nothing in it to compare with: no stat per path
            todo = site_paths
        else:
            todo = [site_path for site_path in site_paths if self.differs(site_path, data)]
            if not todo:
                return False
        first = f"{self.root}/{todo[0]}"
        temporary = f"{folder}/.{todo[0].rpartition('/')[2]}.tmp-{os.getpid()}"
        with open(temporary, "wb") as handle:
            handle.write(data)
        try:
            for site_path in todo[1:]:
                _link(temporary, f"{self.root}/{site_path}")
            os.replace(temporary, first)
        except BaseException:
            remove_file(Path(temporary))
            raise
        return True

    def remove(self, site_path: str) -> bool:
        return remove_file(self.root / site_path)

    def remove_any(self, site_path: str) -> bool:
        """A file or a folder, whichever is there."""
        path = self.root / site_path
        if path.is_dir() and not path.is_symlink():
            return self.remove_folder(site_path)
        return remove_file(path)

    def remove_folder(self, site_path: str) -> bool:
        removed = remove_tree(self.root / site_path)
        gone = f"{self._root}/{site_path}"
        self._made_folders = {p for p in self._made_folders if p != gone and not p.startswith(gone + "/")}
        self._new_folders &= self._made_folders
        return removed


def _made_new(folder: str) -> bool:
    """Make `folder` (and its parents); whether it was not there."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        return False
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
    return True


def _link(source: str, path: str) -> None:
    """Hard-link `source` at `path`, replacing what is there atomically."""
    try:
        os.link(source, path)
    except FileExistsError:
        folder, _, name = path.rpartition("/")
        temporary = f"{folder}/.{name}.tmp-{os.getpid()}"
        os.link(source, temporary)
        os.replace(temporary, path)


def remove_file(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def remove_tree(path: Path) -> bool:
    if not path.exists():
        return False
    # Rename first so a crash half-way leaves a dot-folder, never a half-empty page folder.
    doomed = path.parent / f".{path.name}.removing-{os.getpid()}"
    os.replace(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def store_cache(folder: Path, new: dict[str, bytes], kept: set[str]) -> None:
    """A cache folder of files named by their key: write the `new` ones, remove those not `kept`."""
    for key, data in new.items():
        write_atomic(folder / key, data)
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.name not in kept:
                remove_file(entry)


def sweep_temporary_files(root: Path) -> int:
    """Remove the temporary files and half-removed folders a killed process left behind."""
    removed = 0
    for folder, dirs, files in os.walk(root):
        for name in files:
            if name.startswith(".") and ".tmp-" in name:
                os.unlink(os.path.join(folder, name))
                removed += 1
        for name in list(dirs):
            if name.startswith(".") and ".removing-" in name:
                shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
                dirs.remove(name)
                removed += 1
    return removed
