"""The `sitegen` command: thin wrappers that load settings and call the stages.

Every error a user can cause is printed as one line (file, line, field, problem) with
a non-zero exit status; a traceback is only shown with SITEGEN_DEBUG=1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from sitegen import __version__
from sitegen.errors import InputProblems, SitegenError

EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "quiet", False))
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args) or 0
    except InputProblems as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"sitegen: {len(err.problems)} problem(s) found; nothing was written.", file=sys.stderr)
        return EXIT_ERROR
    except SitegenError as err:
        print(f"sitegen: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("sitegen: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # the user gets one line; developers get the traceback
        if os.environ.get("SITEGEN_DEBUG"):
            raise
        print(f"sitegen: internal error: {type(err).__name__}: {err} (set SITEGEN_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegen", description="Static site generator for verifiable course certificates.")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_build(commands)
    _add_serve(commands)
    _add_publish(commands)
    _add_verify(commands)
    _add_keys(commands)
    _add_revoke(commands)
    _add_purge(commands)
    return parser


def _site_argument(parser) -> None:
    parser.add_argument("--site", type=Path, default=Path("."), metavar="DIR",
                        help="project folder holding site.yml (default: current folder)")


def _site_name_argument(parser, default: str) -> None:
    parser.add_argument("--site-name", metavar="NAME",
                        help=f"one of the sites site.yml declares under `sites:` (default: {default})")


def _add_build(commands) -> None:
    parser = commands.add_parser("build", help="build the static site into build/",
                                 description="Build pages, PDFs, signatures and JSON for every credential. "
                                             "Only what changed since the last build is rebuilt.")
    _site_argument(parser)
    _site_name_argument(parser, "all of them, each into <out>/<name>/")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: <site>/build)")
    parser.add_argument("--base-url", metavar="URL", help="override base_url from site.yml (previews)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: one per core)")
    parser.add_argument("--shard", metavar="K/N|auto",
                        help="build only shard K of N of the credentials and legacy certificates (shard 1 "
                             "also builds the shared pages); auto: K and N from the CI matrix, Kubernetes Indexed "
                             "Job or AWS Batch array job running this")
    parser.add_argument("--clean", action="store_true", help="delete the output folder first")
    parser.add_argument("--pages-only", action="store_true",
                        help="pages and JSON only: no PDFs, signatures or share images (quick previews)")
    parser.add_argument("--json", action="store_true", help="print the build report as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no warnings, only errors and the summary")
    parser.set_defaults(handler=_run_build)


def _run_build(args) -> int:
    from sitegen.commands.build import BuildOptions, build_sites

    if args.jobs < 0:
        raise SitegenError("--jobs: must be 0 (one per core) or more")
    options = BuildOptions(site_dir=args.site.resolve(), out_dir=args.out, base_url=args.base_url,
                           jobs=args.jobs, shard=_shard(args.shard), clean=args.clean, pages_only=args.pages_only,
                           site_name=args.site_name)
    reports = [report for _, report in build_sites(options)]
    for report in reports:
        where = f"site {report.site}: " if report.site else ""
        for uuid, reason in report.errors.items():
            print(f"error: {where}credential {uuid}: {reason}", file=sys.stderr)
        for uuid, reason in (report.legacy.errors if report.legacy else {}).items():
            print(f"error: {where}legacy certificate {uuid}: {reason}", file=sys.stderr)
    if args.json:
        print(reports[0].to_json() if len(reports) == 1 else _sites_json(reports))
    for report in reports:
        print(report.summary(), file=sys.stderr if args.json else sys.stdout)
    return 0 if all(report.ok for report in reports) else EXIT_ERROR


def _sites_json(reports) -> str:
    """The reports of several sites, as one JSON document."""
    return json.dumps({"ok": all(r.ok for r in reports), "sites": {r.site: r.to_dict() for r in reports}},
                      indent=2, ensure_ascii=False)


def _shard(text: str | None):
    """--shard K/N or auto (read at run time, from the engine running the job); None: the whole site."""
    from sitegen.shards import parse_shard

    return None if text is None else parse_shard(text)


def _add_serve(commands) -> None:
    parser = commands.add_parser("serve", help="build, serve on 127.0.0.1 and rebuild on changes",
                                 description="Build the site, serve it on 127.0.0.1, rebuild and reload the "
                                             "browser whenever a file of the project changes.")
    _site_argument(parser)
    _site_name_argument(parser, "the first one")
    parser.add_argument("--port", type=int, default=8000, metavar="P", help="port (default 8000)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: <site>/build)")
    parser.set_defaults(handler=_run_serve)


def _run_serve(args) -> int:
    from sitegen.commands.serve import serve

    return serve(args.site.resolve(), args.port, args.out, args.site_name)


def _add_publish(commands) -> None:
    parser = commands.add_parser("publish", help="upload build/ to the S3 bucket and invalidate the CDN",
                                 description="Sync build/ to the bucket in site.yml by content: only changed "
                                             "objects are uploaded; only objects sitegen published are deleted.")
    _site_argument(parser)
    _site_name_argument(parser, "all of them, each from <out>/<name>/ to its own bucket")
    parser.add_argument("--shard", metavar="K/N|auto",
                        help="publish only the objects of shard K of N of the credentials and legacy "
                             "certificates, built with the same --shard (shard 1 also publishes the shared pages); "
                             "auto: as for build")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--endpoint-url", metavar="URL", help="S3-compatible endpoint (overrides site.yml and env)")
    parser.add_argument("--max-deletes", type=int, metavar="N", help="refuse if more objects would be deleted")
    parser.add_argument("--upload-processes", type=int, metavar="N",
                        help="processes that upload a large batch (thousands of objects): 0 is one per core, "
                             "1 this process alone (default: publish.upload_processes in site.yml, 0)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="the build folder (default: <site>/build)")
    parser.add_argument("--json", action="store_true", help="print the publish report as JSON")
    parser.set_defaults(handler=_run_publish)


def _run_publish(args) -> int:
    from sitegen.commands.build import site_output_folder
    from sitegen.load.config import load_sites, select_sites
    from sitegen.load.purge_list import load_purge_list
    from sitegen.publish.sync import check_build, check_distinct_targets, publish

    shard = _shard(args.shard)
    if args.upload_processes is not None and args.upload_processes < 0:
        raise SitegenError("--upload-processes: must be 0 (one per core) or more")
    sites = select_sites(load_sites(args.site.resolve()), args.site_name)
    for site in sites:  # several sites: none is published unless all can be
        check_build(site_output_folder(site, args.out, preview=False), shard=shard)
    if len(sites) > 1:
        check_distinct_targets([site.publish for site in sites], args.endpoint_url, [site.key for site in sites])
    purge_list = load_purge_list(sites[0].root)
    if purge_list.problems:
        raise InputProblems(purge_list.problems)
    # With --json, stdout is for the report alone: progress goes to stderr.
    log = (lambda line: print(line, file=sys.stderr)) if args.json else print
    reports = []
    for site in sites:
        if site.key:
            log(f"Site {site.key}:")
        reports.append(publish(site_output_folder(site, args.out, preview=False), site.publish,
                               dry_run=args.dry_run, endpoint_url=args.endpoint_url,
                               max_deletes=args.max_deletes, base_url=site.base_url, log=log,
                               purged=purge_list.uuids_of_site(site.key), shard=shard,
                               upload_processes=args.upload_processes))
    if args.json:
        if len(reports) == 1:
            print(reports[0].to_json())
        else:
            print(json.dumps({site.key: json.loads(r.to_json()) for site, r in zip(sites, reports, strict=True)},
                             indent=2))
    return 0


def _add_verify(commands) -> None:
    parser = commands.add_parser(
        "verify", help="check whether a certificate PDF or URL is genuine",
        description="Tell whether a certificate PDF (or credential URL) is genuine, and its status, "
                    "against the issuer YOU name (--site-url, --build-dir, --key, --fingerprint or "
                    "--issuers): a document cannot vouch for itself. Exit status 0 only when it is valid; "
                    "checked only against the site the document names, the verdict is 'unverified'.")
    parser.add_argument("target", metavar="PDF_OR_URL_OR_JSON")
    parser.add_argument("--site-url", metavar="URL",
                        help="the issuer's site, as you know it: its published key is trusted, and "
                             "credentials must be on it")
    parser.add_argument("--build-dir", type=Path, metavar="DIR",
                        help="check against a local build (trusted as the issuer's own) instead of the live site")
    parser.add_argument("--key", type=Path, metavar="FILE",
                        help="the issuer's ASCII-armoured public key: only signatures by it count")
    parser.add_argument("--fingerprint", metavar="FPR",
                        help="pin the issuer's key: the key must have this fingerprint (40 hex digits)")
    parser.add_argument("--issuers", type=Path, metavar="FILE",
                        help="trusted issuers, YAML or JSON: a list of {site_url, fingerprint, name}")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="deadline for each download (default: $SITEGEN_VERIFY_TIMEOUT or 20)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=_run_verify)


def _run_verify(args) -> int:
    from sitegen.verify import verify_command

    return verify_command(args)


def _add_keys(commands) -> None:
    parser = commands.add_parser("keys", help="create or show the signing key")
    keys = parser.add_subparsers(title="actions", metavar="ACTION")
    init = keys.add_parser("init", help="create a signing key in the configured GNUPGHOME")
    _site_argument(init)
    init.add_argument("--algorithm", choices=("ed25519", "rsa3072"), help="default: signing.algorithm in site.yml")
    init.add_argument("--name", help="key owner name (default: the site name)")
    init.add_argument("--email", help="key owner email (default: contact_email)")
    init.add_argument("--vc-only", action="store_true",
                      help="create only the Ed25519 key of the verifiable credentials (a rotation)")
    init.set_defaults(handler=_run_keys_init)
    export = keys.add_parser("export", help="print the public key and its fingerprint")
    _site_argument(export)
    export.set_defaults(handler=_run_keys_export)
    parser.set_defaults(handler=lambda args: parser.print_help() or EXIT_USAGE)


def _run_keys_init(args) -> int:
    from sitegen.load.config import load_site
    from sitegen.sign.keys import init_key
    from sitegen.sign.vc_key import create_vc_key, vc_key_file

    site = load_site(args.site.resolve())
    vc_file, _, _ = vc_key_file(site.signing, site.root)
    if not args.vc_only:
        fingerprint = init_key(site.signing, site.root, algorithm=args.algorithm or site.signing.algorithm,
                               name=args.name or site.name, email=args.email or site.contact_email)
        print(f"Created signing key {fingerprint}")
        print("Put it in site.yml (signing.key) or SITEGEN_SIGNING_KEY; keep GNUPGHOME out of the repository.")
    if vc_file.exists() and not args.vc_only:
        print(f"Kept the Ed25519 key of the verifiable credentials in {vc_file}")
    else:
        print(f"Created the Ed25519 key of the verifiable credentials in {create_vc_key(site.signing, site.root)}")
    return 0


def _run_keys_export(args) -> int:
    from sitegen.load.config import load_site
    from sitegen.sign.keys import export_key
    from sitegen.sign.vc_key import open_vc_key
    from sitegen.vc import did_for_base_url, public_key_multibase

    site = load_site(args.site.resolve())
    fingerprint, armored = export_key(site.signing, site.root)
    print(f"Fingerprint: {fingerprint}")
    print(armored)
    vc_key = open_vc_key(site.signing, site.root)
    print(f"Verifiable credentials: issuer {did_for_base_url(site.base_url)}, "
          f"Ed25519 key {public_key_multibase(vc_key.key.public_key())}")
    return 0



def _add_revoke(commands) -> None:
    parser = commands.add_parser("revoke", help="mark a credential revoked in its record file",
                                 description="Mark credential UUID revoked, with a reason, in the record file where "
                                             "it lives; only its status and reason change. The next build and "
                                             "publish withdraw its PDF.")
    parser.add_argument("uuid", metavar="UUID", help="the credential ID (32 hex digits, as in its URL)")
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why, in one line: shown on its page")
    _site_argument(parser)
    parser.set_defaults(handler=_run_revoke)


def _run_revoke(args) -> int:
    from sitegen.commands.revoke import run_revoke

    return run_revoke(args.site.resolve(), args.uuid, args.reason)


def _add_purge(commands) -> None:
    parser = commands.add_parser("purge", help="erase a credential or legacy certificate on the learner's request",
                                 description="Erasure request: remove the record of credential UUID from the file "
                                             "where it lives and add UUID to credentials_data/purged.txt. The next "
                                             "build and publish remove every copy of the learner's data; the "
                                             "credential's URL then says it is no longer available. UUID may also be "
                                             "the verify_uuid of a legacy edX certificate (a row of a "
                                             "GeneratedCertificate export): its row is removed and it is listed in "
                                             "credentials_data/legacy-purged.txt; the next build and publish remove "
                                             "its pages, its PDF and its signature (docs/legacy.md), and it prints "
                                             "the platform's purge_references_to_pdf_certificates command.")
    parser.add_argument("uuid", metavar="UUID",
                        help="the credential ID (32 hex digits, as in its URL, or the platform's 8-4-4-4-12 form), "
                             "or a legacy certificate's verify_uuid (as in its cert/<verify_uuid>/ URL)")
    _site_argument(parser)
    parser.set_defaults(handler=_run_purge)


def _run_purge(args) -> int:
    from sitegen.commands.purge import run_purge

    return run_purge(args.site.resolve(), args.uuid)


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(format="%(levelname)s: %(message)s",
                        level=logging.ERROR if quiet else logging.WARNING, stream=sys.stderr)
