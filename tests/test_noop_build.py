"""A no-op build renders nothing and loads no renderer, yet misses nothing (issue 13).

What makes it fast is what it skips: the site pages whose inputs did not change, the
template, PDF and signing libraries, an object per entry of the state and the record
cache. Each test here makes sure a skip never hides a change, and that build/, restored
from a shared CI cache, is read as data: what it says is checked, never trusted.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import output_files
from legacyexport import legacy_site

PREVIEW = "build/.preview"  # where pages-only builds go
ZOE = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # awards.csv, line 2
RENDERERS = ("jinja2", "markdown", "weasyprint", "cryptography", "gnupg", "qrcode", "PIL")


def build(sitegen, site, *extra) -> dict:
    result = sitegen("build", "--site", site, "--pages-only", "--json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


def generated(report) -> set[str]:
    return {u for u, c in report["credentials"].items() if c["state"] == "generated"}


def modules_loaded_by_a_build(site) -> set[str]:
    """The modules a pages-only build of `site`, in a process of its own, loads."""
    code = ("import json, sys; from sitegen.cli import main; "
            f"code = main(['build', '--site', {str(site)!r}, '--pages-only', '--quiet']); "
            "print(code, json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, loaded = done.stdout.splitlines()[-1].split(" ", 1)
    assert status == "0", done.stderr
    return set(json.loads(loaded))


def renderers_loaded_by_a_build(site) -> list[str]:
    loaded = modules_loaded_by_a_build(site)
    return [m for m in RENDERERS if m in loaded]


def legacy_stage_loaded_by_a_build(site) -> list[str]:
    """The legacy stage's modules: all of sitegen/legacy/ but what tells whether it has work."""
    return sorted(m for m in modules_loaded_by_a_build(site) if m.startswith("sitegen.legacy.")
                  and m not in ("sitegen.legacy.detect", "sitegen.legacy.gate"))


def test_a_no_op_build_loads_no_renderer(sample_site):
    renderers_loaded_by_a_build(sample_site)
    assert renderers_loaded_by_a_build(sample_site) == []
    csv = sample_site / "credentials_data/awards.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("Zoë", "Zoé"), encoding="utf-8")
    assert "jinja2" in renderers_loaded_by_a_build(sample_site)  # what has changed is rendered


def test_a_project_without_legacy_certificates_never_loads_the_legacy_stage(sample_site):
    assert legacy_stage_loaded_by_a_build(sample_site) == []  # the first build
    assert legacy_stage_loaded_by_a_build(sample_site) == []  # a no-op
    legacy_site(sample_site)  # an export of the platform's certificates added: the stage runs
    assert "sitegen.legacy.stage" in legacy_stage_loaded_by_a_build(sample_site)


def test_a_site_page_deleted_or_edited_by_hand_is_written_again(sample_site, sitegen):
    build(sitegen, sample_site)
    out = sample_site / PREVIEW
    clean = output_files(out)
    (out / "404.html").unlink()
    verify = out / "verify/index.html"
    verify.write_bytes(verify.read_bytes().replace(b"<main", b"<mine", 1))  # the same size
    asset = next(path for path in (out / "assets").rglob("*") if path.is_file())
    asset.unlink()

    report = build(sitegen, sample_site)
    assert {"404.html", "verify/index.html", asset.relative_to(out).as_posix()} <= set(report["site_files_updated"])
    assert output_files(out) == clean
    assert build(sitegen, sample_site)["site_files_updated"] == []  # and vouched for again


def test_an_edited_content_page_or_site_setting_renders_the_site_pages_again(sample_site, sitegen):
    build(sitegen, sample_site)
    out = sample_site / PREVIEW
    page = sample_site / "content/how-to-verify.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nA paragraph added today.\n", encoding="utf-8")
    assert build(sitegen, sample_site)["site_files_updated"] == ["how-to-verify/index.html"]
    assert "A paragraph added today." in (out / "how-to-verify/index.html").read_text(encoding="utf-8")

    site_yml = sample_site / "site.yml"
    site_yml.write_text(site_yml.read_text(encoding="utf-8").replace("name: Sample Verify", "name: Renamed Verify"),
                        encoding="utf-8")
    report = build(sitegen, sample_site)
    assert "404.html" in report["site_files_updated"]
    assert "Renamed Verify" in (out / "404.html").read_text(encoding="utf-8")


