"""site.yml: a declared schema, checked with the line of every problem.

Each option is declared once below with its type, its default and a one-line
description; `docs/configuration.md` is generated from these declarations
(`python -m sitegen.load.config_docs`). Unknown keys are errors: a misspelt option that
is silently ignored is how a certificate ends up with the wrong signatory.

`load_site` is the one place settings come from: it reads site.yml and applies the
environment variables that override it (what CI keeps secret or sets per run), so
later stages only read the resulting `Site`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.errors import InputProblems, Problem, SitegenError
from sitegen.load.yamlsource import LocatedDict, YamlSyntaxError, load_yaml
from sitegen.model import (
    CERTIFICATE_MODES,
    CachePolicy,
    Course,
    Organization,
    Program,
    PublishSettings,
    Signatory,
    SigningSettings,
    Site,
)

SITE_FILE = "site.yml"

# The environment overrides site.yml for these (an empty value counts as unset).
ENV_GNUPGHOME = "SITEGEN_GNUPGHOME"
ENV_SIGNING_KEY = "SITEGEN_SIGNING_KEY"
ENV_PUBLISH_BUCKET = "SITEGEN_PUBLISH_BUCKET"
ENV_PUBLISH_PREFIX = "SITEGEN_PUBLISH_PREFIX"
ENV_PUBLISH_ENDPOINT_URL = "SITEGEN_PUBLISH_ENDPOINT_URL"
ENV_CDN_DISTRIBUTION_ID = "SITEGEN_CDN_DISTRIBUTION_ID"
ENV_VC_KEY_FILE = "SITEGEN_VC_KEY_FILE"


@dataclass(frozen=True)
class Option:
    kind: type | tuple[type, ...]
    doc: str
    required: bool = False
    default: Any = None
    env: str | None = None  # environment variable that overrides site.yml
    choices: tuple[str, ...] = ()  # the only values allowed, when not empty


@dataclass(frozen=True)
class Section:
    """A mapping of site.yml and the options it takes (what the generated docs list)."""

    path: str  # "" for the top level; "<key>" stands for any key the user chooses
    doc: str
    options: dict[str, Option]


SITE_OPTIONS = {
    "name": Option(str, "Name of the verification site, shown in titles and on certificates "
                   "(required here or in every entry of `sites`).", True),
    "base_url": Option(str, "Public http(s) URL the site is served from; printed on every PDF "
                       "(required here or in every entry of `sites`).", True),
    "platform_name": Option(str, "Learning platform that issues the credentials; defaults to `name`."),
    "theme": Option(str, "Folder under themes/ to render with.", default="default"),
    "language": Option(str, "Language of the site's own text (BCP 47).", default="en"),
    "contact_email": Option(str, "Where employers and learners can write with questions."),
    "content": Option(str, "Folder of the site's Markdown pages (about, how to verify, FAQ), relative to the "
                      "project folder.", default="content"),
    "learner_profile_url": Option(str, "A learner's profile on the learning platform, `{username}` where the "
                                  "username goes (e.g. `https://courses.example.org/u/{username}`): Open Badges "
                                  "2.0 assertions name their recipient by the salted hash of this URL."),
    "index_certificate_pages": Option(bool, "Let search engines index certificate pages, which carry "
                                      "learners' names; off by default (`noindex`), as in the Credentials "
                                      "service.", default=False),
    "organizations": Option(dict, "Issuing organizations, by key.", True),
    "signatories": Option(dict, "People whose signatures appear on certificates, by key.", default={}),
    "courses": Option(dict, "Courses that award certificates, by course id.", default={}),
    "programs": Option(dict, "Programs that award certificates, by program id.", default={}),
    "signing": Option(dict, "The GPG signing key.", default={}),
    "publish": Option(dict, "Where `sitegen publish` uploads the site.", default={}),
    "sites": Option(dict, "Several sites from this one repository, by site name (`--site-name`); each "
                    "publishes the credentials of its organizations. Top-level settings are their defaults.",
                    default={}),
}
# What each entry of `sites` may set; anything it leaves out comes from the top level.
SITE_ENTRY_OPTIONS = {
    "organizations": Option(list, "Keys of the organizations whose credentials this site publishes; "
                            "each organization belongs to exactly one site.", True),
    **{key: Option(option.kind, option.doc, choices=option.choices) for key, option in (
        (key, SITE_OPTIONS[key]) for key in ("name", "base_url", "platform_name", "theme", "language",
                                             "contact_email", "content", "learner_profile_url",
                                             "index_certificate_pages"))},
    "signing": Option(dict, "The site's own signing key; keys it leaves out come from the top-level "
                      "`signing`.", default={}),
    "publish": Option(dict, "The site's own publish target; keys it leaves out come from the top-level "
                      "`publish`.", default={}),
}
ORGANIZATION_OPTIONS = {
    "name": Option(str, "Full name.", True),
    "short_name": Option(str, "Short name, e.g. HarvardX; defaults to `name`."),
    "logo": Option(str, "Logo image, relative to the project folder."),
    "linkedin_id": Option((str, int), "LinkedIn organization id, for 'Add to profile'."),
    "website": Option(str, "The organization's http(s) website; certificate pages link its name to it."),
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
    "description": Option(str, "One paragraph about the course, shown on its certificate pages.", default=""),
}
PROGRAM_OPTIONS = {
    "title": Option(str, "Program title as printed.", True),
    "org": Option(str, "Key of the issuing organization.", True),
    "courses": Option(list, "Course ids that make up the program.", default=[]),
    "signatories": Option(list, "Keys of the signatories.", default=[]),
    "description": Option(str, "One paragraph about the program, shown on its certificate pages.", default=""),
}
SIGNING_OPTIONS = {
    "key": Option(str, "Fingerprint of the signing key (40 hex digits; spaces and 0x allowed).",
                  env=ENV_SIGNING_KEY),
    "gnupghome": Option(str, "GnuPG home holding the key; default: a development key in .dev-gnupg/.",
                        env=ENV_GNUPGHOME),
    "algorithm": Option(str, "Algorithm of the key `sitegen keys init` creates.", default="ed25519",
                        choices=("ed25519", "rsa3072")),
    "vc_key_file": Option(str, "File holding the Ed25519 key that signs the verifiable credentials "
                          "(`sitegen keys init` makes it); default: `sitegen-vc-ed25519.key` in the GnuPG home. "
                          "`SITEGEN_VC_KEY` may hold the key itself instead.", env=ENV_VC_KEY_FILE),
    "vc_previous_keys": Option(list, "Public keys (`z6Mk...`) of retired Ed25519 keys: the DID document keeps "
                               "listing them, so the credentials they signed keep verifying.", default=[]),
}
PUBLISH_OPTIONS = {
    "bucket": Option(str, "S3 bucket to publish to.", env=ENV_PUBLISH_BUCKET),
    "prefix": Option(str, "Folder inside the bucket (a plain path like `site/`).", default="",
                     env=ENV_PUBLISH_PREFIX),
    "region": Option(str, "AWS region of the bucket."),
    "endpoint_url": Option(str, "S3-compatible endpoint, an http(s) URL (`--endpoint-url` overrides).",
                           env=ENV_PUBLISH_ENDPOINT_URL),
    "cdn_distribution_id": Option(str, "CloudFront distribution to invalidate.", env=ENV_CDN_DISTRIBUTION_ID),
    "max_deletes": Option(int, "Refuse a publish that would delete more objects than this.", default=100),
    "unused_grace_hours": Option(int, "Sharded publishing: hours a share card or fingerprinted asset that no page "
                                 "links to any more stays in the bucket before shard 1 deletes it.", default=72),
    "upload_processes": Option(int, "Processes that upload a large batch (thousands of objects), each with its own "
                               "threads: 0 is one per core (boto3 needs a core for about 400 uploads a second); "
                               "1 uploads from the publishing process alone. Never more than the cores "
                               "(`--upload-processes` overrides).", default=0),
    "cache": Option(dict, "Cache-Control values by kind of object.", default={}),
}
CACHE_OPTIONS = {
    "pages": Option(str, "For pages, JSON, statements: anything that changes on revocation.",
                    default=CachePolicy.pages),
    "assets": Option(str, "For fingerprinted theme assets.", default=CachePolicy.assets),
    "documents": Option(str, "For PDFs.", default=CachePolicy.documents),
}

SECTIONS = (
    Section("", "The top level of site.yml.", SITE_OPTIONS),
    Section("sites.<name>", "One of several sites built from this repository (see docs/lifecycle.md).",
            SITE_ENTRY_OPTIONS),
    Section("organizations.<key>", "An issuing organization; courses and programs name it by its key.",
            ORGANIZATION_OPTIONS),
    Section("signatories.<key>", "A person whose signature appears on certificates.", SIGNATORY_OPTIONS),
    Section("courses.<id>", "A course that awards certificates; records name it by `course_id`.",
            COURSE_OPTIONS),
    Section("programs.<id>", "A program that awards certificates; records name it by `program_id`.",
            PROGRAM_OPTIONS),
    Section("signing", "The OpenPGP key that signs PDFs and statements.", SIGNING_OPTIONS),
    Section("publish", "Where `sitegen publish` uploads the site.", PUBLISH_OPTIONS),
    Section("publish.cache", "Cache-Control headers of the uploaded objects.", CACHE_OPTIONS),
)

_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+\-]*")  # full-match: keys become folder names
_URL_PATTERN = re.compile(r"https?://[^\s/]+(/\S*)?")
_FINGERPRINT_PATTERN = re.compile(r"[0-9A-F]{40}")
_MULTIKEY_PATTERN = re.compile(r"z6Mk[1-9A-HJ-NP-Za-km-z]{44}")


class _Checker:
    """Collects every problem in site.yml instead of stopping at the first."""

    def __init__(self, file: str, environ: Mapping[str, str]):
        self.file = file
        self.environ = environ
        self.problems: list[Problem] = []
        self.from_env: dict[str, str] = {}  # field -> the environment variable that set it

    def problem(self, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, field, message))

    def invalid(self, data: Any, where: str, key: str, message: str) -> None:
        """A value that is wrong, named where it came from: a line of site.yml or a variable."""
        field = _join(where, key)
        if field in self.from_env:
            self.problems.append(Problem("environment", None, self.from_env[field], message))
        else:
            self.problem(_line(data, key), field, message)

    def source(self, field: str) -> str:
        """Where a value came from, as error messages of later stages name it."""
        return self.from_env.get(field) or f"{field} in {self.file}"

    def section(self, data: Any, options: dict[str, Option], where: str, line: int | None) -> dict:
        """Check one mapping against its options; return values with defaults filled in
        and the environment applied."""
        if not isinstance(data, dict):
            self.problem(line, where, "must be a mapping of keys to values")
            return {}
        for key in data:
            if key not in options:
                known = ", ".join(options)
                self.problem(_line(data, key), _join(where, key), f"unknown key (known: {known})")
        values = {key: self._value(data, key, option, where) for key, option in options.items()}
        for key, option in options.items():
            override = self.environ.get(option.env) if option.env else None
            if override:  # an empty variable counts as unset, as CI templates often leave them
                values[key] = override
                self.from_env[_join(where, key)] = option.env
            if option.choices and values[key] is not None and values[key] not in option.choices:
                self.invalid(data, where, key, f"must be {' or '.join(option.choices)}")
                values[key] = option.default
        return values

    def _value(self, data: dict, key: str, option: Option, where: str) -> Any:
        if key not in data or data[key] is None:
            if option.required:
                self.problem(_line(data, None), _join(where, key), "is required")
            return option.default
        value = data[key]
        if not isinstance(value, option.kind) or (isinstance(value, bool) and option.kind is not bool):
            self.problem(_line(data, key), _join(where, key), f"must be {_kind_name(option.kind)}")
            return option.default
        return str(value) if isinstance(value, int) and option.kind == (str, int) else value


def load_site(root: Path, base_url: str | None = None, environ: Mapping[str, str] | None = None,
              site_name: str | None = None) -> Site:
    """Read and check `root/site.yml`, then apply the environment (`os.environ` by default)
    over it; `base_url` overrides the file (for previews). In a project of several sites,
    `site_name` picks one; without it, the first declared."""
    sites = load_sites(root, base_url, environ)
    return select_sites(sites, site_name)[0] if site_name is not None else sites[0]


def load_sites(root: Path, base_url: str | None = None, environ: Mapping[str, str] | None = None) -> list[Site]:
    """Every site site.yml declares, in order: one for a plain site.yml."""
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
    check = _Checker(SITE_FILE, os.environ if environ is None else environ)
    sites = _build_sites(root, data if data is not None else LocatedDict(), check, base_url)
    if check.problems:
        raise InputProblems(check.problems)
    return sites


def select_sites(sites: list[Site], site_name: str | None) -> list[Site]:
    """The sites a command works on: the one `--site-name` names, or all of them."""
    if site_name is None:
        return sites
    for site in sites:
        if site.key == site_name:
            return [site]
    if len(sites) == 1 and not sites[0].key:
        raise SitegenError(f"--site-name {site_name}: {SITE_FILE} declares no sites (no `sites:` section)")
    known = ", ".join(site.key for site in sites)
    raise SitegenError(f"--site-name {site_name}: no such site in {SITE_FILE} (known: {known})")


def _build_sites(root: Path, data: Any, check: _Checker, base_url: str | None) -> list[Site]:
    several = isinstance(data, dict) and data.get("sites")
    options = SITE_OPTIONS
    if several:  # then each site may give its own name and base URL instead
        options = {**SITE_OPTIONS, **{key: _optional(SITE_OPTIONS[key]) for key in ("name", "base_url")}}
    top = check.section(data, options, "", 1)
    if not top:
        return []
    catalogue = _Catalogue(
        organizations=(organizations := _organizations(top["organizations"] or {}, check)),
        signatories=(signatories := _signatories(top["signatories"] or {}, check)),
        courses=(courses := _courses(top["courses"] or {}, check, organizations, signatories)),
        programs=_programs(top["programs"] or {}, check, organizations, signatories, courses),
    )
    _check_files(root, organizations, signatories, data, check)
    signing = _signing(top["signing"] or {}, check, _line(data, "signing"))
    publish = _publish(top["publish"] or {}, check, _line(data, "publish"))
    if not several:
        _check_theme(root, top["theme"], check, _line(data, "theme"), "theme")
        _check_content(root, top["content"], check, _line(data, "content"), "content")
        _check_profile_url(top["learner_profile_url"], check, _line(data, "learner_profile_url"),
                           "learner_profile_url")
        url = _check_base_url(base_url or top["base_url"], check, None if base_url else _line(data, "base_url"),
                              "base_url")
        return [_site(root, top, url, catalogue, signing, publish, "", tuple(sorted(organizations)))]
    return _declared_sites(root, data, top, catalogue, signing, publish, check, base_url)


@dataclass(frozen=True)
class _Catalogue:
    """What every site of a project shares: organizations, signatories, courses, programs."""

    organizations: dict[str, Organization]
    signatories: dict[str, Signatory]
    courses: dict[str, Course]
    programs: dict[str, Program]


def _site(root: Path, values: dict, url: str, catalogue: _Catalogue, signing: SigningSettings,
          publish: PublishSettings, key: str, served: tuple[str, ...]) -> Site:
    return Site(
        root=root,
        name=values["name"] or "",
        base_url=url,
        platform_name=values["platform_name"] or values["name"] or "",
        theme=values["theme"],
        language=values["language"],
        organizations=catalogue.organizations,
        courses=catalogue.courses,
        programs=catalogue.programs,
        signatories=catalogue.signatories,
        signing=signing,
        publish=publish,
        contact_email=values["contact_email"],
        index_certificate_pages=values["index_certificate_pages"],
        content=values["content"],
        learner_profile_url=values["learner_profile_url"],
        key=key,
        served=served,
    )


def _declared_sites(root, data, top, catalogue: _Catalogue, signing: SigningSettings, publish: PublishSettings,
                    check: _Checker, base_url: str | None) -> list[Site]:
    """The entries of `sites:`, each with the top level's settings as its defaults."""
    sites_data = data["sites"]
    owner: dict[str, str] = {}  # organization -> the site that publishes it
    sites = []
    for key, entry in _keyed_entries(sites_data, "sites", check):
        where = f"sites.{key}"
        entry_options = {name: _defaulting(option, top.get(name)) for name, option in SITE_ENTRY_OPTIONS.items()}
        values = check.section(entry, entry_options, where, _line(sites_data, key))
        if not values:
            continue
        for field in ("name", "base_url"):
            if not values[field]:
                check.problem(_line(entry, None), f"{where}.{field}", "is required (here or at the top level)")
        url = _check_base_url(base_url or values["base_url"], check,
                              None if base_url else _line(entry, "base_url") or _line(data, "base_url"),
                              f"{where}.base_url")
        _check_theme(root, values["theme"], check, _line(entry, "theme") or _line(data, "theme"), f"{where}.theme")
        _check_content(root, values["content"], check, _line(entry, "content") or _line(data, "content"),
                       f"{where}.content")
        _check_profile_url(values["learner_profile_url"], check,
                           _line(entry, "learner_profile_url") or _line(data, "learner_profile_url"),
                           f"{where}.learner_profile_url")
        served = _served_organizations(entry, values["organizations"], where, key, catalogue, owner, check)
        site_signing = _signing(values["signing"] or {}, check, _line(entry, "signing"), f"{where}.signing",
                                inherited=signing)
        site_publish = _publish(values["publish"] or {}, check, _line(entry, "publish"), f"{where}.publish",
                                inherited=publish)
        sites.append(_site(root, values, url, catalogue, site_signing, site_publish, key, served))
    for org in catalogue.organizations:
        if org not in owner:
            check.problem(_line(data, "sites"), "sites",
                          f"organization {org!r} belongs to no site: add it to one site's organizations")
    _check_distinct_targets(sites, sites_data, check)
    return sites


