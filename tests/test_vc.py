"""Open Badges 3.0 credentials from a static build (sitegen.vc): what issuers publish, what
wallets and employers check, and the Digital Credentials Consortium's verifier agreeing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import REPO
from sitegen.vc import (
    EXPIRED,
    INVALID,
    REVOKED,
    UNKNOWN,
    VALID,
    Achievement,
    BadgeFacts,
    CanonicalizationError,
    CredentialIssuer,
    IssuerProfile,
    build_credential,
    build_fetcher,
    canonize,
    credential_json,
    decode_status_list,
    did_document,
    did_document_path,
    did_document_url,
    did_for_base_url,
    encode_status_list,
    identity_hash,
    is_set,
    key_from_environment,
    load_document,
    load_key,
    new_key,
    parse_key,
    public_key_multibase,
    save_key,
    secret_key_multibase,
    verify_credential,
)
from sitegen.vc.loader import CONTEXTS, bundled_sources
from sitegen.vc.multibase import decode_base58btc, decode_base64url

VERIFIER = REPO / "tests/vc/verify.mjs"
VERIFIER_PACKAGE = REPO / "node_modules/@digitalcredentials/verifier-core/package.json"

BASE = "https://verify.example.org/"
DID = "did:web:verify.example.org"
PROFILE = IssuerProfile(DID, "Example University", BASE)
STATUS_LIST = f"{BASE}vc/status/1.json"
TODAY = dt.date.today()  # verifier-core checks expiry against the clock, so dates follow it
COURSE = Achievement(
    id=f"{BASE}vc/achievements/course-v1:ExampleX+CS101+2024/verified",
    name="Verified Certificate: Introduction to \"Computer\" Science",
    description="Programs, data and algorithms,\nfrom the first line of code to a working project.",
    criteria_narrative="Passed every graded assignment with at least 70%.",
    image_url=f"{BASE}assets/badge-cs101.png",
    achievement_type="CertificateOfCompletion",
)
PROGRAM = Achievement(
    id=f"{BASE}vc/achievements/program/data-science/professional",
    name="Professional Certificate in Data Science",
    description="Five courses, one capstone.",
    criteria_url=f"{BASE}programs/data-science/",
)

# Names as learners write them, and the characters canonical N-Quads must escape or keep as they are.
NAMES = [
    "Zoë Åkerlund", "François Lefèvre", "Łukasz Wiśniewski", "Ngọc Trâm Nguyễn", "Иван Петрович Сидоров",
    "Δημήτρης Παπαδόπουλος", "王小明", "山田はなこ", "김철수", "محمد بن سلمان العلي", "דוד בן-גוריון",
    "अनुष्का शर्मा", "สมชาย ใจดี", 'Dwayne "The Rock" Johnson', "O'Brien \\ Back\\\\slash", "Line\nBreak",
    "Tab\tSeparated", "Carriage\rReturn", "😀 Emoji 👩‍💻 🇺🇦", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ＦＵＬＬＷＩＤＴＨ！", "", "  spaced  ",
    "e\u0301 decomposed vs \u00e9 composed", "\u200fRTL mark\u2028line separator\x85next line",
    "Ω" * 3000 + " very long", '"\\"\\n"',
]


def facts(number: int, name: str = "Zoë Åkerlund", **changes) -> BadgeFacts:
    uuid = f"{number:032x}"
    base = BadgeFacts(
        credential_url=f"{BASE}credentials/{uuid}/credential.json",
        page_url=f"{BASE}credentials/{uuid}/",
        achievement=COURSE,
        learner_name=name,
        identity=f"learner{number}@example.org",
        identity_type="emailAddress",
        issued=TODAY - dt.timedelta(days=30),
        expires=None,
        status_list_url=STATUS_LIST,
        status_index=number,
    )
    return dataclasses.replace(base, **changes)


def by_text(document: dict) -> str:
    return credential_json(document).decode("utf-8")


# --- the bundled contexts: what every signature covers, never fetched ------------------------

def test_the_bundled_contexts_are_the_copies_their_sources_record():
    for url, source in bundled_sources().items():
        data = (CONTEXTS / source["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == source["sha256"], f"{source['file']} differs from {url}"
        assert "@context" in json.loads(data)
    assert set(bundled_sources()) >= {"https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"}


def test_a_build_fetches_no_context_it_does_not_bundle():
    with pytest.raises(Exception, match="not a context bundled with sitegen"):
        load_document("https://example.org/context.json")
    document = build_credential(PROFILE, facts(1))
    document["@context"].append("https://example.org/context.json")
    with pytest.raises(CanonicalizationError, match="not a context bundled"):
        canonize(document)


@pytest.mark.parametrize("change", [
    lambda d: d["credentialSubject"].update(nickname="Zo"),  # a term no context defines
    lambda d: d["evidence"].append({"id": "relative/page.html"}),  # an IRI toRDF would drop
])
def test_what_a_signature_could_not_cover_is_refused(change):
    # A verifier in safe mode refuses such a credential; so a signer must not make one.
    document = build_credential(PROFILE, facts(1))
    change(document)
    with pytest.raises(CanonicalizationError):
        canonize(document)


# --- keys ------------------------------------------------------------------------------------

def test_keys_are_written_as_the_multikey_spec_writes_them():
    # The key pair of the W3C vc-di-eddsa test vectors.
    key = parse_key("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
    assert public_key_multibase(key.public_key()) == "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    assert secret_key_multibase(key) == "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
    assert decode_base58btc(public_key_multibase(new_key().public_key()))[:2] == b"\xed\x01"


def test_a_key_file_is_private_and_never_overwritten(tmp_path):
    key = new_key()
    path = tmp_path / "vc-key"
    save_key(key, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert public_key_multibase(load_key(path).public_key()) == public_key_multibase(key.public_key())
    with pytest.raises(FileExistsError):
        save_key(new_key(), path)  # the old key signs credentials already published
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_key(path)


def test_ci_passes_the_key_in_an_environment_variable():
    key = new_key()
    multibase = secret_key_multibase(key)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    for text in (multibase, f"  {multibase}\n", pem):
        loaded = key_from_environment({"SITEGEN_VC_KEY": text})
        assert public_key_multibase(loaded.public_key()) == public_key_multibase(key.public_key())
    assert key_from_environment({}) is None
    with pytest.raises(ValueError, match="SITEGEN_VC_KEY"):
        key_from_environment({"SITEGEN_VC_KEY": public_key_multibase(key.public_key())})


# --- did:web ---------------------------------------------------------------------------------

@pytest.mark.parametrize("base_url, did, document_url, path_in_build", [
    ("https://verify.example.org/", "did:web:verify.example.org",
     "https://verify.example.org/.well-known/did.json", ".well-known/did.json"),
    ("https://Verify.Example.org", "did:web:verify.example.org",
     "https://verify.example.org/.well-known/did.json", ".well-known/did.json"),
    ("https://example.org/certs/", "did:web:example.org:certs",
     "https://example.org/certs/did.json", "did.json"),
    ("https://example.org/a/b", "did:web:example.org:a:b", "https://example.org/a/b/did.json", "did.json"),
    ("https://example.org:8443/", "did:web:example.org%3A8443",
     "https://example.org:8443/.well-known/did.json", ".well-known/did.json"),
])
def test_a_sites_did_resolves_to_the_did_document_it_publishes(base_url, did, document_url, path_in_build):
    assert did_for_base_url(base_url) == did
    assert did_document_url(did) == document_url
    assert did_document_path(base_url) == path_in_build
    assert document_url == base_url.lower().rstrip("/") + "/" + path_in_build  # inside the published site


def test_after_a_rotation_the_did_document_still_lists_the_old_key():
    new, old = new_key(), new_key()
    document = did_document(DID, [new.public_key(), old.public_key()])
    ids = [f"{DID}#{public_key_multibase(k.public_key())}" for k in (new, old)]
    assert [m["id"] for m in document["verificationMethod"]] == ids
    assert document["assertionMethod"] == ids
    assert all(m["type"] == "Multikey" and m["controller"] == DID for m in document["verificationMethod"])
    assert canonize(document)  # every term of it is defined by the contexts it names


# --- the credential ----------------------------------------------------------------------------

def test_the_credential_says_what_the_certificate_says():
    issued, expires = dt.date(2024, 5, 1), dt.date(2027, 4, 30)
    credential = CredentialIssuer(PROFILE, new_key()).issue(facts(7, "王小明", issued=issued, expires=expires))
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert credential["id"] == f"{BASE}credentials/{7:032x}/credential.json"
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"] == {"id": DID, "type": ["Profile"], "name": "Example University", "url": BASE}
    assert (credential["validFrom"], credential["validUntil"]) == ("2024-05-01T00:00:00Z", "2027-04-30T23:59:59Z")
    assert credential["name"] == COURSE.name
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and subject["name"] == "王小明"
    achievement = subject["achievement"]
    assert (achievement["id"], achievement["name"], achievement["description"]) == (
        COURSE.id, COURSE.name, COURSE.description)
    assert achievement["criteria"] == {"narrative": COURSE.criteria_narrative}
    assert achievement["image"] == {"id": COURSE.image_url, "type": "Image"}
    assert credential["evidence"] == [{"id": f"{BASE}credentials/{7:032x}/", "type": ["Evidence"]}]
    assert credential["credentialStatus"] == {
        "id": f"{STATUS_LIST}#7", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "7", "statusListCredential": STATUS_LIST}
    assert credential["proof"]["created"] == "2024-05-01T00:00:00Z"
    assert "validUntil" not in CredentialIssuer(PROFILE, new_key()).issue(facts(8))


def test_the_learner_is_named_by_a_salted_hash_never_in_plain_text():
    issuer = CredentialIssuer(PROFILE, new_key())
    first = issuer.issue(facts(1, identity="jane.doe@example.org"))
    second = issuer.issue(facts(2, identity="jane.doe@example.org", achievement=PROGRAM))
    for credential in (first, second):
        assert "jane.doe" not in by_text(credential)
        [identity] = credential["credentialSubject"]["identifier"]
        assert identity["type"] == "IdentityObject" and identity["hashed"] is True
        assert identity["identityType"] == "emailAddress"
        # What a wallet holder proves: their email, with the published salt, gives the hash.
        assert identity["identityHash"] == identity_hash("jane.doe@example.org", identity["salt"])
        assert identity["identityHash"] == "sha256$" + hashlib.sha256(
            ("jane.doe@example.org" + identity["salt"]).encode()).hexdigest()
    # Two credentials of one learner cannot be linked by their hashes.
    hashes = {c["credentialSubject"]["identifier"][0]["identityHash"] for c in (first, second)}
    assert len(hashes) == 2


def test_a_rebuild_gives_the_same_bytes():
    key = new_key()
    one = credential_json(CredentialIssuer(PROFILE, key).issue(facts(3, "Ngọc Trâm")))
    two = credential_json(CredentialIssuer(PROFILE, key).issue(facts(3, "Ngọc Trâm")))
    assert one == two
    assert "Ngọc Trâm".encode() in one  # the name as itself, not \u escapes


@pytest.mark.parametrize("field", ["learner_name", "identity"])
def test_text_no_canonical_form_agrees_on_is_refused(field):
    # pyld and RDFC-1.0 write U+0008 differently; a signature over it would fail in some verifiers.
    with pytest.raises(ValueError, match="U\\+0008"):
        facts(1, **{field: "back\bspace"})


# --- the fast canonical form is the full one ---------------------------------------------------

def tricky_facts() -> list[BadgeFacts]:
    cases = []
    for number, name in enumerate(NAMES, start=100):
        cases.append(facts(number, name))
        cases.append(facts(number + 1000, name, achievement=PROGRAM, identity_type="userName", identity=name,
                           expires=TODAY + dt.timedelta(days=number)))
    return cases


def test_the_fast_canonical_form_equals_pyld_full_canonicalisation():
    issuer = CredentialIssuer(PROFILE, new_key())
    cases = tricky_facts()
    for case in cases:
        assert issuer.canonical_form(case) == canonize(build_credential(PROFILE, case)), case.learner_name
    assert (issuer.fast, issuer.full) == (len(cases), 0)  # every one took the fast way


def test_a_value_out_of_the_ordinary_is_canonicalised_in_full_and_still_verifies(tmp_path):
    key = new_key()
    issuer = CredentialIssuer(PROFILE, key)
    unusual = facts(5, page_url=f"{BASE}credentials/été/")  # an IRI with non-ASCII characters
    credential = issuer.issue(unusual)
    assert (issuer.fast, issuer.full) == (0, 1)
    assert issuer.canonical_form(unusual) == canonize(build_credential(PROFILE, unusual))
    site = write_site(tmp_path, key, [], {"unusual": credential})
    assert verify_credential(site.read("unusual"), site.fetch).status == VALID


# --- the status list ---------------------------------------------------------------------------

def test_the_status_list_sets_exactly_the_revoked_bits():
    encoded = encode_status_list([0, 7, 131_071])
    assert encoded.startswith("u")
    bits = decode_status_list(encoded)
    assert len(bits) * 8 == 131_072  # herd privacy: the spec's minimum
    assert bits[0] == 0b1000_0001 and bits[-1] == 0b0000_0001  # index 0 is the first, left-most bit
    assert [i for i in range(131_072) if is_set(bits, i)] == [0, 7, 131_071]
    assert encode_status_list([7, 0, 131_071]) == encoded  # the same revocations, the same bytes
    assert gzip.decompress(decode_base64url(encoded)) == bits  # GZIP, then multibase base64url
    assert decode_base64url(encoded)[4:8] == bytes(4)  # no timestamp inside: tomorrow's build, the same bytes


@pytest.mark.parametrize("revoked, size", [([131_072], 131_072), ([], 1024), ([-1], 131_072)])
def test_a_status_list_too_small_or_an_index_outside_it_is_refused(revoked, size):
    with pytest.raises(ValueError):
        encode_status_list(revoked, size)


# --- a tiny published site -----------------------------------------------------------------------

@dataclass
class Site:
    root: Path
    files: dict[str, Path]

    def read(self, label: str) -> bytes:
        return self.files[label].read_bytes()

    @property
    def fetch(self):
        return build_fetcher(BASE, self.root)


def write_site(root: Path, key, older_keys, credentials: dict[str, dict], revoked=()) -> Site:
    """What a build publishes: the DID document, one status list, the credentials."""
    issuer = CredentialIssuer(PROFILE, key)
    publish(root, did_document_path(BASE), did_document(DID, [key.public_key(), *older_keys]))
    publish(root, "vc/status/1.json", issuer.status_list(STATUS_LIST, revoked, f"{TODAY}T00:00:00Z"))
    files = {}
    for label, credential in credentials.items():
        path = root / "credentials" / label / "credential.json"
        publish(root, path.relative_to(root).as_posix(), credential)
        files[label] = path
    return Site(root, files)


def publish(root: Path, path: str, document: dict) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(credential_json(document))


def tampered(credential: dict) -> dict:
    changed = json.loads(json.dumps(credential))
    changed["credentialSubject"]["name"] = "Mallory"
    return changed


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    old_key, key = new_key(), new_key()
    issuer = CredentialIssuer(PROFILE, key)
    fresh = issuer.issue(facts(1, expires=TODAY + dt.timedelta(days=365)))
    credentials = {
        "fresh": fresh,
        "revoked": issuer.issue(facts(2)),
        "expired": issuer.issue(facts(3, issued=TODAY - dt.timedelta(days=400), expires=TODAY - dt.timedelta(days=2))),
        "not-yet-valid": issuer.issue(facts(4, issued=TODAY + dt.timedelta(days=30))),
        "old-key": CredentialIssuer(PROFILE, old_key).issue(facts(5, "Иван Петрович Сидоров")),
        "tampered": tampered(fresh),
        "program": issuer.issue(facts(6, "김철수", achievement=PROGRAM)),
        "foreign-key": CredentialIssuer(PROFILE, new_key()).issue(facts(7)),
    }
    for case in tricky_facts():
        credentials[f"name-{case.status_index}"] = issuer.issue(case)
    assert issuer.full == 0
    return write_site(tmp_path_factory.mktemp("vc-site"), key, [old_key.public_key()], credentials, revoked=[2])


# --- sitegen verify's answers ----------------------------------------------------------------------

@pytest.mark.parametrize("label, status, reason", [
    ("fresh", VALID, "signed by its issuer"),
    ("program", VALID, "signed by its issuer"),
    ("old-key", VALID, "signed by its issuer"),  # signed before the rotation
    ("revoked", REVOKED, "revoked"),
    ("expired", EXPIRED, "expired at"),
    ("not-yet-valid", EXPIRED, "not valid before"),
    ("tampered", INVALID, "signature does not match"),
    ("foreign-key", INVALID, "does not list the key"),
])
def test_sitegen_verify_tells_genuine_from_revoked_expired_and_forged(site, label, status, reason):
    verdict = verify_credential(site.read(label), site.fetch)
    assert (verdict.status, verdict.credential_id, verdict.issuer) == (
        status, json.loads(site.read(label))["id"], DID)
    assert reason in verdict.reason


@pytest.mark.parametrize("addition", [
    lambda c: c["credentialSubject"].update(honours="summa cum laude"),  # no context defines it
    lambda c: c["evidence"].append({"id": "transcript.pdf", "type": ["Evidence"]}),  # a relative IRI
])
def test_a_field_added_that_the_signature_cannot_cover_is_not_passed_as_genuine(site, addition):
    # JSON-LD processing would drop these, so the signature would still match: refuse them instead.
    credential = json.loads(site.read("fresh"))
    addition(credential)
    verdict = verify_credential(credential, site.fetch)
    assert verdict.status == INVALID and "cannot be read as JSON-LD" in verdict.reason


@pytest.mark.parametrize("credential", [
    b"not JSON", b"[1, 2]", "\ud800".encode("utf-8", "surrogatepass"), {"@context": "https://example.org/"},
    {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": "https://example.org/"},
    {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": {"id": DID}},
    {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": DID,
     "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod",
               "verificationMethod": f"{DID}#key", "proofValue": "not base58!"}},
])
def test_a_malformed_credential_gets_a_verdict_not_a_crash(site, credential):
    assert verify_credential(credential, site.fetch).status == INVALID


def test_a_credential_that_json_ld_cannot_read_gets_a_verdict_not_a_crash(site):
    credential = json.loads(site.read("fresh"))
    credential["credentialSubject"]["id"] = 5
    verdict = verify_credential(credential, site.fetch)
    assert verdict.status == INVALID and "cannot be read as JSON-LD" in verdict.reason


def test_sitegen_verify_says_unknown_when_the_issuer_cannot_be_reached(site, tmp_path):
    def offline(url):
        raise OSError("network is unreachable")

    verdict = verify_credential(site.read("fresh"), offline)
    assert verdict.status == UNKNOWN and "did.json" in verdict.reason


def test_a_status_list_changed_after_signing_is_not_trusted(site, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site.root, copy)
    status_list = json.loads((copy / "vc/status/1.json").read_text(encoding="utf-8"))
    status_list["credentialSubject"]["encodedList"] = encode_status_list([])  # "un-revoke" by hand
    (copy / "vc/status/1.json").write_bytes(credential_json(status_list))
    verdict = verify_credential(site.read("revoked"), build_fetcher(BASE, copy))
    assert verdict.status == UNKNOWN and "cannot be trusted" in verdict.reason


def test_every_tricky_name_verifies_in_python(site):
    for label in site.files:
        if label.startswith("name-"):
            assert verify_credential(site.read(label), site.fetch).status == VALID, label


# --- the independent verifier (DCC verifier-core, with Node) ---------------------------------------

def run_verifier_core(root: Path, base_url: str, files: dict[str, Path]) -> dict:
    """What verifier-core answers for each credential file, with the site at `base_url` served
    from `root`; and the URLs it fetched from there (served) or tried elsewhere (refused)."""
    assert VERIFIER_PACKAGE.is_file(), "verifier-core is not installed: run ./dev setup (npm ci)"
    labels = sorted(files)
    done = subprocess.run(["node", VERIFIER, root, base_url, *(files[label] for label in labels)],
                          capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return {"results": dict(zip(labels, answer["results"])), "refused": answer["refused"],
            "served": answer["served"]}


@pytest.fixture(scope="module")
def verifier_core(site) -> dict:
    return run_verifier_core(site.root, BASE, site.files)


def verifier_says(result: dict) -> str:
    """verifier-core's answer in the words a wallet shows."""
    if result.get("errors"):
        return "error: " + ", ".join(error["name"] for error in result["errors"])
    if result.get("error"):
        return "error: " + result["error"]["message"]
    steps = {step["id"]: step for step in result["log"]}
    if not steps["valid_signature"]["valid"]:
        return "invalid signature"
    status = steps.get("revocation_status", {})
    if "error" in status:
        return "status error: " + status["error"]["name"]
    if status.get("valid") is False:
        return "revoked"
    if not steps["expiration"]["valid"]:
        return "expired"
    return "valid"