def test_a_new_theme_file_is_published_by_the_next_build(sample_site, sitegen):
    build(sitegen, sample_site)
    (sample_site / "themes/plain/static/robots.txt").write_text("User-agent: *\n")  # no page links it
    report = build(sitegen, sample_site)
    published = [path for path in report["site_files_updated"] if path.startswith("assets/robots.")]
    assert len(published) == 1 and (sample_site / PREVIEW / published[0]).read_text() == "User-agent: *\n"


@pytest.mark.slow
def test_a_new_key_reaches_the_site_pages_at_once(sample_site, sitegen, no_signing_env, monkeypatch, tmp_path):
    """New keys in the same place: site.yml and the environment say the same as before."""
    from gpgkeys import stop_agent
    from sitegen.vc import new_key, save_key

    out, home, vc_key = tmp_path / "out", sample_site / ".dev-gnupg", tmp_path / "vc.key"
    save_key(new_key(), vc_key)
    monkeypatch.setenv("SITEGEN_VC_KEY_FILE", str(vc_key))
    key_files = ("keys/index.html", "keys/signing-key.asc", ".well-known/did.json")

    def signed_build() -> dict[str, bytes]:
        result = sitegen("build", "--site", sample_site, "--out", out)
        assert result.code == 0, result.err
        return {path: (out / path).read_bytes() for path in key_files}

    first = signed_build()  # no OpenPGP key configured: the development key, made in `home`
    vc_key.unlink()
    save_key(new_key(), vc_key)  # a new key of the verifiable credentials
    second = signed_build()
    assert second[".well-known/did.json"] != first[".well-known/did.json"]
    stop_agent(home)
    shutil.rmtree(home)  # and a new OpenPGP key, made by the next build
    third = signed_build()
    assert third["keys/index.html"] != second["keys/index.html"]
    assert third["keys/signing-key.asc"] != second["keys/signing-key.asc"]


def test_a_state_naming_files_outside_the_output_folder_is_never_trusted(sample_site, sitegen, tmp_path):
    build(sitegen, sample_site)
    out = sample_site / PREVIEW
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    outside = os.path.relpath(victim, out)  # ../../../victim.txt
    state_file = out / ".sitegen/state.json"
    state = json.loads(state_file.read_text())
    state["shared_pages"].append(outside)  # a page the last build "wrote", to be removed
    state["site_pages"][2][outside] = [7, 1]
    state_file.write_text(json.dumps(state))

    report = build(sitegen, sample_site)
    assert victim.read_text() == "keep me"
    assert generated(report) == set()


def _damage_row(state: dict, damage: str) -> None:
    row = next(row for row in state["credentials"] if row[0] == ZOE)  # [uuid, inputs, theme set, uncertain, ...]
    if damage == "size not a number":
        row[6] = "many"
    elif damage == "theme set not an index":
        row[2] = "0"
    elif damage == "a value missing":
        del row[-1]
    elif damage == "ID not a credential's":
        row[0] = "../../" + ZOE[6:]


@pytest.mark.parametrize("damage", ["size not a number", "theme set not an index", "a value missing",
                                    "ID not a credential's"])
def test_a_damaged_state_entry_is_rebuilt_and_the_others_still_vouch(sample_site, sitegen, tmp_path, damage):
    build(sitegen, sample_site)
    out = sample_site / PREVIEW
    state_file = out / ".sitegen/state.json"
    state = json.loads(state_file.read_text())
    _damage_row(state, damage)
    state_file.write_text(json.dumps(state))

    assert generated(build(sitegen, sample_site)) == {ZOE}
    assert build(sitegen, sample_site, "--out", tmp_path / "clean")["counts"]["errors"] == 0
    assert output_files(out) == output_files(tmp_path / "clean")
    from sitegen.layout import is_uuid
    from sitegen.plan.state import BuildState

    assert all(is_uuid(uuid) for uuid in BuildState.load(out).credentials)  # a damaged ID is not kept


def test_a_folder_that_is_no_credential_is_left_alone(sample_site, sitegen):
    build(sitegen, sample_site)
    stray = sample_site / PREVIEW / "credentials/not-a-credential"
    stray.mkdir()
    assert build(sitegen, sample_site)["counts"]["removed"] == 0
    assert stray.is_dir()