def _served_organizations(entry, keys: list, where: str, site_key: str, catalogue: _Catalogue,
                          owner: dict[str, str], check: _Checker) -> tuple[str, ...]:
    served = set()
    for org in keys:
        _check_reference(entry, "organizations", org, catalogue.organizations, "organization", where, check)
        if org in owner:
            # One site per organization: a credential must never appear on two sites.
            check.problem(_line(entry, "organizations"), f"{where}.organizations",
                          f"organization {org!r} is already published by site {owner[org]!r}")
        elif org in catalogue.organizations:
            owner[org] = site_key
            served.add(org)
    return tuple(sorted(served))


def _check_distinct_targets(sites: list[Site], sites_data, check: _Checker) -> None:
    """Two sites publishing to one place would delete each other's objects. Checked as
    site.yml says: with the target set by the environment (a CI job that publishes one site),
    `sitegen publish` checks the sites it publishes instead."""
    if any(check.environ.get(name) for name in (ENV_PUBLISH_BUCKET, ENV_PUBLISH_PREFIX, ENV_PUBLISH_ENDPOINT_URL)):
        return
    seen: dict[tuple, str] = {}
    for site in sites:
        target = (site.publish.endpoint_url, site.publish.bucket, site.publish.prefix)
        if site.publish.bucket is None:
            continue
        if target in seen:
            check.problem(_line(sites_data, site.key), f"sites.{site.key}.publish",
                          f"publishes to the same bucket and prefix as site {seen[target]!r}: "
                          "give each site its own bucket or prefix")
        seen[target] = site.key


