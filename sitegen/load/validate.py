"""Checking raw records against DESIGN.md's rules, turning them into Credentials.

Every rule reports one Problem naming file, line and field, and all problems are
collected so a CI run shows every bad row at once, not one per run.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

from sitegen.errors import Problem
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
from sitegen.layout import is_uuid
from sitegen.load.records import RawRecord

_API_UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_API_DATETIME_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?$")
MAX_NAME_LENGTH = 300

RECORD_FIELDS = (
    "uuid", "username", "full_name", "credential_type", "course_id", "program_id",
    "certificate_type", "status", "issued", "expires", "revocation_reason", "attributes",
)
# Fields of the Credentials API's public UserCredential shape that carry nothing to check.
API_PASSTHROUGH_FIELDS = ("download_url", "certificate_url", "modified", "id", "user")

# Characters that change how surrounding text is displayed without being visible:
# a name holding them could make a page read differently from what it says.
_FORBIDDEN_CHARACTERS = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufff9-\ufffb]"
)


def duplicate_problems(credentials: Iterable[Credential]) -> list[Problem]:
    """A UUID used twice, anywhere: both places are named."""
    first_seen: dict[str, Credential] = {}
    problems = []
    for credential in credentials:
        earlier = first_seen.setdefault(credential.uuid, credential)
        if earlier is not credential:
            where = credential.source
            problems.append(Problem(where.file, where.line, "uuid",
                                    f"duplicate: {credential.uuid} is also at {earlier.source}"))
    return problems


def validate_record(record: RawRecord, site: Site) -> tuple[Credential | None, list[Problem]]:
    fields = record.fields
    if isinstance(fields.get("credential"), dict):
        fields, problems = _from_api_shape(record, site)
    else:
        problems = [_problem(record, key, "unknown field (known: " + ", ".join(RECORD_FIELDS) + ")")
                    for key in fields if key not in RECORD_FIELDS]
    checks = _Checks(record, fields, problems)
    uuid = checks.uuid()
    username = checks.text("username")
    full_name = checks.full_name()
    credential_type = checks.choice("credential_type", CREDENTIAL_TYPES)
    course_id, program_id, mode = checks.subject(credential_type, site)
    status = checks.choice("status", RECORD_STATUSES)
    reason = checks.revocation_reason(status)
    issued = checks.date("issued", required=True)
    expires = checks.date("expires", required=False)
    if issued and expires and expires < issued:
        checks.problem("expires", f"{expires.isoformat()} is before issued {issued.isoformat()}")
    attributes = checks.attributes()
    if problems:
        return None, problems
    return Credential(
        uuid=uuid, username=username, full_name=full_name, credential_type=credential_type,
        status=status, issued=issued, course_id=course_id, program_id=program_id,
        certificate_type=mode, expires=expires, revocation_reason=reason,
        attributes=attributes, source=record.source,
    ), []


class _Checks:
    """The rule for each field; each records its problem and returns a clean value or None."""

    def __init__(self, record: RawRecord, fields: dict, problems: list[Problem]):
        self.record, self.fields, self.problems = record, fields, problems

    def problem(self, field: str, message: str) -> None:
        self.problems.append(_problem(self.record, field, message))

    def present(self, field: str) -> bool:
        value = self.fields.get(field)
        return value is not None and value != ""

    def text(self, field: str, required: bool = True) -> str | None:
        value = self.fields.get(field)
        if value is None or value == "":
            if required:
                self.problem(field, "is required")
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.problem(field, "must be text")
            return None
        return str(value).strip()

    def uuid(self) -> str | None:
        value = self.fields.get("uuid")
        if value is None or value == "":
            self.problem("uuid", "is required")
            return None
        if not is_uuid(value):
            shown = repr(value)[:60]
            self.problem("uuid", f"must be 32 lowercase hex digits (a uuid4 hex), got {shown}")
            return None
        return value

    def full_name(self) -> str | None:
        name = self.text("full_name")
        if name is None:
            return None
        bad = _FORBIDDEN_CHARACTERS.search(name)
        if bad:
            self.problem("full_name", f"contains the invisible control character U+{ord(bad.group()):04X}")
            return None
        if len(name) > MAX_NAME_LENGTH:
            self.problem("full_name", f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})")
            return None
        return name

    def choice(self, field: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(field)
        if value is not None and value not in choices:
            self.problem(field, f"unknown value {value!r} (one of: {', '.join(choices)})")
            return None
        return value

    def subject(self, credential_type: str | None, site: Site):
        """course_id + certificate_type for a course, program_id for a program."""
        course_id = self.text("course_id", required=False)
        program_id = self.text("program_id", required=False)
        mode = self.text("certificate_type", required=False)
        if credential_type == COURSE_CERTIFICATE:
            if program_id is not None:
                self.problem("program_id", "must be empty for a course-certificate")
            if course_id is None:
                self.problem("course_id", "is required for a course-certificate")
            elif course_id not in site.courses:
                self.problem("course_id", f"unknown course {course_id!r} (not in site.yml courses)")
            if mode is None:
                self.problem("certificate_type", "is required for a course-certificate (honor, verified or professional)")
            elif mode not in CERTIFICATE_MODES:
                self.problem("certificate_type", f"unknown value {mode!r} (one of: {', '.join(CERTIFICATE_MODES)})")
            elif course_id in site.courses and mode not in site.courses[course_id].modes:
                self.problem("certificate_type", f"{course_id} does not award {mode!r} certificates")
        elif credential_type == PROGRAM_CERTIFICATE:
            if course_id is not None:
                self.problem("course_id", "must be empty for a program-certificate")
            if mode is not None:
                self.problem("certificate_type", "is for course certificates only")
            if program_id is None:
                self.problem("program_id", "is required for a program-certificate")
            elif program_id not in site.programs:
                self.problem("program_id", f"unknown program {program_id!r} (not in site.yml programs)")
        return course_id, program_id, mode

    def revocation_reason(self, status: str | None) -> str | None:
        reason = self.text("revocation_reason", required=False)
        if status == "revoked" and reason is None:
            self.problem("revocation_reason", "is required when status is revoked")
        if status == "awarded" and reason is not None:
            self.problem("revocation_reason", "is only for revoked credentials (status is awarded)")
        return reason

    def date(self, field: str, required: bool) -> dt.date | None:
        value = self.fields.get(field)
        if value is None or value == "":
            if required:
                self.problem(field, "is required (an ISO date like 2026-03-31)")
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str) and _DATE_PATTERN.match(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem(field, f"must be an ISO date like 2026-03-31, got {str(value)[:40]!r}")
        return None

    def attributes(self) -> tuple[Attribute, ...]:
        value = self.fields.get("attributes")
        if value is None or value == "":
            return ()
        if not isinstance(value, list):
            self.problem("attributes", "must be a list of {namespace, name, value}")
            return ()
        result = []
        for index, item in enumerate(value, start=1):
            where = f"attributes[{index}]"
            if not isinstance(item, dict):
                self.problem(where, "must be a mapping with namespace, name and value")
                continue
            unknown = [k for k in item if k not in ("namespace", "name", "value")]
            if unknown:
                self.problem(where, f"unknown key {unknown[0]!r} (known: namespace, name, value)")
                continue
            parts = [item.get(k) for k in ("namespace", "name", "value")]
            if any(p is None or p == "" or isinstance(p, (dict, list)) for p in parts):
                self.problem(where, "needs namespace, name and value, all text")
                continue
            result.append(Attribute(*(str(p) for p in parts)))
        return tuple(result)


def _api_program_id(value, site: Site):
    """The API writes program UUIDs with hyphens; site.yml may key programs either way."""
    if isinstance(value, str) and value not in site.programs and value.replace("-", "") in site.programs:
        return value.replace("-", "")
    return value


def _from_api_shape(record: RawRecord, site: Site) -> tuple[dict, list[Problem]]:
    """Map a Credentials API UserCredential (GET /api/v2/credentials/) onto record fields.

    The API carries no printed name, so `full_name` must be added to each exported item.
    """
    api = record.fields
    problems = []
    known = set(RECORD_FIELDS) | set(API_PASSTHROUGH_FIELDS) | {"credential", "created", "date_override"}
    for key in api:
        if key not in known:
            problems.append(_problem(record, key, "unknown field in a Credentials API record"))
    credential = api["credential"]
    fields = {k: api.get(k) for k in ("username", "full_name", "status", "revocation_reason", "expires")}
    uuid = api.get("uuid")
    # The API writes UUIDs with hyphens; the canonical lowercase form maps onto the hex.
    fields["uuid"] = uuid.replace("-", "") if isinstance(uuid, str) and _API_UUID_PATTERN.match(uuid) else uuid
    kind = credential.get("type")
    if kind in ("course-run", "course_run", "CourseCertificate"):
        fields["credential_type"] = COURSE_CERTIFICATE
        fields["course_id"] = credential.get("course_run_key")
        fields["certificate_type"] = credential.get("mode")
    elif kind in ("program", "ProgramCertificate"):
        fields["credential_type"] = PROGRAM_CERTIFICATE
        fields["program_id"] = _api_program_id(credential.get("program_uuid"), site)
    else:
        problems.append(_problem(record, "credential.type", f"unknown credential type {kind!r} (course-run or program)"))
    override = api.get("date_override")
    if isinstance(override, dict):  # the API writes {"date": "..."} when an issuer back-dated it
        override = override.get("date")
    issued = override or api.get("issued") or api.get("created")
    if isinstance(issued, str):
        match = _API_DATETIME_PATTERN.match(issued.strip())
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
    if isinstance(item, dict) and "namespace" not in item and "name" in item:
        namespace, dot, name = str(item["name"]).partition(".")
        return {"namespace": namespace if dot else "credential", "name": name if dot else namespace,
                "value": item.get("value")}
    return item


def _problem(record: RawRecord, field: str | None, message: str) -> Problem:
    return Problem(record.source.file, record.source.line, field, message)
