"""The issuer's CI, end to end: `sitegen build && sitegen publish`, against a real S3 server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import SAMPLE_SITE, sitegen_subprocess
from s3server import bucket, moto_server, s3  # noqa: F401  (fixtures)

VALID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"


def test_ci_builds_then_publishes_only_what_changed(tmp_path, gpg_key, moto_server, s3, bucket):
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site)
    env = {**os.environ, **moto_server.env(), "SITEGEN_GNUPGHOME": str(gpg_key.home),
           "SITEGEN_SIGNING_KEY": gpg_key.fingerprint, "SITEGEN_PUBLISH_BUCKET": bucket,
           "SITEGEN_PUBLISH_ENDPOINT_URL": moto_server.url}
    assert sitegen_subprocess("build", "--site", site, env=env).code == 0

    first = sitegen_subprocess("publish", "--site", site, "--json", env=env)
    assert first.code == 0, first.err
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {f"credentials/{VALID}/certificate.pdf", f"credentials/{VALID}/index.html",
            f"credentials/{VALID}", f"credentials/{VALID}/"} <= keys  # with and without the slash
    assert not any(k.startswith(".sitegen/state") or "/.sitegen/" in k for k in keys)
    alias = s3.get_object(Bucket=bucket, Key=f"credentials/{VALID}")
    assert alias["ContentType"] == "text/html; charset=utf-8"

    with open(site / "credentials_data/awards.csv", "a", encoding="utf-8") as handle:
        handle.write("8c9d0e1f2a3b48f9a07bc2d3e4f5a6b7,new,Nova Novák,course-certificate,"
                     "course-v1:AcmeX+CS101+2026,verified,awarded,2026-08-01,,,0.75\n")
    assert sitegen_subprocess("build", "--site", site, env=env).code == 0
    second = sitegen_subprocess("publish", "--site", site, "--json", env=env)
    assert second.code == 0, second.err
    uploaded = json.loads(second.out)["uploaded"]
    new_objects = 8  # page (+2 aliases), PDF, signature, statement, share card, JSON
    assert new_objects <= uploaded <= new_objects + 1 + 5  # + the PDF hash index, + at most 5 shared files


def test_publish_refuses_a_development_key_build(moto_server, bucket):
    import tempfile

    # The development key's gpg-agent socket lives in the project: keep the path short.
    site = Path(tempfile.mkdtemp(prefix="sg-")) / "site"
    shutil.copytree(SAMPLE_SITE, site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")}
    env.update(moto_server.env(), SITEGEN_PUBLISH_BUCKET=bucket, SITEGEN_PUBLISH_ENDPOINT_URL=moto_server.url)
    try:
        assert sitegen_subprocess("build", "--site", site, env=env).code == 0
        refused = sitegen_subprocess("publish", "--site", site, env=env)
    finally:
        from gpgkeys import stop_agent

        stop_agent(site / ".dev-gnupg")
    assert refused.code != 0
    assert "development key" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