def _optional(option: Option) -> Option:
    return dataclasses.replace(option, required=False)


def _defaulting(option: Option, inherited: Any) -> Option:
    """An option of a `sites` entry whose default is what the top level says."""
    if option.kind in (dict, list) or inherited is None:  # organizations, signing, publish: not copied
        return option
    return dataclasses.replace(option, default=inherited)


def _check_base_url(url: str | None, check: _Checker, line: int | None, field: str) -> str:
    if url is None:
        return ""
    if not _URL_PATTERN.fullmatch(url):
        check.problem(line, field, f"must be an http(s) URL like https://verify.example.org/, got {url!r}")
        return url
    return url if url.endswith("/") else url + "/"


def _organizations(data: dict, check: _Checker) -> dict[str, Organization]:
    result = {}
    for key, entry in _keyed_entries(data, "organizations", check):
        where = f"organizations.{key}"
        values = check.section(entry, ORGANIZATION_OPTIONS, where, _line(data, key))
        if not values:
            continue
        values["short_name"] = values["short_name"] or values["name"]
        if values["website"] is not None and not _URL_PATTERN.fullmatch(values["website"]):
            # Pages link to it: a javascript: or data: URL there would run in the reader's browser.
            check.invalid(entry, where, "website",
                          f"must be an http(s) URL like https://www.example.edu/, got {values['website']!r}")
            values["website"] = None
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