@pytest.mark.parametrize("label, answer", [
    ("fresh", "valid"),
    ("program", "valid"),
    ("old-key", "valid"),
    ("revoked", "revoked"),
    ("expired", "expired"),
    ("tampered", "error: invalid_signature"),
    ("foreign-key", "error: invalid_signature"),
    ("not-yet-valid", "error: The current date time"),
])
def test_the_dcc_verifier_agrees(verifier_core, label, answer):
    assert verifier_says(verifier_core["results"][label]).startswith(answer)


def test_the_dcc_verifier_accepts_every_tricky_name(verifier_core):
    # Proof that the fast canonical form is the one RDFC-1.0 gives (rdf-canonize, in JavaScript).
    names = {label: verifier_says(result) for label, result in verifier_core["results"].items()
             if label.startswith("name-")}
    assert len(names) == 2 * len(NAMES)
    assert {label: answer for label, answer in names.items() if answer != "valid"} == {}


def test_the_dcc_verifier_read_the_site_and_nothing_else(verifier_core):
    assert f"{BASE}.well-known/did.json" in verifier_core["served"]
    assert STATUS_LIST in verifier_core["served"]
    # It also looks up the OB 3.0 JSON schema, on no site of ours: that look-up is refused (so
    # nothing slips past the offline stand-in), and it is the only one.
    schema = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
    assert set(verifier_core["refused"]) == {schema}


