"""Share links: what names the course is encoded once per course and mode, and every page still
gets exactly the URLs one urlencode of all its fields gives, with its own learner's values."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

from sitegen.layout import CredentialPaths
from sitegen.render.html import share_links
from sitegen.render.view import CertificateView

SITE = SimpleNamespace(base_url="https://verify.example.org/")


def view(number: int, **changes) -> CertificateView:
    uuid = f"{number:032x}"
    base = CertificateView(
        uuid=uuid, recipient_name=f"Learner {number}", name_direction="ltr", username=f"learner{number}",
        title="Data & Science: A+B = C?", kind="course", kind_label="Course certificate", mode="verified",
        mode_label="Verified Certificate", mode_description=None, organization_name="Example University",
        organization_short_name="ExU", organization_logo=None, organization_linkedin_id=None,
        issued=dt.date(2024, 3, number % 28 + 1), issued_display="", expires=None, expires_display=None,
        status="valid", status_label="Valid", revocation_reason=None, grade=None, attributes=(),
        program_courses=(), signatories=(), paths=CredentialPaths(uuid))
    return dataclasses.replace(base, **changes)


def expected_links(v: CertificateView) -> dict[str, str]:
    """Each URL as one urlencode of all its fields, in LinkedIn's order (what pages always had)."""
    page_url = SITE.base_url + v.paths.page
    add = {"startTask": "CERTIFICATION_NAME", "name": f"{v.title} ({v.mode_label or v.kind_label})",
           "issueYear": str(v.issued.year), "issueMonth": str(v.issued.month), "certUrl": page_url, "certId": v.uuid}
    if v.expires:
        add["expirationYear"], add["expirationMonth"] = str(v.expires.year), str(v.expires.month)
    if v.organization_linkedin_id:
        add["organizationId"] = v.organization_linkedin_id
    else:
        add["organizationName"] = v.organization_name
    text = f"I earned a {v.kind_label.lower()} for {v.title} from {v.organization_name}"
    return {
        "linkedin_add_url": "https://www.linkedin.com/profile/add?" + urlencode(add),
        "linkedin_share_url": "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": page_url}),
        "x_share_url": "https://x.com/intent/post?" + urlencode({"text": text, "url": page_url}),
        "facebook_share_url": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": page_url}),
    }


# One after the other, as a build meets them: each differs from the one before in one thing
# the course's part of the URLs shows, or in the learner only.
VIEWS = [
    view(1),
    view(2),  # another learner of the same course and mode
    view(3, expires=dt.date(2030, 7, 1)),
    view(4, mode="honor", mode_label="Honor Code Certificate"),
    view(5, mode=None, mode_label=None),  # the award falls back to the kind
    view(6, title="Another & course"),
    view(7, organization_name="Other Institute"),
    view(8, organization_linkedin_id="1234567"),
    view(9, kind="program", kind_label="Program certificate", mode=None, mode_label=None),
    view(10, status="revoked", status_label="Revoked"),
    view(11),  # the first course and mode again
]


def test_every_page_gets_the_urls_of_one_urlencode_of_all_its_fields():
    for v in VIEWS:
        assert share_links(SITE, v) == expected_links(v), v.uuid


def test_two_learners_of_a_course_never_share_their_own_values():
    first, second = (share_links(SITE, v) for v in VIEWS[:2])
    for key in first:
        assert first[key] != second[key]
    for links, v, other in ((first, VIEWS[0], VIEWS[1]), (second, VIEWS[1], VIEWS[0])):
        add = parse_qs(urlsplit(links["linkedin_add_url"]).query)
        assert add["certId"] == [v.uuid] and add["issueMonth"] == [str(v.issued.month)]
        assert all(other.uuid not in url for url in links.values())
