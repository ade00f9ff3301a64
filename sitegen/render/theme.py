"""The Jinja2 environment of a theme: autoescaping, overrides, assets, recorded dependencies.

Certificate templates are looked up most specific first, so an issuer can give one
course, program, organization or certificate mode its own page, PDF, or both, by adding
a file (`certificate.html` for the page, `certificate_pdf.html` for the PDF):

    course certificate                              program certificate
    templates/course/<course id>/<mode>/<name>      templates/program/<program id>/<name>
    templates/course/<course id>/<name>             templates/org/<org key>/<name>
    templates/org/<org key>/<mode>/<name>           templates/<name>
    templates/org/<org key>/<name>
    templates/mode/<mode>/<name>
    templates/<name>

Course and program ids are made safe as folder names (`safe_name`: course-v1:X+Y+Z ->
course-v1_X_Y_Z). Program certificates have no mode. An override's own static files live
anywhere under static/ (by convention static/course/<course id>/..., the same path as its
templates) and are named with `asset()` like any other: docs/themes.md.

Every template and asset a render touches is recorded (not declared by hand), misses of
the chain included, so the build knows exactly which outputs a changed, new or deleted
theme file affects.

What a page shares with every other page of its course and mode (the site's header and
footer, the course's signatories and description) is written in a `shared` call block and
rendered once per key instead of once per learner: `SharedParts`.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sitegen.layout import ASSETS_DIR, site_links
from sitegen.load.project_files import site_images
from sitegen.model import Credential, Site

if TYPE_CHECKING:
    import jinja2

_used: contextvars.ContextVar[set | None] = contextvars.ContextVar("sitegen_used", default=None)
# True while a shared part renders: its links climb to the site root, so that they are the
# same from every page folder of one depth (see SharedParts).
_in_shared_part: contextvars.ContextVar[bool] = contextvars.ContextVar("sitegen_in_shared_part", default=False)


@dataclass(frozen=True)
class Asset:
    source: Path  # the file in the theme or project folder
    published: str  # site-relative path, fingerprinted
    digest: str


@dataclass
class RenderRecord:
    """What one render used: template names and asset names, for the build state."""

    templates: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)

    def add(self, other: RenderRecord) -> None:
        self.templates |= other.templates
        self.assets |= other.assets


class Theme:
    def __init__(self, site: Site):
        self.site = site
        self.templates_dir = site.theme_dir / "templates"
        self.static_dir = site.theme_dir / "static"
        self.assets = _collect_assets(self.static_dir, site)
        self._template_digests: dict[str, str] = {}
        self._site_paths = SimpleNamespace(**site_links())
        self._chosen: dict[tuple[str, ...], tuple[jinja2.Template, tuple[str, ...]]] = {}
        self._file_digests: dict[tuple[frozenset, frozenset], dict[str, str]] = {}
        self.shared_parts = SharedParts(check_every_use=os.environ.get("SITEGEN_CHECK_SHARED") == "1")

    @functools.cached_property
    def env(self) -> jinja2.Environment:
        """Made when a first page is rendered (sitegen/render/environment.py)."""
        from sitegen.render.environment import theme_environment

        return theme_environment(self.templates_dir, lambda name: _record((("template", name),)))

    # -- rendering ---------------------------------------------------------------

    def render(self, names: list[str] | str, output_path: str, record: RenderRecord | None = None,
               for_pdf: bool = False, **context) -> str:
        """Render the first existing template of `names` as the file at site path `output_path`."""
        used: set = set()
        token = _used.set(used)
        try:
            template = self._template(names)
            html = template.render(**self._helpers(output_path, for_pdf), **context)
        finally:
            _used.reset(token)
        if record is not None:
            record.templates.update(n for kind, n in used if kind == "template")
            record.assets.update(n for kind, n in used if kind == "asset")
        return html

    def _template(self, names: list[str] | str) -> jinja2.Template:
        """The first existing template of `names`, its misses recorded as a lookup would.

        The environment never reloads within a build, so the choice for one override chain
        is made once: a hundred thousand pages would otherwise each ask the file system
        for the same five missing overrides.
        """
        if isinstance(names, str):
            return self.env.get_template(names)
        chain = tuple(names)
        if chain not in self._chosen:
            template = self.env.select_template(chain)
            self._chosen[chain] = (template, chain[: chain.index(template.name)])
        template, misses = self._chosen[chain]
        _record(("template", name) for name in (*misses, template.name))
        return template

    def certificate_templates(self, base: str, credential: Credential) -> list[str]:
        """The override chain of template `base` for one credential, most specific first.

        The build renders the first that exists; the ones before it are recorded as
        misses, so adding one of them rebuilds exactly the credentials it now overrides.
        """
        return [f"{folder}/{base}" for folder in override_folders(self.site, credential)] + [base]

    def template_digest(self, name: str) -> str:
        if name not in self._template_digests:
            try:
                source = (self.templates_dir / name).read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                self._template_digests[name] = "missing"
            else:
                self._template_digests[name] = hashlib.sha256(source).hexdigest()
        return self._template_digests[name]

    def asset_digest(self, name: str) -> str:
        return self.assets[name].digest

    def file_digest(self, name: str) -> str:
        """The digest of a theme file as the build state names it: "template:x" or "asset:y";
        "missing" for one that is not there (any more)."""
        kind, _, file = name.partition(":")
        try:
            return self.template_digest(file) if kind == "template" else self.asset_digest(file)
        except (FileNotFoundError, KeyError):
            return "missing"

    def file_digests(self, record: RenderRecord) -> dict[str, str]:
        """What a render loaded (`record`), as the build state keeps it: name -> digest.

        The same dict for every render that loaded the same files (not to be changed): the
        pages of one course and mode send their worker's results one copy of it, not one each."""
        key = (frozenset(record.templates), frozenset(record.assets))
        files = self._file_digests.get(key)
        if files is None:  # the theme does not change during a build: nor do its digests
            files = {f"template:{n}": self.template_digest(n) for n in record.templates}
            files.update({f"asset:{n}": self.asset_digest(n) for n in record.assets})
            self._file_digests[key] = files
        return files

    # -- helpers available in every template -------------------------------------

    def _helpers(self, page: str, for_pdf: bool) -> dict:
        base_url = self.site.base_url

        def url(path: str) -> str:
            return relative_url(page, path, within_folder=not _in_shared_part.get())

        def absolute_url(path: str) -> str:
            return base_url + path.lstrip("/")

        def asset(name: str) -> str:
            found = self._asset(name)
            return found.source.as_uri() if for_pdf else url(found.published)

        def asset_path(name: str) -> str:
            return self._asset(name).source.as_uri()

        def shared(*key, caller):
            # Relative links in the part depend on the page's depth: it is in the key.
            return self.shared_parts.render(caller, (page.count("/"), for_pdf, *key))

        return {"site": self.site, "site_paths": self._site_paths, "url": url, "absolute_url": absolute_url,
                "asset": asset, "asset_path": asset_path, "for_pdf": for_pdf, "page_path": page,
                "shared": shared}

    def _asset(self, name: str) -> Asset:
        _record((("asset", name),))
        try:
            return self.assets[name]
        except KeyError:
            raise _template_error(f"asset not found: {name!r}") from None