def test_a_site_under_a_path_is_verified_through_its_own_did_document(tmp_path):
    base = "https://example.org/certificates/"
    did = did_for_base_url(base)
    key = new_key()
    issuer = CredentialIssuer(IssuerProfile(did, "Example College", base), key)
    status_list = f"{base}vc/status/1.json"
    uuid = f"{1:032x}"
    credential = issuer.issue(facts(1, credential_url=f"{base}credentials/{uuid}/credential.json",
                                    page_url=f"{base}credentials/{uuid}/", status_list_url=status_list))
    publish(tmp_path, did_document_path(base), did_document(did, [key.public_key()]))
    publish(tmp_path, "vc/status/1.json", issuer.status_list(status_list, [], f"{TODAY}T00:00:00Z"))
    publish(tmp_path, f"credentials/{uuid}/credential.json", credential)
    assert did == "did:web:example.org:certificates" and (tmp_path / "did.json").is_file()

    verdict = verify_credential(credential_json(credential), build_fetcher(base, tmp_path))
    assert verdict.status == VALID, verdict.reason
    answer = run_verifier_core(tmp_path, base, {"one": tmp_path / f"credentials/{uuid}/credential.json"})
    assert verifier_says(answer["results"]["one"]) == "valid"
    assert f"{base}did.json" in answer["served"]
