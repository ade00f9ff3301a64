"""site.yml: a declared schema, checked with the line of every problem.

Each option is declared once below with its type and a one-line description (the
`sitegen` docs list them from here). Unknown keys are errors: a misspelt option that
is silently ignored is how a certificate ends up with the wrong signatory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.errors import InputProblems, Problem, SitegenError
from sitegen.model import (
    CERTIFICATE_MODES,
    CachePolicy,
    Course,
    Organization,
    Program,
    PublishSettings,
    SigningSettings,
    Signatory,
    Site,
)
from sitegen.load.yamlsource import LocatedDict, YamlSyntaxError, load_yaml

SITE_FILE = "site.yml"


@dataclass(frozen=True)
class Option:
    kind: type | tuple[type, ...]
    doc: str
    required: bool = False
    default: Any = None


STRING_LIST = (list,)

SITE_OPTIONS = {
    "name": Option(str, "Name of the verification site, shown in titles and on certificates.", True),
    "base_url": Option(str, "Public URL the site is served from; printed on every PDF.", True),
    "platform_name": Option(str, "Learning platform that issues the credentials.", default=None),
    "theme": Option(str, "Folder under themes/ to render with.", default="default"),
    "language": Option(str, "Language of the site's own text (BCP 47).", default="en"),
    "contact_email": Option(str, "Where employers and learners can write with questions."),
    "organizations": Option(dict, "Issuing organizations, by key.", True),
    "signatories": Option(dict, "People whose signatures appear on certificates, by key.", default={}),
    "courses": Option(dict, "Courses that award certificates, by course id.", default={}),
    "programs": Option(dict, "Programs that award certificates, by program id.", default={}),
    "signing": Option(dict, "The GPG signing key (fingerprint, GNUPGHOME).", default={}),
    "publish": Option(dict, "Where `sitegen publish` uploads the site.", default={}),
}
ORGANIZATION_OPTIONS = {
    "name": Option(str, "Full name.", True),
    "short_name": Option(str, "Short name, e.g. HarvardX.", default=None),
    "logo": Option(str, "Logo image, relative to the project folder."),
    "linkedin_id": Option((str, int), "LinkedIn organization id, for 'Add to profile'."),
    "website": Option(str, "The organization's website."),
}
SIGNATORY_OPTIONS = {
    "name": Option(str, "Name as signed.", True),
    "title": Option(str, "Role, e.g. 'Professor of Computer Science'.", True),
    "organization": Option(str, "Organization shown under the title.", True),
    "signature_image": Option(str, "Signature image, relative to the project folder."),
}
COURSE_OPTIONS = {
    "title": Option(str, "Course title as printed.", True),
    "org": Option(str, "Key of the issuing organization.", True),
    "modes": Option(list, "Certificate modes the course awards.", default=list(CERTIFICATE_MODES)),
    "signatories": Option(list, "Keys of the signatories.", default=[]),
    "description": Option(str, "One paragraph about the course.", default=""),
}
PROGRAM_OPTIONS = {
    "title": Option(str, "Program title as printed.", True),
    "org": Option(str, "Key of the issuing organization.", True),
    "courses": Option(list, "Course ids that make up the program.", default=[]),
    "signatories": Option(list, "Keys of the signatories.", default=[]),
    "description": Option(str, "One paragraph about the program.", default=""),
}
SIGNING_OPTIONS = {
    "key": Option(str, "Fingerprint of the signing key (SITEGEN_SIGNING_KEY overrides)."),
    "gnupghome": Option(str, "GnuPG home holding the key (SITEGEN_GNUPGHOME overrides)."),
    "algorithm": Option(str, "Algorithm for `sitegen keys init`: ed25519 or rsa3072.", default="ed25519"),
}
PUBLISH_OPTIONS = {
    "bucket": Option(str, "S3 bucket (SITEGEN_PUBLISH_BUCKET overrides)."),
    "prefix": Option(str, "Key prefix inside the bucket (SITEGEN_PUBLISH_PREFIX overrides).", default=""),
    "region": Option(str, "AWS region of the bucket."),
    "endpoint_url": Option(str, "S3-compatible endpoint (SITEGEN_PUBLISH_ENDPOINT_URL overrides)."),
    "cdn_distribution_id": Option(str, "CloudFront distribution to invalidate (SITEGEN_CDN_DISTRIBUTION_ID overrides)."),
    "max_deletes": Option(int, "Refuse a publish that would delete more objects than this.", default=100),
    "cache": Option(dict, "Cache-Control values: pages, assets, documents.", default={}),
}
CACHE_OPTIONS = {
    "pages": Option(str, "For pages, JSON, statements: anything that changes on revocation."),
    "assets": Option(str, "For fingerprinted theme assets."),
    "documents": Option(str, "For PDFs."),
}

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+\-]*$")
_URL_PATTERN = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


class _Checker:
    """Collects every problem in site.yml instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, field, message))

    def section(self, data: Any, options: dict[str, Option], where: str, line: int) -> dict:
        """Check one mapping against its options; return values with defaults filled in."""
        if not isinstance(data, dict):
            self.problem(line, where, "must be a mapping of keys to values")
            return {}
        values = {}
        for key in data:
            if key not in options:
                known = ", ".join(options)
                self.problem(_line(data, key), _join(where, key), f"unknown key (known: {known})")
        for key, option in options.items():
            if key not in data or data[key] is None:
                if option.required:
                    self.problem(_line(data, None), _join(where, key), "is required")
                values[key] = option.default
                continue
            value = data[key]
            if not isinstance(value, option.kind) or isinstance(value, bool):
                self.problem(_line(data, key), _join(where, key), f"must be {_kind_name(option.kind)}")
                values[key] = option.default
                continue
            values[key] = str(value) if isinstance(value, int) and option.kind == (str, int) else value
        return values