def _signing(data: dict, check: _Checker, line: int | None, where: str = "signing",
             inherited: SigningSettings | None = None) -> SigningSettings:
    options = SIGNING_OPTIONS if inherited is None else _inheriting(SIGNING_OPTIONS, inherited, data)
    values = check.section(data, options, where, line)
    if not values:
        return inherited or SigningSettings()
    if values["key"] is not None and values["key"] != getattr(inherited, "key", None):
        fingerprint = normalize_fingerprint(values["key"])
        if fingerprint is None:
            check.invalid(data, where, "key", f"{values['key'].strip()!r} is not a key fingerprint "
                          "(40 hex digits, as `gpg --list-secret-keys --with-fingerprint` shows)")
        values["key"] = fingerprint
    values["vc_previous_keys"] = _public_keys(values["vc_previous_keys"], data, where, check)
    return SigningSettings(**values, key_source=_source(check, where, "key", data, inherited, "key_source"),
                           gnupghome_source=_source(check, where, "gnupghome", data, inherited, "gnupghome_source"),
                           vc_key_file_source=_source(check, where, "vc_key_file", data, inherited,
                                                      "vc_key_file_source"))


def _public_keys(keys, data, where: str, check: _Checker) -> tuple[str, ...]:
    """Retired Ed25519 public keys, as the DID document lists them (Multikey, base58btc)."""
    for key in keys:
        if not isinstance(key, str) or not _MULTIKEY_PATTERN.fullmatch(key):
            check.problem(_line(data, "vc_previous_keys"), f"{where}.vc_previous_keys",
                          f"{key!r} is not an Ed25519 public key as `sitegen keys export` prints it (z6Mk...)")
    return tuple(key for key in keys if isinstance(key, str))


