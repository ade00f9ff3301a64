"""Checking raw records against the rules of docs/records.md, turning them into Credentials.

Every rule reports one Problem naming file, line and field, and all problems are
collected so a CI run shows every bad row at once, not one per run. The rules are the
same for every format: a CSV cell, a JSON string and a YAML scalar holding the same text
are judged alike.

What a value may be:
- identifiers (uuid, credential_type, course_id, program_id, certificate_type, status,
  attribute namespace and name) must be exactly one of the known values, as written:
  no spaces or line breaks around them, since they become paths and keys;
- the username is one line of printable text, nothing around it;
- free text (full_name, revocation_reason, attribute values) is one line: spaces at its
  ends are dropped, but line breaks, controls, bidi overrides and lone surrogates are
  refused anywhere in it; a name also needs a visible letter and no stacks of combining
  marks.
Text that is only white space counts as absent. The issue date's "not in the future" is
checked in record_cache.py, not here: this module's results are cached per file.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import sys
import unicodedata
from collections.abc import Iterable

from sitegen.errors import Problem
from sitegen.layout import is_uuid
from sitegen.load.records import RawRecord, shown_key
from sitegen.model import (
    CERTIFICATE_MODES,
    COURSE_CERTIFICATE,
    CREDENTIAL_TYPES,
    PROGRAM_CERTIFICATE,
    RECORD_STATUSES,
    Attribute,
    Credential,
    Site,
)

_API_UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_API_DATETIME_PATTERN = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})([T ][0-9:.]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?")
MAX_NAME_LENGTH = 300
MAX_USERNAME_LENGTH = 150  # Django's (and so Open edX's) auth_user.username column
MAX_COMBINING_MARKS = 4  # on one character; real orthographies stack 3 at most
EARLIEST_DATE = dt.date(1900, 1, 1)

RECORD_FIELDS = (
    "uuid", "username", "full_name", "credential_type", "course_id", "program_id",
    "certificate_type", "status", "issued", "expires", "revocation_reason", "revocation_date", "attributes",
)
# Fields of the Credentials API's public UserCredential shape that carry nothing to check.
API_PASSTHROUGH_FIELDS = ("download_url", "certificate_url", "modified", "id", "user")
_RECORD_FIELDS = frozenset(RECORD_FIELDS)
_API_FIELDS = _RECORD_FIELDS | frozenset(API_PASSTHROUGH_FIELDS) | {"credential", "created", "date_override"}
_ATTRIBUTE_KEYS = frozenset(("namespace", "name", "value"))

# Characters that change how surrounding text is displayed without being visible:
# a name holding them could make a page read differently from what it says.
_INVISIBLE_CONTROLS = "\u202a-\u202e\u2066-\u2069\ufff9-\ufffb"
# Anything that ends a line somewhere: JSON, YAML 1.1, Python's splitlines(), PDF text.
_LINE_BREAKS = "\n\x0b\x0c\r\x1c-\x1e\x85\u2028\u2029"
_FORBIDDEN = f"\x00-\x1f\x7f-\x9f\u2028\u2029{_INVISIBLE_CONTROLS}\ud800-\udfff"
_FORBIDDEN_CHARACTERS = re.compile(f"[{_FORBIDDEN}]")
# What `_Checks.identifier` lets through, in one expression: no forbidden character, and
# something other than white space (as str.isspace() has it) at both ends.
_PLAIN_IDENTIFIER = re.compile(f"[^\\s{_FORBIDDEN}](?:[^{_FORBIDDEN}]*[^\\s{_FORBIDDEN}])?")
_LINE_BREAK = re.compile(f"[{_LINE_BREAKS}]")
_INVISIBLE_CONTROL = re.compile(f"[{_INVISIBLE_CONTROLS}]")

# Unicode's Default_Ignorable_Code_Point letters: they are letters (Lo) but draw nothing,
# so a "name" of Hangul fillers is blank.
_IGNORABLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def duplicate_problems(credentials: Iterable[Credential]) -> list[Problem]:
    """A UUID used twice, anywhere: both places are named."""
    credentials = list(credentials)
    if len({credential.uuid for credential in credentials}) == len(credentials):
        return []  # as in most builds: one set of the IDs tells, without a look at each
    first_seen: dict[str, Credential] = {}
    problems = []
    for credential in credentials:
        earlier = first_seen.setdefault(credential.uuid, credential)
        if earlier is not credential:
            where = credential.source
            problems.append(Problem(where.file, where.line, "uuid",
                                    f"duplicate: {credential.uuid} is also at {earlier.source}"))
    return problems


def future_problems(credentials: Iterable[Credential], today: dt.date) -> list[Problem]:
    """Issue dates after `today`: a certificate cannot be awarded before it is earned, and
    a signature made "in the future" would carry the build's clock instead (see sign/gpg.py)."""
    late = [c for c in credentials if c.issued > today or (c.revocation_date is not None and c.revocation_date > today)]
    return [
        Problem(c.source.file, c.source.line, field,
                f"{date.isoformat()} is in the future (today is {today.isoformat()}, UTC)")
        for c in late
        for field, date in (("issued", c.issued), ("revocation_date", c.revocation_date))
        if date is not None and date > today
    ]


