"""Hugo on the same pages: a Hugo project whose output matches a sitegen page-only build.

The issue's yardstick is Hugo's cold build "on the same pages". A one-line template is not
that: sitegen's certificate page is some 15 KB of HTML with the learner's name, ID and dates
in a dozen places and three contexts (text, attributes and URLs, JSON-LD), and each
credential has two JSON files besides (the Credentials API record, the Open Badges 2.0
assertion). So this module makes Hugo write the same three files per credential:

1. sitegen renders one probe credential per kind of page (course, mode, status), whose
   learner values are markers (`PROBE_*`);
2. each probe's page and JSON files become Hugo layouts by swapping each marker for the
   front matter parameter it stands for. Go's html/template escapes them by context, as
   Jinja's autoescaping, `tojson` and `urlencode` do for sitegen;
3. each credential becomes a content file whose front matter holds its values, already
   formatted (dates for display, the name's direction, the badge recipient's hash): that
   is work sitegen does per page and Hugo is spared, so the comparison favours Hugo.

`check_same_pages` compares the two builds' files for a few credentials, so that the
figure is known to be about the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

PROBE_UUID_PREFIX = "feedface"
PROBE_NAME = "Qzxprobe Name"
PROBE_USERNAME = "qzxprobeuser"
PROBE_ISSUED = dt.date(2019, 7, 29)
PROBE_GRADE = "0.87"

OUTPUTS = {  # Hugo output format -> (the sitegen file it stands for, as a path template)
    "html": "credentials/{uuid}/index.html",
    "assertion": "credentials/{uuid}/assertion.json",
    "api": "api/v1/credentials/{uuid}",
}

HUGO_CONFIG = """\
baseURL = "https://verify.bench.test/"
title = "Bench"
disableKinds = ["taxonomy", "term", "RSS", "sitemap"]
[outputFormats.assertion]
mediaType = "application/json"
baseName = "assertion"
isPlainText = true
[outputFormats.api]
mediaType = "application/json"
baseName = "api"
isPlainText = true
[outputs]
page = ["html", "assertion", "api"]
"""


def hugo_same_pages(out: Path, project: Path, build_cmd: list[str]) -> Path:
    """A Hugo site in `out` for the credentials of `project` (a `corpus.py` project);
    `build_cmd` runs sitegen (its arguments follow)."""
    rows = read_rows(project)
    kinds = sorted({kind_of(row) for row in rows})
    probes = probe_pages(out / "probe", project, rows, kinds, build_cmd)
    site = out / "hugo-same-pages"
    if site.exists():
        shutil.rmtree(site)
    layouts = site / "layouts" / "credentials"
    layouts.mkdir(parents=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "layouts" / "_default" / "list.html").write_text("<!doctype html><title>{{ .Title }}</title>")
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    for index, files in enumerate(probes):
        layouts.joinpath(f"k{index}.html").write_text(html_layout(files["html"], index), encoding="utf-8")
        for name in ("assertion", "api"):
            layouts.joinpath(f"k{index}.{name}.json").write_text(json_layout(files[name], index), encoding="utf-8")
    content = site / "content" / "credentials"
    content.mkdir(parents=True)
    kind_index = {kind: i for i, kind in enumerate(kinds)}
    for row in rows:
        params = front_matter(row, f"k{kind_index[kind_of(row)]}")
        (content / f"{row['uuid']}.md").write_text(json.dumps(params, ensure_ascii=False) + "\n", encoding="utf-8")
    return site


def read_rows(project: Path) -> list[dict[str, str]]:
    with open(project / "credentials_data" / "bulk.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def kind_of(row: dict[str, str]) -> tuple[str, str, str, str]:
    """What decides a page's layout besides the learner: its course, mode and status."""
    return row["credential_type"], row["course_id"], row["certificate_type"], row["status"]


def probe_uuid(index: int) -> str:
    return f"{PROBE_UUID_PREFIX}{index:024x}"


