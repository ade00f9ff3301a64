"""`sitegen revoke UUID --reason TEXT`: the command around sitegen/lifecycle/revoke.py."""

from __future__ import annotations

from pathlib import Path

from sitegen.lifecycle.revoke import revoke


def run_revoke(site_dir: Path, uuid: str, reason: str) -> int:
    """Revoke, and say in one line where, and what is left to do. A refusal is a
    RevokeRefused (a SitegenError), which the CLI prints as one line."""
    result = revoke(site_dir, uuid, reason)
    dated = f" on {result.fields['revocation_date']}" if "revocation_date" in result.fields else \
        " (no date: the file has no revocation_date column)"
    print(f"{result.location}: revoked {result.uuid}{dated}; rebuild and publish to withdraw the PDF "
          "(sitegen build && sitegen publish)")
    return 0