def load_site(root: Path, base_url: str | None = None) -> Site:
    """Read and check `root/site.yml`; `base_url` overrides the file (for previews)."""
    path = root / SITE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SitegenError(f"{path}: not found (is --site the project folder?)") from None
    except UnicodeDecodeError:
        raise SitegenError(f"{path}: not UTF-8 text") from None
    try:
        data = load_yaml(text)
    except YamlSyntaxError as err:
        raise InputProblems([Problem(SITE_FILE, err.line, None, err.message)]) from None
    check = _Checker(SITE_FILE)
    site = _build_site(root, data if data is not None else LocatedDict(), check, base_url)
    if check.problems:
        raise InputProblems(check.problems)
    return site


def _build_site(root: Path, data: Any, check: _Checker, base_url: str | None) -> Site | None:
    top = check.section(data, SITE_OPTIONS, "", 1)
    if not top:
        return None
    url = _check_base_url(base_url or top["base_url"], check, None if base_url else _line(data, "base_url"))
    organizations = _organizations(top["organizations"] or {}, check)
    signatories = _signatories(top["signatories"] or {}, check)
    courses = _courses(top["courses"] or {}, check, organizations, signatories)
    programs = _programs(top["programs"] or {}, check, organizations, signatories, courses)
    signing = check.section(top["signing"] or {}, SIGNING_OPTIONS, "signing", _line(data, "signing"))
    if signing and signing["algorithm"] not in ("ed25519", "rsa3072"):
        check.problem(_line(top["signing"], "algorithm"), "signing.algorithm", "must be ed25519 or rsa3072")
    publish = _publish(top["publish"] or {}, check, _line(data, "publish"))
    _check_theme(root, top["theme"], check, _line(data, "theme"))
    _check_files(root, organizations, signatories, data, check)
    return Site(
        root=root,
        name=top["name"] or "",
        base_url=url,
        platform_name=top["platform_name"] or top["name"] or "",
        theme=top["theme"],
        language=top["language"],
        organizations=organizations,
        courses=courses,
        programs=programs,
        signatories=signatories,
        signing=SigningSettings(**signing) if signing else SigningSettings(),
        publish=publish,
        contact_email=top["contact_email"],
    )


def _check_base_url(url: str | None, check: _Checker, line: int | None) -> str:
    if url is None:
        return ""
    if not _URL_PATTERN.match(url):
        check.problem(line, "base_url", f"must be an http(s) URL like https://verify.example.org/, got {url!r}")
        return url
    return url if url.endswith("/") else url + "/"


def _organizations(data: dict, check: _Checker) -> dict[str, Organization]:
    result = {}
    for key, entry in _keyed_entries(data, "organizations", check):
        values = check.section(entry, ORGANIZATION_OPTIONS, f"organizations.{key}", _line(data, key))
        if values:
            values["short_name"] = values["short_name"] or values["name"]
            result[key] = Organization(key=key, **values)
    return result


def _signatories(data: dict, check: _Checker) -> dict[str, Signatory]:
    result = {}
    for key, entry in _keyed_entries(data, "signatories", check):
        values = check.section(entry, SIGNATORY_OPTIONS, f"signatories.{key}", _line(data, key))
        if values:
            result[key] = Signatory(key=key, **values)
    return result


