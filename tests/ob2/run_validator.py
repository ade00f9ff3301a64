"""Runs the 1EdTech Open Badges 2.0 validator (PyPI `openbadges`) offline, in its own venv.

    <validator venv>/bin/python tests/ob2/run_validator.py --context-url URL < jobs.json > results.json
    <validator venv>/bin/python tests/ob2/run_validator.py --dump-context > context.json

Each job is {"input": <assertion URL or JSON>, "recipient": <profile, optional>}; each result is
the validator's report for it, as `openbadges.verify` returns it. Only 127.0.0.1 and localhost
are reached: the Open Badges 2.0 context (https://w3id.org/openbadges/v2) is fetched from
`--context-url`, where the test serves the validator's own copy (--dump-context), and any other
URL fails and is listed in "refused".

This file runs under the validator's Python, not sitegen's: it imports nothing from sitegen.
"""

import argparse
import json
import sys
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

CONTEXT_URLS = ("https://w3id.org/openbadges/v2", "http://w3id.org/openbadges/v2")
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--context-url", help="where the Open Badges 2.0 context is served")
    parser.add_argument("--dump-context", action="store_true", help="print the validator's copy of the context")
    args = parser.parse_args()
    if args.dump_context:
        from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT
        json.dump(OPENBADGES_CONTEXT_V2_DICT, sys.stdout, indent=2)
        return
    refused = []
    stay_offline(args.context_url, refused)
    from openbadges import verify

    results = []
    for job in json.load(sys.stdin):
        # No cache: each job fetches what is served now.
        results.append(verify(job["input"], recipient_profile=job.get("recipient"), use_cache=False,
                              cache_backend=None))
    json.dump({"results": results, "refused": refused}, sys.stdout, indent=2)


def stay_offline(context_url, refused):
    """Every request of every requests session goes through HTTPAdapter.send: answer the context
    from the local server, pass local URLs, and fail all others."""
    send = HTTPAdapter.send

    def local_send(adapter, request, *args, **kwargs):
        url = request.url
        if url in CONTEXT_URLS and context_url:
            request.url = context_url
        elif urlsplit(url).hostname not in LOCAL_HOSTS:
            refused.append(url)
            raise requests.ConnectionError(f"offline test: refused {url}")
        return send(adapter, request, *args, **kwargs)

    HTTPAdapter.send = local_send


if __name__ == "__main__":
    main()
