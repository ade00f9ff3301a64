"""Writing the output tree so that no reader ever sees a half-written file.

Every file is written under a temporary dot-name in its own folder, then renamed over
the target (atomic on POSIX). A crash leaves at worst a stray dot-file, which publish
never uploads and the next write of that file replaces.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.tmp-{os.getpid()}"
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
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def safe_child(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would land outside `root`."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValueError(f"refusing to write outside the output folder: {relative!r}")
    return target
