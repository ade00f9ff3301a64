"""Markdown pages from content/: home, how to verify, about, FAQ.

A page may start with a YAML front matter block (`title`, `description`). Content is
written by the issuer, so its raw HTML is kept; only learner data is untrusted.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import Problem
from sitegen.load.yamlsource import YamlSyntaxError, load_yaml

CONTENT_DIR = "content"
FRONT_MATTER_OPTIONS = ("title", "description")
_PAGE_NAME = re.compile(r"(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]+\.md")


@dataclass(frozen=True)
class ContentPage:
    source: str  # path relative to the project folder
    slug: str  # "" for the home page
    title: str
    description: str
    text: str  # its Markdown, after the front matter

    @property
    def output_path(self) -> str:
        return "index.html" if not self.slug else f"{self.slug}/index.html"

    @functools.cached_property
    def html(self) -> str:
        """The text as HTML, made when the page is rendered: a build whose site pages are
        unchanged never loads Markdown."""
        import markdown

        return markdown.markdown(self.text, extensions=["tables", "fenced_code", "toc", "attr_list", "sane_lists"])


def load_content_pages(root: Path, content_dir: str = CONTENT_DIR) -> tuple[list[ContentPage], list[Problem]]:
    """The Markdown pages of `content_dir` (a folder of the project; each site may have its own)."""
    folder = root / content_dir
    pages, problems = [], []
    if not folder.is_dir():
        return pages, problems
    for path in sorted(folder.rglob("*.md")):
        page, found = _read_page(root, folder, path)
        problems.extend(found)
        if page:
            pages.append(page)
    return pages, problems


def _read_page(root: Path, folder: Path, path: Path) -> tuple[ContentPage | None, list[Problem]]:
    display = path.relative_to(root).as_posix()
    if not _PAGE_NAME.fullmatch(path.relative_to(folder).as_posix()):
        shown = display.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        return None, [Problem(repr(shown)[1:-1], None, None, "a page's file name becomes its URL: use letters, "
                              "digits, - and _ only (folders too), ending in .md")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        return None, [Problem(display, None, None, f"not UTF-8 text ({err.reason} at byte {err.start})")]
    meta, body, problems = _split_front_matter(text, display)
    if problems:
        return None, problems
    slug = path.relative_to(folder).with_suffix("").as_posix()
    if slug == "index":
        slug = ""
    elif slug.endswith("/index"):
        slug = slug[: -len("/index")]
    title = meta.get("title") or _first_heading(body) or slug.replace("-", " ").capitalize()
    return ContentPage(display, slug, str(title), str(meta.get("description") or ""), body), []


def _split_front_matter(text: str, display: str):
    if not text.startswith("---\n"):
        return {}, text, []
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text, [Problem(display, 1, None, "front matter starts with --- but never ends")]
    try:
        meta = load_yaml(text[4:end]) or {}
    except YamlSyntaxError as err:
        return {}, "", [Problem(display, (err.line or 0) + 1, None, err.message)]
    if not isinstance(meta, dict):
        return {}, "", [Problem(display, 2, None, "front matter must be a mapping")]
    problems = [Problem(display, meta.line_of(k) + 1, k, f"unknown key (known: {', '.join(FRONT_MATTER_OPTIONS)})")
                for k in meta if k not in FRONT_MATTER_OPTIONS]
    body_start = text.find("\n", end + 1) + 1
    return meta, text[body_start:], problems


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None
