"""The golden sample: tests/sample_site built as a user gets it, then made comparable.

    .venv/bin/python tests/update_golden.py

regenerates tests/golden/sample_site after an intended change. Then review
`git diff tests/golden` like any other change: it is what users will see.

The sample is built in full (pages, PDFs, signatures, statements, share cards, API JSON)
with the default theme (themes/default, copied into a temporary copy of the sample),
signed with a throw-away Ed25519 key made for the run, as of the fixed day TODAY so that
expiry dates do not move the output. What changes from one run to the next, or cannot be
read in a diff, is replaced as follows:

- the key's fingerprint, in any of its forms (plain, lower case, in groups of four, split
  across HTML tags), becomes KEY0KEY1KEY2KEY3KEY4KEY5KEY6KEY7KEY8KEY9, keeping its
  spacing and case;
- the SHA-256 of credentials/<uuid>/certificate.pdf becomes SHA256-OF-PDF-<uuid>, in
  texts and in file names (api/v1/pdf-sha256/);
- the Ed25519 public key of the verifiable credentials becomes ED25519-PUBLIC-KEY-MULTIBASE,
  and each proof value PROOF-VERIFIED, once every credential.json has been verified;
- a signature block (certificate.pdf.sig, the end of statement.txt.asc) becomes one line
  saying what `gpg --verify` reports with the published key: good or not, and when made;
- the public key block (keys/signing-key.asc, and where pages show it) becomes one line
  saying what gpg reads in it;
- certificate.pdf becomes certificate.pdf.txt: its document information, page count, the
  files it embeds (each compared with the published file of its name: its credential.json)
  and `pdftotext -layout` text (a changed line may shift its neighbours by a column or two);
  a share card, cards/<its SHA-256>.png, becomes cards/SHA256-OF-CARD-<the first
  credential showing it>.png.txt: its format and size.

Everything else (HTML, JSON, CSS, JS, images) is compared byte for byte. tests/sample_site
keeps its own small "plain" theme for the other tests; users get the default theme, so
that is the one the golden tree shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from conftest import output_files  # noqa: E402
from gpgkeys import KEY_CREATED, gpg, make_key, new_home, stop_agent  # noqa: E402
from sitegen.sign.vc_key import VC_KEY_FILE_NAME  # noqa: E402
from sitegen.vc import new_key, save_key  # noqa: E402

GOLDEN = TESTS / "golden" / "sample_site"
# After every issue date in the sample and one expiry. Issue dates must also stay in the
# past: gpg signs at the issue date, or at the real now if that is earlier.
TODAY = dt.date(2026, 8, 1)
KEY_GROUPS = [f"KEY{i}" for i in range(10)]
SIGNATURE_BLOCK = ("-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----")
PUBLIC_KEY_BLOCK = ("-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----")
PDF_INFO_FIELDS = ("Title", "Author", "Subject", "Keywords", "Creator", "CreationDate", "ModDate",
                   "Pages", "Page size")  # not Producer or sizes: they follow the WeasyPrint version


def build_sample(work: Path) -> Path:
    """Build the sample with the default theme into work/site/build; the signing key comes
    from SITEGEN_GNUPGHOME and SITEGEN_SIGNING_KEY. Returns the output folder."""
    from sitegen.commands.build import BuildOptions, build

    site = work / "site"
    shutil.copytree(TESTS / "sample_site", site, ignore=shutil.ignore_patterns("build", ".dev-gnupg"))
    shutil.copytree(REPO / "themes" / "default", site / "themes" / "default")
    settings = (site / "site.yml").read_text(encoding="utf-8")
    assert "\ntheme: plain\n" in settings, "tests/sample_site/site.yml no longer says `theme: plain`"
    (site / "site.yml").write_text(settings.replace("\ntheme: plain\n", "\ntheme: default\n"), encoding="utf-8")
    out = site / "build"
    report = build(BuildOptions(site_dir=site, out_dir=out, jobs=1, today=TODAY))
    assert report.ok, report.errors
    return out


def golden_files(out: Path, fingerprint: str, work: Path) -> dict[str, bytes]:
    """The published files of the build `out`, made comparable (see the module docstring)."""
    files = output_files(out)
    home = new_home(work / "employer-gnupg")  # checks signatures as an employer would
    try:
        imported = gpg(home, "--import", str(out / "keys/signing-key.asc"))
        assert imported.returncode == 0, imported.stderr.decode()
        texts = _describe_files(files, out, home)
    finally:
        stop_agent(home)
    pdf_hashes = {hashlib.sha256(data).hexdigest(): f"SHA256-OF-PDF-{path.split('/')[1]}"
                  for path, data in files.items() if path.endswith("/certificate.pdf")}
    pdf_hashes.update(_card_placeholders(files))

    vc_placeholders = _vc_placeholders(out, files)

    def without_hashes(text: str) -> str:
        for digest, placeholder in pdf_hashes.items():
            text = text.replace(digest, placeholder)
        for value, placeholder in vc_placeholders.items():
            text = text.replace(value, placeholder)
        return text

    result = {}
    for path, content in texts.items():
        path = without_hashes(path)
        if isinstance(content, str):
            content = _replace_fingerprint(without_hashes(content), fingerprint, path).encode("utf-8")
        result[path] = content
    return result


def _describe_files(files: dict[str, bytes], out: Path, home: Path) -> dict[str, str | bytes]:
    """Text (or, for what is neither text nor described, bytes) for every published file."""
    public_key = files["keys/signing-key.asc"].decode("ascii")
    key_block = _replace_block(public_key, PUBLIC_KEY_BLOCK, _describe_key(home, out / "keys/signing-key.asc"))
    texts: dict[str, str | bytes] = {}
    for path, data in files.items():
        name = path.rsplit("/", 1)[-1]
        if name == "certificate.pdf":
            texts[path + ".txt"] = _describe_pdf(out / path)
        elif path.startswith("cards/"):
            texts[path + ".txt"] = _describe_png(data)
        elif name == "certificate.pdf.sig":
            checked = _check_signature(home, out / path, out / path.removesuffix(".sig"))
            texts[path] = _replace_block(data.decode("ascii"), SIGNATURE_BLOCK, checked)
        elif name == "statement.txt.asc":
            checked = _check_signature(home, out / path)
            texts[path] = _replace_block(data.decode("utf-8"), SIGNATURE_BLOCK, checked)
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                texts[path] = data
                continue
            shown = html.escape(key_block.strip(), quote=False) if path.endswith(".html") else key_block.strip()
            texts[path] = text.replace(public_key.strip(), shown)
    return texts


def _replace_block(text: str, markers: tuple[str, str], description: str) -> str:
    """The body of an armoured block replaced by `description`; armour headers are kept."""
    begin, end = markers
    head, found, rest = text.partition(begin + "\n")
    if not found or end not in rest:
        return text
    body, _, tail = rest.partition(end)
    headers, _, _ = body.rpartition("\n\n")  # "Version: ...", "Comment: ..." lines, if any
    headers = headers + "\n" if headers else ""
    return f"{head}{begin}\n{headers}\n[{description}]\n{end}{tail}"


def _check_signature(home: Path, signature: Path, data: Path | None = None) -> str:
    """What `gpg --verify` says, in one line: good and by which key, when, or what went wrong."""
    args = ["--status-fd", "1", "--verify", str(signature)] + ([str(data)] if data else [])
    status = gpg(home, *args).stdout.decode("utf-8", "replace")
    command = "gpg --verify " + signature.name + (f" {data.name}" if data else "")
    valid = re.search(r"^\[GNUPG:\] VALIDSIG (\S+) \S+ (\d+)", status, re.M)
    if valid and re.search(r"^\[GNUPG:\] GOODSIG ", status, re.M):
        made = dt.datetime.fromtimestamp(int(valid[2]), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{command}: Good signature by {valid[1]}, made {made}"
    keywords = re.findall(r"^\[GNUPG:\] (\w+)", status, re.M)
    return f"{command}: NOT a good signature ({' '.join(keywords) or 'no status'})"


def _describe_key(home: Path, key_file: Path) -> str:
    shown = gpg(home, "--with-colons", "--show-keys", str(key_file)).stdout.decode("utf-8")
    packets = gpg(home, "--list-packets", str(key_file)).stdout.decode("utf-8", "replace")
    fields = {line.split(":")[0]: line.split(":") for line in shown.splitlines()}
    pub, uid = fields.get("pub"), fields.get("uid")
    if not pub or "fpr" not in fields:
        return "gpg finds no public key here"
    created = dt.datetime.fromtimestamp(int(pub[5]), dt.UTC).date()
    secret = "HAS SECRET KEY MATERIAL" if re.search(r":secret (sub )?key packet:", packets) else "public only"
    return (f"public key {fields['fpr'][9]}, {pub[16] or 'algorithm ' + pub[3]}, created {created}, "
            f"user ID {uid[9] if uid else '(none)'}, {secret}")


def _describe_pdf(pdf: Path) -> str:
    run = lambda *args: subprocess.run(args, capture_output=True, check=True,  # noqa: E731
                                       env={**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8"}).stdout
    try:
        info = run("pdfinfo", "-isodates", "-enc", "UTF-8", str(pdf)).decode("utf-8")
        text = run("pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-").decode("utf-8")
    except FileNotFoundError:
        raise RuntimeError("pdfinfo and pdftotext are needed: install the Debian package poppler-utils") from None
    kept = [line for line in info.splitlines() if line.split(":", 1)[0] in PDF_INFO_FIELDS]
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    lines = ["pdfinfo -isodates:", *kept, "", "pdfdetach -list:", *_describe_attachments(pdf), ""]
    for number, page in enumerate(pages, 1):
        lines.append(f"--- pdftotext -layout, page {number} of {len(pages)} ---")
        lines.extend(line.rstrip() for line in page.splitlines())
    return "\n".join(lines) + "\n"


def _describe_attachments(pdf: Path) -> list[str]:
    """The files the PDF embeds, each saved with pdfdetach and compared with the file of
    that name beside the PDF (its credential.json)."""
    with tempfile.TemporaryDirectory() as folder:
        listed = subprocess.run(["pdfdetach", "-list", "-enc", "UTF-8", str(pdf)], capture_output=True,
                                check=True).stdout.decode("utf-8").splitlines()
        subprocess.run(["pdfdetach", "-saveall", "-o", folder, str(pdf)], check=True)
        lines = listed[:1]
        for line in listed[1:]:
            name = line.split(": ", 1)[1]
            published = pdf.parent / name
            same = published.is_file() and published.read_bytes() == (Path(folder) / name).read_bytes()
            lines.append(f"{line} ({f'the published {name}, byte for byte' if same else 'NOT the published file'})")
        return lines


def _vc_placeholders(out: Path, files: dict[str, bytes]) -> dict[str, str]:
    """The Ed25519 key (a throw-away one per run) and every proof value it made, replaced by
    what was checked: each credential.json verified, by its issuer's DID document and its
    status list (whose own proof the check verifies too), as of TODAY."""
    from sitegen.vc import build_fetcher, verify_credential

    did = json.loads(files[".well-known/did.json"])
    key = did["verificationMethod"][0]["publicKeyMultibase"]
    base = "https://" + did["id"].removeprefix("did:web:").replace(":", "/") + "/"
    now = dt.datetime.combine(TODAY, dt.time(12, 0), tzinfo=dt.UTC)
    placeholders = {key: "ED25519-PUBLIC-KEY-MULTIBASE"}
    for path, data in files.items():
        if path.endswith("/credential.json"):
            verdict = verify_credential(data, build_fetcher(base, out), now=now)
            assert verdict.status in ("valid", "revoked", "expired"), (path, verdict)
        for value in re.findall(rb'"proofValue": "(z[1-9A-HJ-NP-Za-km-z]+)"', data):
            placeholders[value.decode()] = "PROOF-VERIFIED"
    return placeholders


def _card_placeholders(files: dict[str, bytes]) -> dict[str, str]:
    """Each share card's SHA-256 (its file name) -> SHA256-OF-CARD-<the first credential
    whose page shows it>: the bytes of a rendered PNG follow the rasteriser's version."""
    placeholders = {}
    for path in sorted(files):
        match = re.fullmatch(r"credentials/([0-9a-f]{32})/index\.html", path)
        card = match and re.search(rb"/cards/([0-9a-f]{64})\.png", files[path])
        if card and card[1].decode() not in placeholders:
            placeholders[card[1].decode()] = f"SHA256-OF-CARD-{match[1]}"
    return placeholders