@pytest.mark.parametrize("state", [
    "not JSON",
    json.dumps({"format": 4, "credentials": {ZOE: [1]}, "theme_file_sets": [], "shared_pages": [],
                "site_pages": None}),
    json.dumps({"format": 4, "credentials": [], "theme_file_sets": [], "shared_pages": [], "site_pages": "x"}),
])
def test_a_state_not_as_written_rebuilds_everything(sample_site, sitegen, tmp_path, state):
    build(sitegen, sample_site)
    out = sample_site / PREVIEW
    (out / ".sitegen/state.json").write_text(state)
    report = build(sitegen, sample_site)
    assert len(generated(report)) == 8
    assert "404.html" in report["site_files_updated"] or (out / "404.html").exists()
    assert build(sitegen, sample_site, "--out", tmp_path / "clean")["counts"]["errors"] == 0
    assert output_files(out) == output_files(tmp_path / "clean")


def test_the_record_cache_gives_back_what_was_read(sample_site, tmp_path):
    from sitegen.load.config import load_site
    from sitegen.load.record_cache import load_credentials

    site = load_site(sample_site)
    read = load_credentials(site, tmp_path)
    read.save_cache()
    cached = load_credentials(site, tmp_path)
    assert not cached.new_entries  # every file came from the cache
    assert cached.credentials == read.credentials and cached.record_digests == read.record_digests
    assert any(c.attributes for c in cached.credentials) and any(c.expires for c in cached.credentials)


@pytest.mark.parametrize("damage", ["ID not a credential's", "date not a date", "name not text", "a column short",
                                    "attributes not an index", "attributes as an older format kept them"])
def test_a_damaged_record_cache_file_is_read_again(sample_site, tmp_path, damage):
    from sitegen.load.config import load_site
    from sitegen.load.record_cache import INDEX_FILE, load_credentials

    site = load_site(sample_site)
    read = load_credentials(site, tmp_path)
    read.save_cache()
    for path in (tmp_path / ".sitegen/records").iterdir():
        if path.name == INDEX_FILE:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        columns = data["columns"]
        if damage == "ID not a credential's":
            columns["uuid"][0] = "../../victim"
        elif damage == "date not a date":
            columns["issued"][0] = 20260314
        elif damage == "name not text":
            columns["full_name"][0] = ["Mallory"]
        elif damage == "attributes not an index":  # the last list, were it taken as Python takes -1
            columns["attributes"][0] = -1
        elif damage == "attributes as an older format kept them":
            columns["attributes"][0] = [["course", "grade", "0.50"]]
        else:  # and its digests, which are counted apart
            columns["username"].pop()
            data["digests"].pop()
        path.write_text(json.dumps(data), encoding="utf-8")
    again = load_credentials(site, tmp_path)
    assert len(again.new_entries) == len(read.new_entries)  # every file read again
    assert again.credentials == read.credentials


def test_an_output_file_in_pieces_is_the_output_file():
    from sitegen.layout import CREDENTIAL_OUTPUTS, output_file, output_file_parts

    uuid, sha256 = "0123456789abcdef" * 2, "89abcdef" * 8
    for kind, output in CREDENTIAL_OUTPUTS.items():
        before, after = output_file_parts(kind)
        assert before + (sha256 if output.named_by else uuid) + after == output_file(kind, uuid, sha256)


def _damage_outputs(out, uuids: list[str]) -> dict[str, str]:
    """Each credential's outputs damaged one way in turn: uuid -> why the next build redoes it."""
    expected = {}
    for uuid, damage in zip(uuids, itertools.cycle(["deleted", "a folder", "same size", "touched"])):
        page, assertion, api = (out / f"credentials/{uuid}/index.html", out / f"credentials/{uuid}/assertion.json",
                                out / f"api/v1/credentials/{uuid}")
        if damage == "deleted":
            page.unlink()
            expected[uuid] = "missing"
        elif damage == "a folder":  # where a file should be: seen, but not replaced (a write error)
            assertion.unlink()
            assertion.mkdir()
            expected[uuid] = "error"
        elif damage == "same size":  # edited by hand: new bytes, new time
            before = api.stat().st_mtime_ns
            api.write_bytes(api.read_bytes().replace(b"{", b"[", 1))
            os.utime(api, ns=(before + 10**9, before + 10**9))
            expected[uuid] = "altered"
        else:  # the same bytes, a new time (a checkout, a copy): nothing to redo
            os.utime(page, ns=(1, 1))
    return expected


def _child_that_takes_a_round_and_dies(out_dir, rows, rounds_left, answers_in):
    from sitegen.plan import output_stamps

    output_stamps._next_round(rounds_left)
    os._exit(1)


@pytest.mark.parametrize("child", ["none", "shares", "fails"],
                         ids=["in one process", "rounds shared with a child", "a child that fails"])
