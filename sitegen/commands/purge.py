"""`sitegen purge UUID`: the command around sitegen/lifecycle/purge.py."""

from __future__ import annotations

import sys
from pathlib import Path

from sitegen.legacy.purge import is_legacy_id, run_legacy_purge
from sitegen.lifecycle.purge import MAX_LEFTOVERS, purge

NEXT_STEP = ("run sitegen build && sitegen publish to remove every copy (pages, PDF, signatures, JSON, "
             "old object versions in the bucket)")


def run_purge(site_dir: Path, uuid: str) -> int:
    """Purge, and say in one line where the record was, and what is left to do. A refusal
    is a PurgeRefused (a SitegenError), which the CLI prints as one line. Places where the
    learner's username or name is still written go in a warning line: places only, as
    this output ends up in CI logs."""
    if is_legacy_id(site_dir, uuid):  # a legacy edX certificate's verify_uuid (sitegen/legacy/purge.py)
        return run_legacy_purge(site_dir, uuid)
    result = purge(site_dir, uuid)
    if result.file_removed:
        done = "the file is removed (this was its only record)"
    else:
        done = "its record is removed"
    if result.resumed:
        done += f" (its ID was already in {result.listed}: an interrupted purge is finished)"
    else:
        done += f" and its ID added to {result.listed}"
    print(f"{result.location}: purged {result.uuid}: {done}; commit {result.listed.file.rsplit('/', 1)[0]}/, "
          f"then {NEXT_STEP}")
    if result.leftovers:
        places = ", ".join(str(place) for place in result.leftovers[:MAX_LEFTOVERS])
        more = " and more" if len(result.leftovers) > MAX_LEFTOVERS else ""
        print(f"sitegen: warning: the learner's username or name is still written at {places}{more}: other "
              "credentials of theirs (purge them too if the request covers them), a namesake's, or a note "
              "(edit it by hand)", file=sys.stderr)
    return 0