def _describe_png(data: bytes) -> str:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()  # a truncated or corrupt file fails here
        return f"{image.format} image, {image.width} x {image.height} pixels, mode {image.mode}\n"


def _replace_fingerprint(text: str, fingerprint: str, path: str) -> str:
    """Every form of the fingerprint becomes KEY0KEY1...: same case, same separators."""
    groups = re.findall("....", fingerprint.upper())
    separator = r"((?:\s|<[^<>]{0,80}>)*)"  # spaces, or HTML tags, between groups of four
    pattern = re.compile(separator.join(f"({g})" for g in groups), re.IGNORECASE)

    def placeholder(match: re.Match) -> str:
        found = match.groups()  # group, separator, group, ...
        lower = any(ch.islower() for group in found[::2] for ch in group)
        fakes = [g.lower() if lower else g for g in KEY_GROUPS]
        return "".join(fakes[i // 2] if i % 2 == 0 else part for i, part in enumerate(found))

    text = pattern.sub(placeholder, text)
    short_id = fingerprint[-8:]
    if short_id.lower() in text.lower() or " ".join(groups[-2:]).lower() in text.lower():
        raise AssertionError(f"{path}: the key fingerprint appears in a form the golden test cannot "
                             f"replace; teach tests/update_golden.py:_replace_fingerprint about it")
    return text


def build_golden(work: Path, gnupghome: Path, fingerprint: str) -> dict[str, bytes]:
    """Build the sample signed with the key `fingerprint` in `gnupghome`; the comparable files."""
    saved = {name: os.environ.get(name) for name in ("SITEGEN_GNUPGHOME", "SITEGEN_SIGNING_KEY")}
    os.environ.update(SITEGEN_GNUPGHOME=str(gnupghome), SITEGEN_SIGNING_KEY=fingerprint)
    try:
        out = build_sample(work)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return golden_files(out, fingerprint, work)


def main() -> None:
    # A short folder: gpg-agent's socket paths must stay under 108 bytes.
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        home = new_home(Path(tmp) / "gnupg")
        try:
            fingerprint = make_key(home, extra=("--faked-system-time", KEY_CREATED))
            save_key(new_key(), home / VC_KEY_FILE_NAME)  # the verifiable credentials' key, beside it
            files = build_golden(Path(tmp), home, fingerprint)
        finally:
            stop_agent(home)
    shutil.rmtree(GOLDEN, ignore_errors=True)
    for path, data in files.items():
        (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
        (GOLDEN / path).write_bytes(data)
    print(f"wrote {len(files)} files to {GOLDEN.relative_to(REPO)}; review them with `git diff tests/golden`")


if __name__ == "__main__":
    main()