def validate_record(record: RawRecord, site: Site) -> tuple[Credential | None, list[Problem]]:
    fields = record.fields
    if isinstance(fields.get("credential"), dict):
        fields, problems = _from_api_shape(record, site)
    elif _RECORD_FIELDS.issuperset(fields):
        problems = []
    else:
        problems = [_problem(record, shown_key(key), "unknown field (known: " + ", ".join(RECORD_FIELDS) + ")")
                    for key in fields if key not in _RECORD_FIELDS]
    checks = _Checks(record, fields, problems)
    uuid = checks.uuid()
    username = checks.username()
    full_name = checks.full_name()
    credential_type = checks.choice("credential_type", CREDENTIAL_TYPES)
    course_id, program_id, mode = checks.subject(credential_type, site)
    status = checks.choice("status", RECORD_STATUSES)
    reason = checks.revocation_reason(status)
    issued = checks.date("issued", required=True)
    expires = checks.date("expires", required=False)
    if issued and expires and expires < issued:
        checks.problem("expires", f"{expires.isoformat()} is before issued {issued.isoformat()}")
    revoked_on = checks.revocation_date(status, issued)
    attributes = checks.attributes()
    if problems:
        return None, problems
    return Credential(
        uuid=uuid, username=username, full_name=full_name, credential_type=credential_type,
        status=status, issued=issued, course_id=course_id, program_id=program_id,
        certificate_type=mode, expires=expires, revocation_reason=reason,
        attributes=attributes, revocation_date=revoked_on, source=record.source,
    ), []


def _absent(value) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def _shown(value) -> str:
    """A value as an error line shows it: short, one line, never the whole of a list."""
    if isinstance(value, str):
        return repr(value[:40] + ("..." if len(value) > 40 else ""))
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        return repr(value)[:40]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _kind(value) -> str:
    """What a value is, for "must be text, got ..."."""
    if isinstance(value, bool):
        return f"{_shown(value)} (a yes/no value; in YAML, put text in quotes)"
    if isinstance(value, (int, float)):
        return f"the number {_shown(value)} (in YAML, put text in quotes)"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {_shown(value)} (in YAML, put text in quotes)"
    return _shown(value)


def character_problem(text: str) -> str | None:
    """What is wrong with a character of one line of text, if anything."""
    bad = _FORBIDDEN_CHARACTERS.search(text)
    if bad is None:
        return None
    char = bad.group()
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"contains {code}, a lone surrogate: not a character (the file was written by broken software)"
    if _LINE_BREAK.match(char):
        return f"contains a line break ({code}): it must be one line"
    if _INVISIBLE_CONTROL.match(char):
        return f"contains the invisible control character {code}"
    return f"contains the control character {code}"


def _marks_problem(name: str) -> str | None:
    """Combining marks stacked on one character: more than real scripts use (Zalgo text).

    Format characters (ZWJ, ZWNJ, ...) between marks do not end a stack.
    """
    if name.isascii():
        return None
    run = 0
    for char in name:
        category = unicodedata.category(char)
        if category in ("Mn", "Me"):
            run += 1
            if run > MAX_COMBINING_MARKS:
                return (f"has more than {MAX_COMBINING_MARKS} combining marks on one character: "
                        "they would be drawn over the lines around it")
        elif category != "Cf":
            run = 0
    return None


