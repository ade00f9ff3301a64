"""Plain data passed between the stages: the site's settings and the credentials.

Nothing here reads files or renders anything; every stage takes these and returns
new plain data, so each stage can be tested alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

COURSE_CERTIFICATE = "course-certificate"
PROGRAM_CERTIFICATE = "program-certificate"
CREDENTIAL_TYPES = (COURSE_CERTIFICATE, PROGRAM_CERTIFICATE)
CERTIFICATE_MODES = ("honor", "verified", "professional")
RECORD_STATUSES = ("awarded", "revoked")


@dataclass(frozen=True)
class Organization:
    key: str
    name: str
    short_name: str
    logo: str | None = None  # path relative to the project folder
    linkedin_id: str | None = None
    website: str | None = None  # an http(s) URL: the organization's name links to it


@dataclass(frozen=True)
class Signatory:
    key: str
    name: str
    title: str
    organization: str  # display name of the signatory's organisation
    signature_image: str | None = None  # path relative to the project folder


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    org: str  # key into Site.organizations
    modes: tuple[str, ...] = CERTIFICATE_MODES
    signatories: tuple[str, ...] = ()  # keys into Site.signatories
    description: str = ""


@dataclass(frozen=True)
class Program:
    id: str
    title: str
    org: str
    courses: tuple[str, ...] = ()
    signatories: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class SigningSettings:
    """site.yml's `signing`, with the environment applied (`load_site` does both)."""

    key: str | None = None  # fingerprint: 40 upper-case hex digits
    gnupghome: str | None = None
    algorithm: str = "ed25519"  # or "rsa3072", used by `sitegen keys init`
    # Which setting gave `key` and `gnupghome`, as error messages name it.
    key_source: str = "signing.key in site.yml"
    gnupghome_source: str = "signing.gnupghome in site.yml"
    # The Ed25519 key of the verifiable credentials: a file (default: beside the OpenPGP key,
    # in the GnuPG home), and the public keys of retired ones, still listed in the DID document.
    vc_key_file: str | None = None
    vc_key_file_source: str = "signing.vc_key_file in site.yml"
    vc_previous_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class CachePolicy:
    pages: str = "public, max-age=300, must-revalidate"
    assets: str = "public, max-age=31536000, immutable"
    documents: str = "public, max-age=3600"


@dataclass(frozen=True)
class PublishSettings:
    """site.yml's `publish`, with the environment applied (`load_site` does both)."""

    bucket: str | None = None
    prefix: str = ""  # "" or a plain folder path ending with "/"
    region: str | None = None
    endpoint_url: str | None = None
    cdn_distribution_id: str | None = None
    max_deletes: int = 100
    unused_grace_hours: int = 72  # sharded: how long an unused share card or asset stays
    upload_processes: int = 0  # a large batch's uploads: 0 one process per core, 1 this process alone
    cache: CachePolicy = field(default_factory=CachePolicy)


@dataclass(frozen=True)
class Site:
    """Everything site.yml says, resolved and validated."""

    root: Path
    name: str
    base_url: str  # always ends with "/"
    platform_name: str
    theme: str
    language: str
    organizations: dict[str, Organization]
    courses: dict[str, Course]
    programs: dict[str, Program]
    signatories: dict[str, Signatory]
    signing: SigningSettings
    publish: PublishSettings
    contact_email: str | None = None
    index_certificate_pages: bool = False  # False: certificate pages say noindex
    content: str = "content"  # folder of the Markdown pages, relative to the project
    # The learning platform's profile URL of a learner, "{username}" where the username goes:
    # Open Badges 2.0 names a recipient by URL, email or phone, never by username.
    learner_profile_url: str | None = None
    # A project may declare several sites (`sites:` in site.yml). `key` names this one
    # (`--site-name`; "" when the project is one site), and `served` holds the keys of the
    # organizations whose credentials it publishes. `organizations`, `courses` and
    # `programs` stay the whole catalogue: records are checked against all of it.
    key: str = ""
    served: tuple[str, ...] = ()  # sorted: it goes into digests

    @property
    def theme_dir(self) -> Path:
        return self.root / "themes" / self.theme

    def own_part(self) -> Site:
        """This site as its pages see it: its own organizations, their courses and programs
        (and the courses those programs name) and their signatories; nothing of another
        site's, not even in a footer."""
        programs = {k: p for k, p in self.programs.items() if p.org in self.served}
        wanted_courses = {c for p in programs.values() for c in p.courses}
        courses = {k: c for k, c in self.courses.items() if c.org in self.served or k in wanted_courses}
        signing = {s for subject in (*courses.values(), *programs.values()) for s in subject.signatories}
        return dataclasses.replace(
            self,
            organizations={k: o for k, o in self.organizations.items() if k in self.served},
            courses=courses,
            programs=programs,
            signatories={k: s for k, s in self.signatories.items() if k in signing},
        )

    def owns(self, credential: Credential) -> bool:
        """Whether the credential is published by this site (by its issuing organization)."""
        return self.subject_of(credential).org in self.served

    def subject_of(self, credential: Credential) -> Course | Program:
        """The course or program a (validated) credential is for."""
        if credential.is_course:
            return self.courses[credential.course_id]
        return self.programs[credential.program_id]


# Credentials are NamedTuples, not dataclasses: a site holds hundreds of thousands of
# them, and a tuple is built and unpickled several times faster (the no-op rebuild of
# 100k credentials loads them all from the record cache).


class Attribute(NamedTuple):
    namespace: str
    name: str
    value: str


class SourceLocation(NamedTuple):
    file: str  # path relative to the project folder, as shown to the user
    line: int | None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


class Credential(NamedTuple):
    """One validated credential record (field names follow the Credentials API)."""

    uuid: str
    username: str
    full_name: str
    credential_type: str
    status: str
    issued: dt.date
    course_id: str | None = None
    program_id: str | None = None
    certificate_type: str | None = None
    expires: dt.date | None = None
    revocation_reason: str | None = None
    attributes: tuple[Attribute, ...] = ()
    revocation_date: dt.date | None = None  # when it was revoked, when the record says
    source: SourceLocation | None = None  # where the record is; not part of what it says

    @property
    def is_course(self) -> bool:
        return self.credential_type == COURSE_CERTIFICATE

    @property
    def issued_at(self) -> dt.datetime:
        """The moment its files are dated (signatures, the PDF, the file it embeds)."""
        return issue_time(self.issued)

    @property
    def content(self) -> tuple:
        """What the record says, without where it says it."""
        return self[:-1]

    def attribute(self, namespace: str, name: str) -> str | None:
        for attr in self.attributes:
            if attr.namespace == namespace and attr.name == name:
                return attr.value
        return None


def issue_time(issued: dt.date) -> dt.datetime:
    """The issue date at noon UTC: rebuilds give the same bytes (never the clock), and the
    date reads the same in every time zone from UTC-11 to UTC+11."""
    return dt.datetime.combine(issued, dt.time(12, 0), tzinfo=dt.UTC)