def _inheriting(options: dict[str, Option], inherited, data) -> dict[str, Option]:
    """A site's own section: what it leaves out is what the top level resolved."""
    return {key: option if isinstance(data, dict) and key in data
            else dataclasses.replace(option, default=getattr(inherited, key))
            for key, option in options.items()}


def _source(check: _Checker, where: str, key: str, data, inherited, inherited_field: str) -> str:
    """Where a value came from, for later messages: this section, the environment, or the top level."""
    field = _join(where, key)
    if field in check.from_env or inherited is None or (isinstance(data, dict) and key in data):
        return check.source(field)
    return getattr(inherited, inherited_field)


def normalize_fingerprint(value: str) -> str | None:
    """A fingerprint as gpg prints it (spaces, 0x, any case) as 40 upper-case hex digits;
    None for anything else, short key ids included (they are easy to collide)."""
    fingerprint = re.sub(r"\s+", "", value).upper().removeprefix("0X")
    return fingerprint if _FINGERPRINT_PATTERN.fullmatch(fingerprint) else None


def _publish(data: dict, check: _Checker, line: int | None, where: str = "publish",
             inherited: PublishSettings | None = None) -> PublishSettings:
    options = PUBLISH_OPTIONS if inherited is None else _inheriting(PUBLISH_OPTIONS, inherited, data)
    values = check.section(data, options, where, line)
    if not values:
        return inherited or PublishSettings()
    cache = values.pop("cache")
    if not isinstance(cache, CachePolicy):
        cache_options = CACHE_OPTIONS if inherited is None else _inheriting(CACHE_OPTIONS, inherited.cache, cache)
        cache = CachePolicy(**check.section(cache, cache_options, f"{where}.cache", _line(data, "cache")))
    for name in ("max_deletes", "unused_grace_hours", "upload_processes"):
        if values[name] < 0:
            check.problem(_line(data, name), f"{where}.{name}", "must be 0 or more")
    prefix = normalise_prefix(values["prefix"])
    if prefix is None:
        check.invalid(data, where, "prefix", f"{values['prefix']!r} is not a plain folder path")
    values["prefix"] = prefix or ""
    if values["endpoint_url"] is not None and not _URL_PATTERN.fullmatch(values["endpoint_url"]):
        shown = without_userinfo(values["endpoint_url"])  # never print a password
        check.invalid(data, where, "endpoint_url", f"must be an http(s) URL, got {shown!r}")
    return PublishSettings(cache=cache, **values)