def _has_visible_letter(name: str) -> bool:
    first = name[0]
    if first.isalpha() and first not in _IGNORABLE_LETTERS:
        return True  # most names
    return any(char.isalpha() and char not in _IGNORABLE_LETTERS for char in name)


class _Checks:
    """The rule for each field; each records its problem and returns a clean value or None.

    Identifiers come back as the one string object site.yml or model.py holds for that value,
    not the record's copy of it: a site keeps 600,000 credentials in memory, most of them
    saying the same few course IDs, modes and statuses.
    """

    __slots__ = ("record", "fields", "problems")

    def __init__(self, record: RawRecord, fields: dict, problems: list[Problem]):
        self.record, self.fields, self.problems = record, fields, problems

    def problem(self, field: str, message: str) -> None:
        self.problems.append(_problem(self.record, field, message))

    def raw_text(self, field: str, value, required: bool) -> str | None:
        """A string with no forbidden character, or None (and a problem, unless absent and optional)."""
        if isinstance(value, str):
            if value and not value.isspace():
                if _FORBIDDEN_CHARACTERS.search(value) is None:
                    return value
                self.problem(field, character_problem(value))
                return None
        elif value is not None:
            self.problem(field, f"must be text, got {_kind(value)}")
            return None
        if required:
            self.problem(field, "is required")
        return None

    def identifier(self, field: str, value, required: bool = True) -> str | None:
        """Text that is a key or a path: as written, nothing around it."""
        if type(value) is str and _PLAIN_IDENTIFIER.fullmatch(value):
            return value  # the usual case, in one step: there are 8 identifiers in a record
        value = self.raw_text(field, value, required)
        if value is not None and (value[0].isspace() or value[-1].isspace()):
            self.problem(field, f"has white space at its start or end: {_shown(value)}")
            return None
        return value

    def free_text(self, field: str, value, required: bool) -> str | None:
        """Text shown as written: one line; spaces at its ends are not part of it."""
        value = self.raw_text(field, value, required)
        return None if value is None else value.strip()

    def uuid(self) -> str | None:
        value = self.fields.get("uuid")
        if _absent(value):
            self.problem("uuid", "is required")
            return None
        if not is_uuid(value):
            self.problem("uuid", f"must be 32 lowercase hex digits (a uuid4 hex), got {_shown(value)}")
            return None
        return value

    def username(self) -> str | None:
        name = self.identifier("username", self.fields.get("username"))
        if name is None:
            return None
        if not name.isprintable():
            char = next(c for c in name if not c.isprintable())
            self.problem("username", f"contains U+{ord(char):04X}: a username is one line of "
                         "visible characters and plain spaces")
            return None
        if len(name) > MAX_USERNAME_LENGTH:
            self.problem("username", f"is {len(name)} characters long (at most {MAX_USERNAME_LENGTH})")
            return None
        return name

    def full_name(self) -> str | None:
        name = self.free_text("full_name", self.fields.get("full_name"), required=True)
        if name is None:
            return None
        if not _has_visible_letter(name):
            self.problem("full_name", f"has no visible letter: {_shown(name)} is not a name")
            return None
        marks = _marks_problem(name)
        if marks:
            self.problem("full_name", marks)
            return None
        if len(name) > MAX_NAME_LENGTH:
            self.problem("full_name", f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})")
            return None
        return name

    def choice(self, field: str, choices: tuple[str, ...]) -> str | None:
        value = self.identifier(field, self.fields.get(field))
        if value is not None and value not in choices:
            self.problem(field, f"unknown value {_shown(value)} (one of: {', '.join(choices)})")
            return None
        return None if value is None else choices[choices.index(value)]

    def subject(self, credential_type: str | None, site: Site):
        """course_id + certificate_type for a course, program_id for a program."""
        course_id = self.identifier("course_id", self.fields.get("course_id"), required=False)
        program_id = self.identifier("program_id", self.fields.get("program_id"), required=False)
        mode = self.identifier("certificate_type", self.fields.get("certificate_type"), required=False)
        if credential_type == COURSE_CERTIFICATE:
            if program_id is not None:
                self.problem("program_id", "must be empty for a course-certificate")
            if course_id is None:
                if _absent(self.fields.get("course_id")):
                    self.problem("course_id", "is required for a course-certificate")
            elif course_id not in site.courses:
                self.problem("course_id", f"unknown course {_shown(course_id)} (not in site.yml courses)")
            else:
                course_id = site.courses[course_id].id
            if mode is None:
                if _absent(self.fields.get("certificate_type")):
                    self.problem("certificate_type",
                                 "is required for a course-certificate (honor, verified or professional)")
            elif mode not in CERTIFICATE_MODES:
                self.problem("certificate_type",
                             f"unknown value {_shown(mode)} (one of: {', '.join(CERTIFICATE_MODES)})")
            elif course_id in site.courses and mode not in site.courses[course_id].modes:
                self.problem("certificate_type", f"{course_id} does not award {mode!r} certificates")
            else:
                mode = CERTIFICATE_MODES[CERTIFICATE_MODES.index(mode)]
        elif credential_type == PROGRAM_CERTIFICATE:
            if course_id is not None:
                self.problem("course_id", "must be empty for a program-certificate")
            if mode is not None:
                self.problem("certificate_type", "is for course certificates only")
            if program_id is None:
                if _absent(self.fields.get("program_id")):
                    self.problem("program_id", "is required for a program-certificate")
            elif program_id not in site.programs:
                self.problem("program_id", f"unknown program {_shown(program_id)} (not in site.yml programs)")
            else:
                program_id = site.programs[program_id].id
        return course_id, program_id, mode

    def revocation_reason(self, status: str | None) -> str | None:
        reason = self.free_text("revocation_reason", self.fields.get("revocation_reason"), required=False)
        if reason is None and not _absent(self.fields.get("revocation_reason")):
            return None  # already reported
        if status == "revoked" and reason is None:
            self.problem("revocation_reason", "is required when status is revoked")
        if status == "awarded" and reason is not None:
            self.problem("revocation_reason", "is only for revoked credentials (status is awarded)")
        return reason

    def revocation_date(self, status: str | None, issued: dt.date | None) -> dt.date | None:
        """Optional (records revoked before the field existed have none); only when revoked."""
        date = self.date("revocation_date", required=False)
        if date is not None and status == "awarded":
            self.problem("revocation_date", "is only for revoked credentials (status is awarded)")
        if date is not None and issued is not None and date < issued:
            self.problem("revocation_date", f"{date.isoformat()} is before issued {issued.isoformat()}")
        return date

    def date(self, field: str, required: bool) -> dt.date | None:
        value = self.fields.get(field)
        if _absent(value):
            if required:
                self.problem(field, "is required (an ISO date like 2026-03-31)")
            return None
        date = None
        if isinstance(value, str):
            date = _iso_date(value)
        elif isinstance(value, dt.datetime):
            date = value.date()
        elif isinstance(value, dt.date):
            date = value
        if date is None:
            self.problem(field, f"must be an ISO date like 2026-03-31, got {_shown(value)}")
        elif date < EARLIEST_DATE:
            self.problem(field, f"{date.isoformat()} is before {EARLIEST_DATE.year}: is the year mistyped?")
            date = None
        return date

    def attributes(self) -> tuple[Attribute, ...]:
        value = self.fields.get("attributes")
        if value is None or value == "":
            return ()
        if not isinstance(value, list):
            self.problem("attributes", "must be a list of {namespace, name, value}")
            return ()
        result = []
        for index, item in enumerate(value, start=1):
            attribute = self.attribute(f"attributes[{index}]", item)
            if attribute is not None:
                result.append(attribute)
        return tuple(result)

    def attribute(self, where: str, item) -> Attribute | None:
        if not isinstance(item, dict):
            self.problem(where, "must be a mapping with namespace, name and value")
            return None
        if not _ATTRIBUTE_KEYS.issuperset(item):
            unknown = next(k for k in item if k not in _ATTRIBUTE_KEYS)
            self.problem(where, f"unknown key {repr(unknown)[:60]} (known: namespace, name, value)")
            return None
        if _absent(item.get("namespace")) or _absent(item.get("name")) or _absent(item.get("value")):
            self.problem(where, "needs namespace, name and value, all text")
            return None
        namespace = self.identifier(f"{where}.namespace", item["namespace"])
        name = self.identifier(f"{where}.name", item["name"])
        text = item["value"]
        if isinstance(text, (int, float)) and not isinstance(text, bool) and math.isfinite(text):
            text = str(text)  # a grade written as a number, e.g. YAML's value: 0.93
        text = self.free_text(f"{where}.value", text, required=True)
        if namespace is None or name is None or text is None:
            return None
        # A few names, in every record: one string object each (see the class's docstring).
        return Attribute(sys.intern(namespace), sys.intern(name), text)


