"""Build benchmarks: cold, no-op, one new award, one template change, memory; Hugo side by side.

    python benchmarks/bench_build.py                   # page-only 1k/10k, full artifacts on 300
    python benchmarks/bench_build.py --sizes 1000,10000,100000 --full 300,2000

Figures are printed as ratios against baselines run in the same benchmark run
(Hugo on the same pages, the naive PDF+sign loop on the same credentials), because
absolute times on shared machines are noise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import append_record, write_project

MIB = 1024 * 1024


def run_build(project: Path, *extra: str) -> dict:
    """One `sitegen build` in a child process: wall time, peak memory, the JSON report."""
    command = [sys.executable, "-m", "sitegen", "build", "--site", str(project), "--json", "--quiet", *extra]
    # Output goes to files, not pipes: a big JSON report would fill a pipe before wait4 returns.
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out_file, stderr=err_file, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out_file.seek(0), err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed:\n{err}")
    report = json.loads(out)
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss * 1024 / MIB, "counts": report["counts"],
            "cpu": usage.ru_utime + usage.ru_stime}  # its workers' too: it waited for them


def hugo_project(out: Path, project: Path) -> Path | None:
    """The same credentials as one Hugo page each, with a comparable single template."""
    if not shutil.which("hugo"):
        return None
    import csv

    site = out / "hugo"
    (site / "content" / "credentials").mkdir(parents=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "https://verify.bench.test/"\ntitle = "Bench"\n'
                                    'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n')
    (site / "layouts" / "_default" / "single.html").write_text(
        "<!doctype html><html><head><meta charset=utf-8><title>{{ .Title }}</title></head><body>"
        "<main><h1>{{ .Params.full_name }}</h1><p>{{ .Params.course }}</p><p>{{ .Params.mode }}</p>"
        "<p>Issued {{ .Params.issued }}</p><p>Credential ID {{ .Params.uuid }}</p></main></body></html>")
    (site / "layouts" / "_default" / "list.html").write_text("<!doctype html><title>{{ .Title }}</title>")
    with open(project / "credentials_data" / "bulk.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            (site / "content" / "credentials" / f"{row['uuid']}.md").write_text(
                f"---\ntitle: \"{row['uuid']}\"\nuuid: \"{row['uuid']}\"\nfull_name: \"{row['full_name']}\"\n"
                f"course: \"{row['course_id']}\"\nmode: \"{row['certificate_type']}\"\n"
                f"issued: \"{row['issued']}\"\n---\n",
                encoding="utf-8")
    return site


def time_hugo(site: Path, destination: Path) -> float:
    """One cold Hugo build into a new folder (as sitegen's cold builds are timed)."""
    started = time.perf_counter()
    subprocess.run(["hugo", "--quiet", "-s", str(site), "--destination", str(destination)], check=True,
                   capture_output=True)
    return time.perf_counter() - started


def page_only_figures(workdir: Path, size: int, with_hugo: bool, runs: int = 1) -> None:
    """Cold, no-op, +1 award and a template change; with Hugo, cold builds of both alternate
    `runs` times (at least 2), each into a new folder, and the fastest of each counts: other
    work on the machine only adds. (A new folder: on ext4, creating files right after
    deleting many is slow.)"""
    project = write_project(workdir / f"pages-{size}", size, ["latin", "cyrillic", "cjk", "arabic", "devanagari"])
    hugo = hugo_sites(workdir, project) if with_hugo else {}
    runs = max(runs, 2) if hugo else runs
    colds, hugo_colds = [], {name: [] for name in hugo}
    for index in range(runs):
        out = workdir / f"pages-{size}-cold-{index}"
        colds.append(run_build(project, "--pages-only", "--out", str(out)))
        for name, site in hugo.items():
            hugo_colds[name].append(time_hugo(site, hugo_output(workdir, name, index)))
    cold = min(colds, key=lambda run: run["seconds"])
    noop = run_build(project, "--pages-only", "--out", str(out))
    print(f"\n== page-only build, {size} credentials ==")
    print(f"cold     {cold['seconds']:7.2f} s  ({size / cold['seconds']:.0f} credentials/s), "
          f"peak memory {cold['peak_mib']:.0f} MiB (main process); CPU "
          f"{min(run['cpu'] for run in colds) / size * 1000:.2f} ms/credential (all processes)"
          + (f"; fastest of {runs}" if runs > 1 else ""))
    print(f"no-op    {noop['seconds']:7.2f} s  generated={noop['counts']['generated']}  "
          f"= {noop['seconds'] / cold['seconds']:.1%} of cold, peak memory {noop['peak_mib']:.0f} MiB")
    if hugo:
        hugo_lines(workdir, project, out, cold["seconds"], {name: min(t) for name, t in hugo_colds.items()}, runs)
    append_record(project, 10**9)
    one = run_build(project, "--pages-only", "--out", str(out))
    print(f"+1 award {one['seconds']:7.2f} s  generated={one['counts']['generated']}  "
          f"= {one['seconds'] / cold['seconds']:.1%} of cold")
    override = project / "themes/default/templates/mode/verified/certificate.html"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text('{% extends "certificate.html" %}')
    tmpl = run_build(project, "--pages-only", "--out", str(out))
    print(f"template {tmpl['seconds']:7.2f} s  generated={tmpl['counts']['generated']} of {size + 1} "
          f"(a new override for verified certificates only)")


def hugo_sites(workdir: Path, project: Path) -> dict[str, Path]:
    """Hugo side by side, twice: on the same pages (the same three files per credential,
    byte for byte: `hugo_pages.py`), and with a one-line template."""
    if not shutil.which("hugo"):
        print("hugo: not installed (Debian package hugo); no side-by-side figure")
        return {}
    from hugo_pages import hugo_same_pages

    return {"same pages": hugo_same_pages(workdir, project, [sys.executable, "-m", "sitegen"]),
            "one-line template": hugo_project(workdir, project)}


def hugo_output(workdir: Path, name: str, run: int) -> Path:
    return workdir / f"hugo-{name.replace(' ', '-')}-{run}"


def hugo_lines(workdir: Path, project: Path, built: Path, sitegen_cold: float, hugo: dict[str, float],
               runs: int) -> None:
    from hugo_pages import check_same_pages, read_rows

    uuids = [row["uuid"] for row in read_rows(project)[:30]]
    print(check_same_pages(hugo_output(workdir, "same pages", runs - 1), built, uuids))
    print(f"hugo     cold, fastest of {runs}: " + "; ".join(f"{name} {s:.2f} s" for name, s in hugo.items()))
    print("ratio    sitegen cold / hugo cold: " + ", ".join(
        f"{sitegen_cold / s:.2f}x ({name})" for name, s in hugo.items()))


def full_figures(workdir: Path, size: int, jobs: int) -> None:
    project = write_project(workdir / f"full-{size}", size, ["latin", "cyrillic", "cjk", "arabic", "devanagari"])
    # Where the time goes first, in this process (one job), then the real thing in a child.
    from stages import breakdown, print_breakdown

    count, cpu, seconds = breakdown(project)
    naive = naive_loop_seconds(project, min(size, 60))
    shutil.rmtree(project / "build")  # the breakdown's
    cold = run_build(project, "--jobs", str(jobs))
    noop = run_build(project)
    append_record(project, 10**9)
    one = run_build(project)
    per_naive = naive / min(size, 60)
    per_sitegen = cold["seconds"] / size
    print(f"\n== full artifacts (page, PDF, signature, statement, JSON), {size} credentials, --jobs {jobs} ==")
    print(f"naive loop   {per_naive * 1000:6.1f} ms/credential (WeasyPrint write_pdf + one gpg sign each, sequential)")
    print(f"sitegen cold {per_sitegen * 1000:6.1f} ms/credential ({size / cold['seconds']:.0f} credentials/s) "
          f"= {per_naive / per_sitegen:.1f}x the naive loop")
    print(f"no-op        {noop['seconds']:6.2f} s; +1 award {one['seconds']:.2f} s "
          f"= {one['seconds'] / cold['seconds']:.1%} of cold")
    print_breakdown(count, cpu, seconds)


def naive_loop_seconds(project: Path, count: int) -> float:
    """The obvious implementation: one WeasyPrint document and one gpg process per credential."""
    import datetime as dt

    import gnupg
    from weasyprint import HTML

    from sitegen.load.config import load_site
    from sitegen.load.record_cache import load_credentials
    from sitegen.render.pdf import fit_text, qr_code_data_uri
    from sitegen.render.theme import Theme
    from sitegen.render.view import present
    from sitegen.sign.gpg import GpgSigner

    site = load_site(project)
    credentials = load_credentials(site, None).credentials
    theme = Theme(site)
    signer = GpgSigner.open(site.signing, site.root, allow_development_key=True)
    gpg = gnupg.GPG(gnupghome=str(signer.home))
    today = dt.date.today()
    started = time.perf_counter()
    for credential in credentials[:count]:
        view = present(credential, site, today)
        url = site.base_url + view.paths.page
        html = theme.render("certificate_pdf.html", view.paths.pdf, for_pdf=True, cert=view,
                            fit=fit_text(view), credential_url=url, qr_code=qr_code_data_uri(url),
                            learner=lambda value: value)  # the template's learner(): prints the value
        pdf = HTML(string=html, base_url=theme.static_dir.as_uri() + "/").write_pdf()
        signature = gpg.sign(pdf, keyid=signer.fingerprint, detach=True, binary=False)
        assert signature.data
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="page-only corpus sizes (comma-separated)")
    parser.add_argument("--full", default="300",
                        help="credentials for the full-artifact builds (comma-separated; 0: skip)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=1,
                        help="cold page-only builds (and Hugo's) to run, alternating; the fastest counts")
    parser.add_argument("--keep", type=Path, help="keep the generated projects in this folder")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sitegen-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; work folder {workdir}", flush=True)
    try:
        for size in (int(s) for s in args.sizes.split(",") if s):
            page_only_figures(workdir, size, with_hugo=size == 10000, runs=args.runs)
        for size in (int(s) for s in args.full.split(",") if s and int(s)):
            full_figures(workdir, size, args.jobs)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