def without_userinfo(url: str) -> str:
    """`url` without a user name or password, as messages and reports may show it."""
    scheme, _, rest = url.partition("://")
    host_part, slash, path = rest.partition("/")
    if "@" not in host_part:
        return url
    return f"{scheme}://{host_part.rpartition('@')[2]}{slash}{path}"


def normalise_prefix(prefix: str) -> str | None:
    """A key prefix as "" or "a/b/"; None when it is not a plain folder path."""
    prefix = prefix.strip().strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        return None
    return prefix + "/" if prefix else ""


def _keyed_entries(data: dict, where: str, check: _Checker):
    for key, entry in data.items():
        if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
            shown = key if isinstance(key, str) and key.isprintable() else repr(key)  # one line
            check.problem(_line(data, key), f"{where}.{shown}",
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


def _check_theme(root: Path, theme: str, check: _Checker, line: int | None, field: str) -> None:
    if theme and not (root / "themes" / theme / "templates").is_dir():
        check.problem(line, field, f"no theme folder themes/{theme}/templates")


def _check_content(root: Path, folder: str, check: _Checker, line: int | None, field: str) -> None:
    """A site's own pages folder: inside the project, and there (the default may be absent)."""
    path = (root / folder).resolve()
    if not path.is_relative_to(root.resolve()):
        check.problem(line, field, "must be a folder inside the project folder")
    elif folder != SITE_OPTIONS["content"].default and not path.is_dir():
        check.problem(line, field, f"no folder {folder}")


def _check_profile_url(url: str | None, check: _Checker, line: int | None, field: str) -> None:
    if url is not None and (not _URL_PATTERN.fullmatch(url) or url.count("{username}") != 1):
        check.problem(line, field, f"must be an http(s) URL with one {{username}} in it, got {url!r}")


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
    names = {str: "text", int: "a whole number", dict: "a mapping", list: "a list", bool: "true or false"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)