@functools.lru_cache(maxsize=4096)
def _iso_date(text: str) -> dt.date | None:
    """The date `text` writes in ISO form, or None. Cached: awards come in batches, many
    records share a date, and then they share one date object too."""
    if _DATE_PATTERN.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    return None


def _api_program_id(value, site: Site):
    """The API writes program UUIDs with hyphens; site.yml may key programs either way."""
    if isinstance(value, str) and value not in site.programs and _API_UUID_PATTERN.fullmatch(value):
        if value.replace("-", "") in site.programs:
            return value.replace("-", "")
    return value


def _from_api_shape(record: RawRecord, site: Site) -> tuple[dict, list[Problem]]:
    """Map a Credentials API UserCredential (GET /api/v2/credentials/) onto record fields.

    The API carries no printed name, so `full_name` must be added to each exported item.
    """
    api = record.fields
    problems = []
    if not _API_FIELDS.issuperset(api):
        problems = [_problem(record, shown_key(key), "unknown field in a Credentials API record")
                    for key in api if key not in _API_FIELDS]
    credential = api["credential"]
    fields = {k: api.get(k) for k in ("username", "full_name", "status", "revocation_reason", "revocation_date",
                                      "expires")}
    uuid = api.get("uuid")
    # The API writes UUIDs with hyphens; the canonical lowercase form maps onto the hex.
    fields["uuid"] = uuid.replace("-", "") if isinstance(uuid, str) and _API_UUID_PATTERN.fullmatch(uuid) else uuid
    kind = credential.get("type")
    if kind in ("course-run", "course_run", "CourseCertificate"):
        fields["credential_type"] = COURSE_CERTIFICATE
        fields["course_id"] = credential.get("course_run_key")
        fields["certificate_type"] = credential.get("mode")
    elif kind in ("program", "ProgramCertificate"):
        fields["credential_type"] = PROGRAM_CERTIFICATE
        fields["program_id"] = _api_program_id(credential.get("program_uuid"), site)
    else:
        problems.append(_problem(record, "credential.type",
                                 f"unknown credential type {_shown(kind)} (course-run or program)"))
    override = api.get("date_override")
    if isinstance(override, dict):  # the API writes {"date": "..."} when an issuer back-dated it
        override = override.get("date")
    issued = override or api.get("issued") or api.get("created")
    if isinstance(issued, str):
        match = _API_DATETIME_PATTERN.fullmatch(issued)
        issued = match.group(1) if match else issued
    fields["issued"] = issued
    attributes = api.get("attributes") or []
    if isinstance(attributes, list):
        fields["attributes"] = [_api_attribute(a) for a in attributes]
    else:
        fields["attributes"] = attributes
    return fields, problems


def _api_attribute(item):
    # The API's attributes are {name, value}; a dotted name carries its namespace.
    if isinstance(item, dict) and "namespace" not in item and isinstance(item.get("name"), str):
        namespace, dot, name = item["name"].partition(".")
        return {"namespace": namespace if dot else "credential", "name": name if dot else namespace,
                "value": item.get("value")}
    return item


def _problem(record: RawRecord, field: str | None, message: str) -> Problem:
    return Problem(record.source.file, record.source.line, field, message)
