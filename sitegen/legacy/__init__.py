"""Legacy edX PDF certificates: an export of the platform's `GeneratedCertificate` table,
kept alive at the old agent's URLs (see docs/legacy.md).

load (`export.py`, `purge_list.py`) -> build (`stage.py`: verification pages in the
current theme, the URL map) -> publish (`bucket.py`: the old PDFs and signatures are never
sitegen's; a purged certificate's are erased) -> purge (`purge.py`: `sitegen purge
<verify_uuid>`). Paths come from `paths.py`.
"""