def probe_pages(work: Path, project: Path, rows: list[dict], kinds: list[tuple], build_cmd: list[str]) -> list[dict]:
    """sitegen's three files for one probe credential of each kind of page."""
    if work.exists():
        shutil.rmtree(work)
    (work / "credentials_data").mkdir(parents=True)
    shutil.copy(project / "site.yml", work / "site.yml")
    shutil.copytree(project / "themes", work / "themes")
    fields = list(rows[0])
    with open(work / "credentials_data" / "bulk.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        for index, (credential_type, course, mode, status) in enumerate(kinds):
            writer.writerow({**rows[0], "uuid": probe_uuid(index), "username": PROBE_USERNAME,
                             "full_name": PROBE_NAME, "credential_type": credential_type, "course_id": course,
                             "certificate_type": mode, "status": status, "issued": PROBE_ISSUED.isoformat(),
                             "attributes.course.grade": PROBE_GRADE})
    subprocess.run([*build_cmd, "build", "--site", str(work), "--pages-only", "--quiet"], check=True,
                   capture_output=True)
    built = work / "build" / ".preview"
    return [{name: (built / path.format(uuid=probe_uuid(i))).read_text(encoding="utf-8")
             for name, path in OUTPUTS.items()} for i in range(len(kinds))]


def html_layout(page: str, index: int) -> str:
    """The probe's page with each learner value a parameter; html/template escapes by context."""
    swaps = [
        (probe_uuid(index), "{{ .Params.uuid }}"),
        (PROBE_NAME, "{{ .Params.full_name }}"),
        (display_date(PROBE_ISSUED), "{{ .Params.issued_display }}"),
        (PROBE_ISSUED.isoformat(), "{{ .Params.issued }}"),
        (f"issueYear={PROBE_ISSUED.year}&amp;issueMonth={PROBE_ISSUED.month}",
         "issueYear={{ .Params.issue_year }}&amp;issueMonth={{ .Params.issue_month }}"),
        (grade_display(PROBE_GRADE), "{{ .Params.grade }}"),
        ('id="cert-name" dir="ltr"', 'id="cert-name" dir="{{ .Params.dir }}"'),
    ]
    return swapped(page.replace("{{", '{{ "{{" }}'), swaps)


def json_layout(text: str, index: int) -> str:
    """The probe's JSON with each learner value a parameter (text/template: `jsonify` quotes)."""
    swaps = [
        (json.dumps(PROBE_NAME), "{{ .Params.full_name | jsonify }}"),
        (json.dumps(PROBE_USERNAME), "{{ .Params.username | jsonify }}"),
        (probe_uuid(index), "{{ .Params.uuid }}"),
        (PROBE_ISSUED.isoformat(), "{{ .Params.issued }}"),
        (json.dumps(PROBE_GRADE), "{{ .Params.grade_raw | jsonify }}"),
    ]
    text = swapped(text.replace("{{", '{{ "{{" }}'), swaps)
    # The Open Badges recipient's salt and hash are per learner too.
    badge = json.loads(text) if text.lstrip().startswith("{") and '"recipient"' in text else None
    if badge is not None and isinstance(badge.get("recipient"), dict):
        for field in ("salt", "identity"):
            text = text.replace(json.dumps(badge["recipient"][field]), f"{{{{ .Params.{field} | jsonify }}}}")
    return text


def swapped(text: str, swaps: list[tuple[str, str]]) -> str:
    for value, action in swaps:
        text = text.replace(value, action)
    for marker in (PROBE_NAME, PROBE_USERNAME, PROBE_UUID_PREFIX):
        if marker in text:
            raise SystemExit(f"hugo_pages: a learner value ({marker}) in a form the layout does not replace")
    return text


def front_matter(row: dict[str, str], layout: str) -> dict[str, str]:
    issued = dt.date.fromisoformat(row["issued"])
    salt = hashlib.md5(row["uuid"].encode()).hexdigest()
    return {
        "title": row["uuid"], "layout": layout, "uuid": row["uuid"], "full_name": row["full_name"],
        "username": row["username"], "issued": issued.isoformat(), "issued_display": display_date(issued),
        "issue_year": str(issued.year), "issue_month": str(issued.month),
        "grade": grade_display(row["attributes.course.grade"]), "grade_raw": row["attributes.course.grade"],
        "dir": name_direction(row["full_name"]), "salt": salt,
        "identity": "sha256$" + hashlib.sha256((row["username"] + salt).encode()).hexdigest(),
    }


def display_date(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def grade_display(grade: str) -> str:
    return f"{round(float(grade) * 100)}%"


def name_direction(name: str) -> str:
    for char in name:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return "ltr" if kind == "L" else "rtl"
    return "ltr"


def check_same_pages(hugo_public: Path, sitegen_built: Path, uuids: list[str]) -> str:
    """How the two builds' files compare for `uuids`: a line for the benchmark's output."""
    hugo_paths = {"html": "credentials/{uuid}/index.html", "assertion": "credentials/{uuid}/assertion.json",
                  "api": "credentials/{uuid}/api.json"}
    counts = []
    for name, path in OUTPUTS.items():
        same = sum((hugo_public / hugo_paths[name].format(uuid=u)).read_bytes()
                   == (sitegen_built / path.format(uuid=u)).read_bytes() for u in uuids)
        counts.append(f"{name} {same}/{len(uuids)}")
    return (f"same pages: files byte-identical between the two builds: {', '.join(counts)} "
            "(the assertion's recipient salt and hash are made up here, of the same length)")


if __name__ == "__main__":
    here = Path(sys.argv[1])
    print(hugo_same_pages(here, here / "project", [sys.executable, "-m", "sitegen"]))
