"""Writing the output tree so that no reader ever sees a half-written file.

Every file is written under a temporary dot-name in its own folder, then renamed over
the target (atomic on POSIX). A crash leaves at worst a stray dot-file, which publish
never uploads and the next write of that file replaces.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


_known_folders: set[Path] = set()


def forget_known_folders() -> None:
    """Call at the start of a build: folders may have been removed since the last one."""
    _known_folders.clear()


def write_atomic(path: Path, data: bytes) -> None:
    folder = path.parent
    if folder not in _known_folders:  # most writes go to folders already made: skip the syscall
        folder.mkdir(parents=True, exist_ok=True)
        _known_folders.add(folder)
    temporary = folder / f".{path.name}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write only when the bytes differ, so an unchanged file keeps its identity."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    return True


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
    _known_folders.difference_update({p for p in _known_folders if p.is_relative_to(path)})
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def safe_child(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would land outside `root`."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValueError(f"refusing to write outside the output folder: {relative!r}")
    return target


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
