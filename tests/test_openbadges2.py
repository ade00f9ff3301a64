"""Open Badges 2.0 hosted verification (sitegen.vc.openbadges2): the files, where they live, what
they never say, and the 1EdTech reference validator reading them over HTTP from 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from ob2.server import serve_folder
from ob2.validator import CONTEXT_PATH, run_validator, write_context
from sitegen.vc.credential import identity_salt
from sitegen.vc.openbadges2 import (
    COURSE,
    PROGRAM,
    Ob2Award,
    Ob2Badge,
    Ob2Issuer,
    Ob2Recipient,
    assertion,
    assertion_path,
    badge_class,
    badge_class_path,
    badge_path,
    is_ob2_document,
    issuer_path,
    issuer_profile,
    ob2_json,
    safe_name,
)

BASE = "https://verify.example.org/"
TODAY = dt.date.today()  # the validator checks expiry against the clock, so dates follow it
EMAIL = "Jane.Doe@example.org"
USERNAME = "jane_doe-42"
PROFILE_URL = "https://lms.example.org/u/{username}"
BADGE_PNG = "ob2-test/badge.png"

# Text as issuers write it, in every script the site prints, and what JSON must escape.
NAMES = [
    "Zoë O'Connor-Smith",
    "王小明 北京大学",
    "محمد بن عبد الله",
    "דוד בן-גוריון",
    "देवनागरी विश्वविद्यालय",
    "มหาวิทยาลัยเชียงใหม่",
    "Санкт-Петербургский университет",
    'Course "Quoted" \\ with a back\\slash',
    "Tab\there, line\nbreak, carriage\rreturn",
    "</script><script>alert(1)</script>",
    "🎓 emoji, ǅ, e\u0301 (combining), \u200f right-to-left mark",
]


def uuid_of(number: int) -> str:
    return f"{number:032x}"


def acme(base: str = BASE, name: str = "Acme University") -> Ob2Issuer:
    return Ob2Issuer("acmex", name, url="https://acme.example/", email="help@acme.example",
                     image_url=base + "assets/site/images/acme.0a1b2c3d.svg", description="Since 1890.")


def course_badge(base: str = BASE, mode: str = "verified") -> Ob2Badge:
    return Ob2Badge("acmex", COURSE, "course-v1:AcmeX+CS101+2026", mode, f"Introduction to Computing ({mode})",
                    "Programs, data and algorithms.", base + BADGE_PNG,
                    criteria_narrative="Passed every graded assignment with at least 70%.",
                    criteria_url="https://acme.example/courses/cs101/")


def program_badge(base: str = BASE, name: str = "Data Science Foundations") -> Ob2Badge:
    return Ob2Badge("betax", PROGRAM, "data-science", None, name, f"{name}: five courses, one capstone.",
                    base + BADGE_PNG, criteria_narrative=f"Earned every certificate of {name}.")


def award(number: int, badge: Ob2Badge, **changes) -> Ob2Award:
    facts = {"recipient": Ob2Recipient(EMAIL), "issued": TODAY - dt.timedelta(days=10),
             "expires": TODAY + dt.timedelta(days=365), **changes}
    return Ob2Award(uuid_of(number), badge, **facts)


def site_documents(base: str, awards: list[Ob2Award], issuers: list[Ob2Issuer]) -> dict[str, dict]:
    """path -> document: everything a site with these awards publishes for Open Badges 2.0."""
    documents = {issuer_path(issuer.key): issuer_profile(issuer, base) for issuer in issuers}
    for one in awards:
        documents[badge_path(one.badge)] = badge_class(one.badge, base)
        documents[assertion_path(one.uuid)] = assertion(one, base)
    return documents


def write_files(root: Path, documents: dict[str, dict]) -> None:
    for path, document in documents.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(ob2_json(document))


def strings_in(value) -> list[str]:
    """Every string a JSON document holds, keys too."""
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings_in(item)]]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


# --- where the files live --------------------------------------------------------------------------

def test_paths_of_the_layout():
    assert issuer_path("acmex") == "ob2/issuers/acmex.json"
    assert badge_class_path(COURSE, "course-v1:AcmeX+CS101+2026", "verified") == \
        "ob2/badges/course/course-v1_3aAcmeX_2bCS101_2b2026/verified.json"
    assert badge_class_path(PROGRAM, "data-science", None) == "ob2/badges/program/data-science.json"
    assert assertion_path(uuid_of(7)) == f"credentials/{uuid_of(7)}/assertion.json"
    # Course and program ids are two namespaces of site.yml: the same id names two badge classes.
    assert badge_class_path(COURSE, "x", "honor") != badge_class_path(PROGRAM, "x", None)


def test_safe_names_are_one_for_one_and_need_no_quoting():
    keys = ["a:b", "a+b", "a_b", "a-b", "a.b", "a__b", "a_3ab", "a_3a_b", "a:3ab", "A:b", "course-v1:X+Y+Z",
            "course-v1_X_Y_Z", "course-v1:X+Y_Z", "ab", "a" * 80 + ":" * 50]
    rng = random.Random(12)  # and many short keys made of the characters that need escaping
    keys += ["a" + "".join(rng.choice("a:+_3b.-") for _ in range(rng.randrange(6))) for _ in range(4000)]
    keys = sorted(set(keys))
    names = [safe_name(key) for key in keys]
    assert len(set(names)) == len(keys)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and quote(name) == name, name


@pytest.mark.parametrize("key", ["", "../etc", "a/b", "a b", ".hidden", "-x", "_x", "é", "a\x00", "a\\b", "a%2e",
                                 None, 12, "a" * 300])
def test_what_is_not_a_key_names_no_file(key):
    with pytest.raises(ValueError):
        issuer_path(key)


@pytest.mark.parametrize("uuid", ["A" * 32, "g" * 32, "0" * 31, "0" * 33, "../" + "0" * 29,
                                  "12345678-1234-1234-1234-123456789012", "0" * 32 + "/", None])
def test_a_uuid_is_never_trusted_as_a_path(uuid):
    with pytest.raises(ValueError):
        assertion_path(uuid)


@pytest.mark.parametrize(("kind", "mode"), [(COURSE, None), (COURSE, "audit"), (COURSE, "Verified"),
                                             (PROGRAM, "verified"), ("cert", None)])
def test_badge_classes_only_of_courses_and_modes_or_programs(kind, mode):
    with pytest.raises(ValueError):
        badge_class_path(kind, "course-v1:AcmeX+CS101+2026", mode)


def test_which_published_files_are_open_badges_2():
    uuid = uuid_of(0xABC)
    assert is_ob2_document(f"credentials/{uuid}/assertion.json")
    assert is_ob2_document("ob2/issuers/acmex.json")
    assert is_ob2_document(badge_class_path(COURSE, "course-v1:AcmeX+CS101+2026", "honor"))
    for key in (f"credentials/{uuid}/credential.json", f"credentials/{uuid}/index.html", "credentials/assertion.json",
                f"credentials/{uuid.upper()}/assertion.json", f"credentials/../{uuid}/assertion.json",
                f"x/credentials/{uuid}/assertion.json", "ob2/issuers/", "api/v1/credentials/" + uuid,
                "ob2/../credentials.json", "ob2/issuers/acmex.json/x.json", "ob2/badges/course/x/audit.json"):
        assert not is_ob2_document(key), key


# --- what the files say ----------------------------------------------------------------------------

def test_issuer_profile():
    assert issuer_profile(acme(), BASE) == {
        "@context": "https://w3id.org/openbadges/v2",
        "id": "https://verify.example.org/ob2/issuers/acmex.json",
        "type": "Issuer",
        "name": "Acme University",
        "url": "https://acme.example/",
        "email": "help@acme.example",
        "description": "Since 1890.",
        "image": "https://verify.example.org/assets/site/images/acme.0a1b2c3d.svg",
        "verification": {"type": "VerificationObject", "startsWith": "https://verify.example.org/credentials/"},
    }
    bare = Ob2Issuer("betax", "Beta Institute", url=BASE, email="help@verify.example.org")
    assert set(issuer_profile(bare, BASE)) == {"@context", "id", "type", "name", "url", "email", "verification"}


def test_badge_class():
    assert badge_class(course_badge(), BASE) == {
        "@context": "https://w3id.org/openbadges/v2",
        "id": "https://verify.example.org/ob2/badges/course/course-v1_3aAcmeX_2bCS101_2b2026/verified.json",
        "type": "BadgeClass",
        "name": "Introduction to Computing (verified)",
        "description": "Programs, data and algorithms.",
        "image": "https://verify.example.org/ob2-test/badge.png",
        "criteria": {"id": "https://acme.example/courses/cs101/",
                     "narrative": "Passed every graded assignment with at least 70%."},
        "issuer": "https://verify.example.org/ob2/issuers/acmex.json",
    }
    assert badge_class(program_badge(), BASE)["criteria"] == {
        "narrative": "Earned every certificate of Data Science Foundations."}


def test_assertion():
    issued, expires = dt.date(2026, 3, 1), dt.date(2028, 2, 29)
    uuid = uuid_of(1)
    url = f"https://verify.example.org/credentials/{uuid}/assertion.json"
    salt = identity_salt(url)
    assert assertion(Ob2Award(uuid, course_badge(), Ob2Recipient(EMAIL), issued, expires), BASE) == {
        "@context": "https://w3id.org/openbadges/v2",
        "id": url,
        "type": "Assertion",
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": salt,
            # The specification's rule: "sha256$" + hex SHA-256 of the identity, then the salt.
            "identity": "sha256$" + hashlib.sha256((EMAIL + salt).encode()).hexdigest(),
        },
        "badge": "https://verify.example.org/ob2/badges/course/course-v1_3aAcmeX_2bCS101_2b2026/verified.json",
        "verification": {"type": "HostedBadge"},
        "issuedOn": "2026-03-01T00:00:00Z",
        "evidence": f"https://verify.example.org/credentials/{uuid}/",
        "expires": "2028-02-29T23:59:59Z",
    }


def test_a_revoked_assertion_stays_whole_and_says_so():
    revoked = award(2, course_badge(), revoked=True, revocation_reason="Issued in error.")
    document = assertion(revoked, BASE)
    assert document["revoked"] is True and document["revocationReason"] == "Issued in error."
    assert {"recipient", "badge", "verification", "issuedOn", "evidence"} <= set(document)
    without_reason = assertion(award(2, course_badge(), revoked=True), BASE)
    assert without_reason["revoked"] is True and "revocationReason" not in without_reason
    assert "revoked" not in assertion(award(2, course_badge()), BASE)
    assert "expires" not in assertion(award(2, course_badge(), expires=None), BASE)


def test_each_credential_has_a_salt_of_its_own():
    first, second = (assertion(award(n, course_badge()), BASE)["recipient"] for n in (1, 2))
    assert first["salt"] != second["salt"] and first["identity"] != second["identity"]
    assert re.fullmatch(r"[0-9a-f]{32}", first["salt"]) and re.fullmatch(r"sha256\$[0-9a-f]{64}", first["identity"])


def test_a_username_is_the_url_of_the_learners_profile():
    recipient = Ob2Recipient.for_username("jöhn doe/1", PROFILE_URL)
    assert (recipient.type, recipient.identity) == ("url", "https://lms.example.org/u/j%C3%B6hn%20doe%2F1")
    with pytest.raises(ValueError):
        Ob2Recipient.for_username(USERNAME, "https://lms.example.org/u/")


def test_text_in_every_script_survives_into_json():
    for number, name in enumerate(NAMES):
        issuer = acme(name=name)
        badge = program_badge(name=name)
        revoked = award(number, badge, revoked=True, revocation_reason=name)
        for document in (issuer_profile(issuer, BASE), badge_class(badge, BASE), assertion(revoked, BASE)):
            data = ob2_json(document)
            assert data.isascii()  # whatever charset a consumer guesses, it reads the same text
            assert json.loads(data) == document
        assert json.loads(ob2_json(badge_class(badge, BASE)))["criteria"]["narrative"] == \
            f"Earned every certificate of {name}."


def test_the_plain_identity_is_in_no_file():
    awards = [award(1, course_badge(), recipient=Ob2Recipient(EMAIL)),
              award(2, program_badge(), recipient=Ob2Recipient.for_username(USERNAME, PROFILE_URL)),
              award(3, course_badge(mode="honor"), revoked=True,
                    recipient=Ob2Recipient(EMAIL))]
    documents = site_documents(BASE, awards, [acme()])
    secrets = {EMAIL, EMAIL.lower(), USERNAME, quote(USERNAME), PROFILE_URL.format(username=USERNAME)}
    for path, document in documents.items():
        data = ob2_json(document)
        text = data.decode("ascii")
        for secret in secrets:
            assert secret.encode() not in data, path
            assert secret.lower() not in text.lower(), path
            assert not any(secret.lower() in string.lower() for string in strings_in(json.loads(data))), path
    for one in awards:  # nor in what a log or a traceback would show
        assert USERNAME not in repr(one) and EMAIL not in repr(one)


def sample_digests() -> dict[str, str]:
    """path -> SHA-256 of the bytes, for a few files of every kind (run in other processes too)."""
    awards = [award(1, course_badge(), issued=dt.date(2026, 1, 5), expires=dt.date(2027, 1, 5)),
              award(2, program_badge(name=NAMES[1]), issued=dt.date(2026, 1, 5), expires=None, revoked=True,
                    revocation_reason=NAMES[7])]
    documents = site_documents(BASE, awards, [acme()])
    return {path: hashlib.sha256(ob2_json(document)).hexdigest() for path, document in documents.items()}


def test_the_bytes_are_the_same_each_build():
    digests = sample_digests()
    assert sample_digests() == digests
    # And in other processes, with other hash seeds: nothing may hang on the order of a set.
    script = "import json, test_openbadges2 as t; print(json.dumps(t.sample_digests()))"
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent, env={**os.environ, "PYTHONHASHSEED": seed})
        assert json.loads(done.stdout) == digests
    assert ob2_json({"name": "é\"\\", "n": [1, True]}) == \
        b'{\n  "name": "\\u00e9\\"\\\\",\n  "n": [\n    1,\n    true\n  ]\n}\n'


@pytest.mark.parametrize("make", [
    lambda: Ob2Issuer("acmex", "Acme", url="https://acme.example/", email="no email"),
    lambda: Ob2Issuer("acmex", "Acme", url="acme.example", email="help@acme.example"),
    lambda: Ob2Issuer("acme x", "Acme", url="https://acme.example/", email="help@acme.example"),
    lambda: Ob2Issuer("acmex", " ", url="https://acme.example/", email="help@acme.example"),
    lambda: Ob2Badge("acmex", COURSE, "c:1", "verified", "N", "D", BASE + "logo.jpg", criteria_narrative="C"),
    lambda: Ob2Badge("acmex", COURSE, "c:1", "verified", "N", "D", BASE + "badge.png"),
    lambda: Ob2Badge("acmex", COURSE, "c:1", "verified", "N", "", BASE + "badge.png", criteria_narrative="C"),
    lambda: Ob2Badge("acmex", COURSE, "c:1", "verified", "N\ud800", "D", BASE + "b.png", criteria_narrative="C"),
    lambda: Ob2Badge("acmex", COURSE, "c:1", "verified", "N", "D", BASE + "b.png", criteria_url="course-v1:c:1"),
    lambda: Ob2Recipient("jane"),
    lambda: Ob2Recipient(EMAIL, "emailAddress"),
    lambda: Ob2Recipient(USERNAME, "url"),
    lambda: award(1, course_badge(), expires=TODAY - dt.timedelta(days=11)),
    lambda: award(1, course_badge(), revocation_reason="Not revoked"),
    lambda: Ob2Award("../../etc", course_badge(), Ob2Recipient(EMAIL), TODAY),
    lambda: assertion(award(1, course_badge()), "https://verify.example.org"),
    lambda: assertion(award(1, course_badge()), "file:///srv/site/"),
])
def test_refuses_what_consumers_could_not_read(make):
    with pytest.raises(ValueError) as error:
        make()
    assert EMAIL not in str(error.value)


# --- the 1EdTech validator, over HTTP --------------------------------------------------------------

def png() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 60, 120)).save(image, "PNG")
    return image.getvalue()


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> dict:
    """The validator's report on each case, the site served from a temporary folder on 127.0.0.1."""
    root = tmp_path_factory.mktemp("ob2-site")
    with serve_folder(root) as (base, requested):
        write_context(root)
        (root / BADGE_PNG).parent.mkdir(parents=True)
        (root / BADGE_PNG).write_bytes(png())
        course, program = course_badge(base), program_badge(base, name=" · ".join(NAMES))
        betax = Ob2Issuer("betax", " / ".join(NAMES[1:4]), url=base, email="help@beta.example")
        awards = {
            "valid": award(1, course),
            "username": award(2, program, expires=None, recipient=Ob2Recipient.for_username(USERNAME, PROFILE_URL)),
            "expired": award(3, course, issued=TODAY - dt.timedelta(days=400), expires=TODAY - dt.timedelta(days=2)),
            "revoked": award(4, course, revoked=True, revocation_reason=NAMES[7]),
        }
        documents = site_documents(base, list(awards.values()), [acme(base), betax])
        # Someone else's file on the same host, claiming to be an assertion of this issuer.
        forged = assertion(award(5, course), base) | {"id": base + "elsewhere/forged.json"}
        documents["elsewhere/forged.json"] = forged
        write_files(root, documents)
        url = {label: base + assertion_path(one.uuid) for label, one in awards.items()}
        jobs = {
            **{label: {"input": url[label]} for label in awards},
            "forged": {"input": base + "elsewhere/forged.json"},
            "recipient": {"input": url["valid"], "recipient": {"email": EMAIL}},
            "other-recipient": {"input": url["valid"], "recipient": {"email": "john.doe@example.org"}},
            "username-recipient": {"input": url["username"],
                                   "recipient": {"url": PROFILE_URL.format(username=USERNAME)}},
        }
        answer = run_validator(base, list(jobs.values()))
        return {"base": base, "requested": list(requested), "refused": answer["refused"],
                **dict(zip(jobs, answer["results"]))}