def _courses(data, check, organizations, signatories) -> dict[str, Course]:
    result = {}
    for key, entry in _keyed_entries(data, "courses", check):
        where = f"courses.{key}"
        values = check.section(entry, COURSE_OPTIONS, where, _line(data, key))
        if not values:
            continue
        _check_subject_references(entry, values, where, organizations, signatories, check)
        for mode in values["modes"]:
            if mode not in CERTIFICATE_MODES:
                check.problem(_line(entry, "modes"), f"{where}.modes",
                              f"unknown mode {mode!r} (known: {', '.join(CERTIFICATE_MODES)})")
        result[key] = Course(
            id=key, title=values["title"], org=values["org"], modes=tuple(values["modes"]),
            signatories=tuple(values["signatories"]), description=values["description"],
        )
    return result


def _programs(data, check, organizations, signatories, courses) -> dict[str, Program]:
    result = {}
    for key, entry in _keyed_entries(data, "programs", check):
        where = f"programs.{key}"
        values = check.section(entry, PROGRAM_OPTIONS, where, _line(data, key))
        if not values:
            continue
        _check_subject_references(entry, values, where, organizations, signatories, check)
        for course in values["courses"]:
            _check_reference(entry, "courses", course, courses, "course", where, check)
        result[key] = Program(
            id=key, title=values["title"], org=values["org"], courses=tuple(values["courses"]),
            signatories=tuple(values["signatories"]), description=values["description"],
        )
    return result


def _publish(data: dict, check: _Checker, line: int) -> PublishSettings:
    values = check.section(data, PUBLISH_OPTIONS, "publish", line)
    if not values:
        return PublishSettings()
    cache_values = check.section(values.pop("cache") or {}, CACHE_OPTIONS, "publish.cache", _line(data, "cache"))
    cache = CachePolicy(**{k: v for k, v in cache_values.items() if v is not None})
    if values["max_deletes"] is not None and values["max_deletes"] < 0:
        check.problem(_line(data, "max_deletes"), "publish.max_deletes", "must be 0 or more")
    values["prefix"] = (values["prefix"] or "").strip("/")
    if values["prefix"]:
        values["prefix"] += "/"
    return PublishSettings(cache=cache, **values)


def _keyed_entries(data: dict, where: str, check: _Checker):
    for key, entry in data.items():
        if not isinstance(key, str) or not _KEY_PATTERN.match(key):
            check.problem(_line(data, key), f"{where}.{key}",
                          "keys are letters, digits and . _ - + : (no spaces)")
            continue
        yield key, entry


def _check_subject_references(entry, values, where, organizations, signatories, check: _Checker) -> None:
    """What courses and programs both name: their organization and their signatories."""
    _check_reference(entry, "org", values["org"], organizations, "organization", where, check)
    for signatory in values["signatories"]:
        _check_reference(entry, "signatories", signatory, signatories, "signatory", where, check)


def _check_reference(entry, field, value, known: dict, what: str, where: str, check: _Checker) -> None:
    if value is not None and value not in known:
        choices = ", ".join(sorted(known)) or "none defined"
        check.problem(_line(entry, field), f"{where}.{field}", f"unknown {what} {value!r} (known: {choices})")


def _check_theme(root: Path, theme: str, check: _Checker, line: int) -> None:
    if theme and not (root / "themes" / theme / "templates").is_dir():
        check.problem(line, "theme", f"no theme folder themes/{theme}/templates")


def _check_files(root: Path, organizations, signatories, data, check: _Checker) -> None:
    """Images named in site.yml must exist and stay inside the project folder."""
    named = [(f"organizations.{o.key}.logo", o.logo, data["organizations"][o.key]) for o in organizations.values()]
    named += [
        (f"signatories.{s.key}.signature_image", s.signature_image, data["signatories"][s.key])
        for s in signatories.values()
    ]
    for field, rel, entry in named:
        if rel is None:
            continue
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()):
            check.problem(_line(entry, field.rsplit(".", 1)[1]), field, "must be inside the project folder")
        elif not path.is_file():
            check.problem(_line(entry, field.rsplit(".", 1)[1]), field, f"file not found: {rel}")


def _line(data: Any, key: Any) -> int | None:
    if isinstance(data, LocatedDict):
        return data.line_of(key) if key is not None else data.line
    return None


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _kind_name(kind) -> str:
    names = {str: "text", int: "a whole number", dict: "a mapping", list: "a list"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)