def test_outputs_checked_together_still_catch_every_change(sample_site, sitegen, monkeypatch, child):
    """The stamps of all outputs are compared in bulk, from 2,000 credentials on by a forked
    child as well, from the moment the state is read: a deleted output, a folder in its place,
    one edited to the same size, are each rebuilt, and one only touched is vouched for again
    without a rebuild. A child that fails leaves its rounds to the build."""
    from sitegen.plan import output_stamps

    build(sitegen, sample_site)
    out = sample_site / PREVIEW
    clean = output_files(out)
    uuids = [row[0] for row in json.loads((out / ".sitegen/state.json").read_text())["credentials"]]
    expected = _damage_outputs(out, uuids)
    forks = []
    if child != "none":  # each credential a round of its own: the child's rounds and this process's both meet damage
        monkeypatch.setattr(output_stamps, "FORK_AT", 1)
        monkeypatch.setattr(output_stamps, "ROUND", 1)
        monkeypatch.setattr(os, "fork", lambda fork=os.fork: forks.append(1) or fork())
    if child == "fails":
        monkeypatch.setattr(output_stamps, "_answer_rounds", _child_that_takes_a_round_and_dies)

    report = sitegen("build", "--site", sample_site, "--pages-only", "--json")
    assert len(forks) == (child != "none")
    outcomes = json.loads(report.out)["credentials"]
    assert {u: c["reason"] if c["state"] == "generated" else c["state"]
            for u, c in outcomes.items() if c["state"] != "unchanged"} == expected
    for folder in (out / f"credentials/{u}/assertion.json" for u, why in expected.items() if why == "error"):
        folder.rmdir()
    build(sitegen, sample_site)
    assert output_files(out) == clean
    assert generated(build(sitegen, sample_site)) == set()  # the touched page's new time was remembered


@pytest.mark.parametrize("then", ["rebuilds all", "bad input"])
def test_a_child_checking_stamps_is_stopped_when_not_needed(sample_site, sitegen, monkeypatch, then):
    """A build that rebuilds every credential, or stops at bad input, does not wait for the
    stamps of outputs it will not keep: the child checking them is ended, and reaped."""
    from sitegen.plan import output_stamps

    build(sitegen, sample_site)
    monkeypatch.setattr(output_stamps, "FORK_AT", 1)
    monkeypatch.setattr(output_stamps, "ROUND", 1)
    children, ended = [], []
    monkeypatch.setattr(os, "fork", lambda fork=os.fork: children.append(fork()) or children[-1])
    monkeypatch.setattr(os, "kill", lambda pid, sig, kill=os.kill: ended.append(pid) or kill(pid, sig))
    if then == "rebuilds all":
        site_yml = sample_site / "site.yml"
        site_yml.write_text(site_yml.read_text(encoding="utf-8").replace("Sample Learning", "Sample Academy"),
                            encoding="utf-8")
        report = build(sitegen, sample_site)
        assert generated(report) == set(report["credentials"])
    else:
        csv = sample_site / "credentials_data/awards.csv"
        csv.write_text(csv.read_text(encoding="utf-8").replace(ZOE, "not-an-id"), encoding="utf-8")
        assert sitegen("build", "--site", sample_site, "--pages-only").code != 0
    assert ended == children and len(children) == 1
    with pytest.raises(ChildProcessError):  # already waited for: no process left behind
        os.waitpid(children[0], os.WNOHANG)


@pytest.mark.parametrize("values, valid", [
    ([], True),
    (["0123456789abcdef" * 2, "fedcba9876543210" * 2], True),
    (["0123456789ABCDEF" * 2], False),  # upper case
    (["0123456789abcdef" * 2, "0123456789abcde"], False),  # too short
    (["0123456789abcdef" * 2 + "0"], False),  # too long
    (["0123456789abcde\n" + "0123456789abcdef"], False),  # a line break
    (["0123456789abcdef", "0123456789abcdef"], False),  # two halves of an ID
    (["0123456789abcdef" * 2, None], False),
    ([b"0123456789abcdef" * 2], False),
])
def test_ids_checked_together_are_checked_each(values, valid):
    from sitegen.layout import are_sha256s, are_uuids, is_sha256, is_uuid

    assert are_uuids(values) is valid == all(map(is_uuid, values))
    doubled = [value * 2 if isinstance(value, (str, bytes)) else value for value in values]
    assert are_sha256s(doubled) is valid == all(map(is_sha256, doubled))