def node(result: dict, node_id: str) -> dict:
    return next(n for n in result["graph"] if n.get("id") == node_id)


def test_nothing_is_fetched_from_the_internet(validated):
    assert validated["refused"] == []
    assert "/" + CONTEXT_PATH in validated["requested"]  # the context came from the local server


def test_a_valid_assertion_passes_the_validator(validated):
    result = validated["valid"]
    assert result["report"]["openBadgesVersion"] == "2.0"
    assert result["report"]["messages"] == []
    assert (result["report"]["valid"], result["report"]["errorCount"], result["report"]["warningCount"]) == \
        (True, 0, 0)
    base = validated["base"]
    assertion_url = base + assertion_path(uuid_of(1))
    assert result["report"]["validationSubject"] == assertion_url
    # The validator fetched the assertion at its id (hosted verification), then its badge class and issuer.
    assert node(result, assertion_url)["verification"] == {"type": "HostedBadge"}
    assert node(result, base + badge_path(course_badge(base)))["type"] == "BadgeClass"
    assert node(result, base + issuer_path("acmex"))["type"] == "Issuer"
    assert "/" + BADGE_PNG in validated["requested"]


def test_text_in_every_script_reaches_the_validator_intact(validated):
    result = validated["username"]
    assert result["report"]["valid"] and result["report"]["messages"] == []
    base = validated["base"]
    assert node(result, base + badge_path(program_badge(base)))["name"] == " · ".join(NAMES)
    assert node(result, base + issuer_path("betax"))["name"] == " / ".join(NAMES[1:4])


