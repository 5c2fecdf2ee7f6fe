"""An applicant can never open, edit, download or guess another organisation's application,
PDF or attachments; members of the same organisation can."""
import datetime as dt

import pytest

from grants.applications.models import ApplicationStatus
from grants.core.timeutil import UTC
from tests import factories
from tests.applications import factories as af


@pytest.fixture()
def two_orgs(app, db, client, login_as, clock, ctx):
    clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    call = af.call()
    theirs = af.application(call, factories.organization(name="别家组织"), status=ApplicationStatus.SUBMITTED)
    their_draft = af.application(call, theirs.organization)
    me = login_as("applicant")
    mine = af.application(call, me.organization)
    db.session.commit()
    return call, me, mine, theirs, their_draft


def urls(a):
    att = a.attachments[0].id
    return [f"/applications/{a.id}", f"/applications/{a.id}/edit", f"/applications/{a.id}/pdf",
            f"/applications/{a.id}/attachments/{att}", f"/applications/{a.id}/attachments/{att}?inline=1"]


def test_other_organisations_application_is_refused(client, two_orgs):
    _call, _me, _mine, theirs, their_draft = two_orgs
    for a in (theirs, their_draft):
        for url in urls(a):
            with client.get(url) as resp:
                assert resp.status_code in (403, 404), url
        for url in (f"/applications/{a.id}/edit", f"/applications/{a.id}/withdraw"):
            assert client.post(url, data={"project_name": "篡改"}).status_code in (403, 404)
    assert theirs.project_name != "篡改"


def test_generic_file_route_refuses_their_attachment(client, two_orgs):
    *_, theirs, _draft = two_orgs
    with client.get(f"/files/{theirs.attachments[0].stored_file_id}") as resp:
        assert resp.status_code == 403


def test_guessing_an_attachment_id_under_my_own_application_is_404(client, two_orgs):
    _call, _me, mine, theirs, _draft = two_orgs
    with client.get(f"/applications/{mine.id}/attachments/{theirs.attachments[0].id}") as resp:
        assert resp.status_code == 404


def test_my_own_application_and_files_are_mine(client, two_orgs):
    _call, _me, mine, _theirs, _draft = two_orgs
    for url in urls(mine):
        with client.get(url) as resp:
            assert resp.status_code == 200, url
    with client.get(urls(mine)[3]) as resp:
        assert resp.data == af.PDF


def test_colleague_of_the_same_organisation_may_edit(client, login_as, two_orgs):
    _call, me, mine, _theirs, _draft = two_orgs
    colleague = factories.member(me.organization, is_admin=False)
    login_as(colleague)
    assert client.get(f"/applications/{mine.id}/edit").status_code == 200


def test_lists_show_only_my_organisation(client, two_orgs):
    *_, theirs, _draft = two_orgs
    html = client.get("/applications/mine").get_data(as_text=True)
    assert "别家组织" not in html and theirs.number not in html


def test_submitted_application_is_no_longer_editable(client, db, two_orgs):
    call, me, _mine, _theirs, _draft = two_orgs
    done = af.application(call, me.organization, status=ApplicationStatus.SUBMITTED)
    db.session.commit()
    assert client.get(f"/applications/{done.id}/edit").status_code == 403
    assert client.get(f"/applications/{done.id}").status_code == 200


@pytest.mark.parametrize("role", ["expert", "evaluator", "finance", "admin"])
def test_other_roles_cannot_read_applications(client, login_as, two_orgs, role):
    *_, theirs, _draft = two_orgs
    login_as(role)
    for url in urls(theirs):
        with client.get(url) as resp:
            assert resp.status_code in (403, 404), (role, url)
