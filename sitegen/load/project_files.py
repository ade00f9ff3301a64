"""The project's input folders may only hold what is inside the project.

A symbolic link in content/, a theme or credentials_data/ that leads outside the project
folder is refused: one link to the GnuPG private key file (or /etc/passwd) would otherwise
put it into build/ and the bucket, or print it in the build log. Links that stay inside
the project are fine (themes are often shared that way).
"""

from __future__ import annotations

import os
from pathlib import Path

from sitegen.errors import Problem
from sitegen.load.records import RECORDS_DIR
from sitegen.model import Site


def input_folders(site: Site) -> list[Path]:
    """Every folder whose files the build reads or copies."""
    return [site.root / RECORDS_DIR, site.root / site.content, site.theme_dir]


def site_images(site: Site) -> list[str]:
    """The logos and signature images site.yml names, relative to the project folder."""
    images = [o.logo for o in site.organizations.values() if o.logo]
    images += [s.signature_image for s in site.signatories.values() if s.signature_image]
    return sorted(set(images))


def links_outside_the_project(site: Site) -> list[Problem]:
    root = site.root.resolve()
    problems = []
    for folder in input_folders(site):
        shown = folder.relative_to(site.root).as_posix()
        if folder.exists() and not folder.resolve().is_relative_to(root):  # themes/ itself a link, say
            problems.append(Problem(shown, None, None, _OUTSIDE))
            continue
        for link in _links_under(folder):
            shown = link.relative_to(site.root).as_posix()
            try:
                target = link.resolve(strict=True)
            except (OSError, RuntimeError):  # a dangling link, or a loop
                problems.append(Problem(shown, None, None, "is a broken link (or a loop of links)"))
                continue
            if not target.is_relative_to(root):
                problems.append(Problem(shown, None, None, _OUTSIDE))
    return problems


_OUTSIDE = "is a link to something outside the project folder; copy the file into the project instead"


def _links_under(folder: Path) -> list[Path]:
    if folder.is_symlink():
        return [folder]
    links = []
    for parent, dirs, files in os.walk(folder):  # never follows a linked folder
        for name in sorted(dirs + files):
            path = Path(parent, name)
            if path.is_symlink():
                links.append(path)
    return links