def test_the_validator_matches_the_recipient_by_the_hash(validated):
    assert validated["recipient"]["report"]["valid"] and validated["recipient"]["report"]["messages"] == []
    assert validated["recipient"]["report"]["recipientProfile"] == {"email": EMAIL}
    assert validated["username-recipient"]["report"]["recipientProfile"] == {
        "url": PROFILE_URL.format(username=USERNAME)}
    other = validated["other-recipient"]["report"]
    assert not other["valid"]
    assert [m["name"] for m in other["messages"]] == ["VERIFY_RECIPIENT_IDENTIFIER"]


def test_the_validator_reports_the_expired_one_expired(validated):
    report = validated["expired"]["report"]
    assert (report["valid"], report["errorCount"]) == (False, 1)
    [message] = report["messages"]
    expires = (TODAY - dt.timedelta(days=2)).isoformat()
    assert message["name"] == "ASSERTION_TIMESTAMP_CHECKS" and f"expired on {expires}T23:59:59Z" in message["result"]


def test_the_validator_reads_the_revoked_one_as_revoked(validated):
    result = validated["revoked"]
    revoked = node(result, validated["base"] + assertion_path(uuid_of(4)))
    assert revoked["revoked"] is True and revoked["revocationReason"] == NAMES[7]
    # The validator (1.1.2) reports nothing more: it does not check `revoked` in a hosted assertion,
    # and calls it valid (1EdTech/openbadges-validator-core#236); a consumer reads `revoked` itself.
    assert result["report"]["messages"] == []


def test_an_assertion_outside_the_issuers_scope_fails(validated):
    report = validated["forged"]["report"]
    assert not report["valid"]
    assert any(m["name"] == "HOSTED_ID_IN_VERIFICATION_SCOPE" and "does not start with any permitted values"
               in m["result"] for m in report["messages"]), report["messages"]