class SharedParts:
    """Parts of pages rendered once per key: `{% call shared(key...) %}...{% endcall %}`.

    The key names everything the part shows (a course's signatories: the course and the
    mode); the block's place in its template and the page's depth are added to it. A part
    must not show a learner's data, since every page with its key gets the first one's
    output. That is checked, not trusted: each key's part is rendered again for the second
    page that uses it and must come out the same, so a theme that puts a name in a shared
    part fails its first build with a message saying which part. SITEGEN_CHECK_SHARED=1
    compares every use (the test suite runs the default theme that way).

    What the part used (templates, assets) is kept with it and recorded for every page that
    uses it, so the build state still knows which pages a changed asset affects.
    """

    def __init__(self, check_every_use: bool = False):
        self.check_every_use = check_every_use
        self._parts: dict[tuple, _Part] = {}

    def render(self, caller, key: tuple) -> str:
        code = caller._func.__code__  # the call block: its template file and place in it
        full_key = (code.co_filename, code.co_firstlineno, *key)
        part = self._parts.get(full_key)
        if part is not None and part.checked and not self.check_every_use:
            _record(part.used)
            return part.output
        output, used = _render_recording(caller)
        if part is None:
            self._parts[full_key] = _Part(output, used)
        elif output != part.output:
            raise _template_error(
                f"a shared part of {Path(code.co_filename).name} (key {key[2:]!r}) differs between two "
                "pages with the same key: it shows something its key does not name, such as a "
                "learner's data. Add that to the key or move it out of the shared block.")
        else:
            part.checked = True  # rendered twice, the same: later pages reuse it
        return output


@dataclass
class _Part:
    output: str
    used: frozenset  # the ("template" | "asset", name) pairs its render recorded
    checked: bool = False  # a second page's render of it came out the same


def _render_recording(caller) -> tuple[str, frozenset]:
    """The part's output, and the templates and assets it used (recorded as usual too)."""
    inner: set = set()
    token, climbing = _used.set(inner), _in_shared_part.set(True)
    try:
        output = caller()
    finally:
        _used.reset(token)
        _in_shared_part.reset(climbing)
    _record(inner)
    return output, frozenset(inner)


def _record(used) -> None:
    """Add ("template" | "asset", name) pairs to what the current render used, if recorded."""
    current = _used.get()
    if current is not None:
        current.update(used)


def override_folders(site: Site, credential: Credential) -> list[str]:
    """Where a credential's own templates may be, under templates/, most specific first."""
    subject = site.subject_of(credential)
    org = f"org/{subject.org}"
    if not credential.is_course:
        # A program certificate has no mode. course/<program id> is where overrides of
        # programs were looked up before program/ existed: still read, after program/.
        program = safe_name(subject.id)
        return [f"program/{program}", f"course/{program}", org]
    course = f"course/{safe_name(subject.id)}"
    mode = credential.certificate_type
    if not mode:  # validated records always have one; a hand-made Credential may not
        return [course, org]
    return [f"{course}/{mode}", course, f"{org}/{mode}", org, f"mode/{mode}"]


def relative_url(page: str, target: str, within_folder: bool = True) -> str:
    """A link from the page at site path `page` to site path `target`, relative.

    Relative links keep the tree working under any bucket prefix, in previews and
    from file://. The link climbs to the site root and down again: one string
    operation per link, which matters at a hundred thousand pages. A target in the
    page's own folder is linked from there, unless `within_folder` is False.
    """
    depth = page.count("/")
    target = target.lstrip("/")
    if depth == 0:
        return target or "./"
    folder = page[: page.rindex("/") + 1]
    if within_folder and target.startswith(folder):  # certificate.pdf, not ../../credentials/<id>/...
        return target[len(folder):] or "./"
    return "../" * depth + target


def safe_name(text: str) -> str:
    """A course id made safe as a folder name: course-v1:Org+X+1 -> course-v1_Org_X_1."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _collect_assets(static_dir: Path, site: Site) -> dict[str, Asset]:
    """Theme static files, and the logos and signatures site.yml names, fingerprinted."""
    assets: dict[str, Asset] = {}
    if static_dir.is_dir():
        for path in sorted(p for p in static_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(static_dir).as_posix()
            assets[rel] = _asset_for(path, rel)
    for rel in site_images(site):
        assets[rel] = _asset_for(site.root / rel, "site/" + rel)
    return assets


def _asset_for(path: Path, rel: str) -> Asset:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stem, dot, ext = rel.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = rel, ""
    published = f"{ASSETS_DIR}/{stem}.{digest[:8]}" + (f".{ext}" if ext else "")
    return Asset(source=path, published=published, digest=digest)


def _template_error(message: str) -> Exception:
    """An error in a template, as Jinja reports its own (only ever raised while rendering,
    when Jinja is loaded)."""
    import jinja2

    return jinja2.TemplateRuntimeError(message)
