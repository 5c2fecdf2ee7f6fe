"""No personal data on public pages and files: contact names, phones, e-mails, bank accounts, signers (often
the legal representative), team members, members' names and mobiles, objectors."""
from __future__ import annotations

import re

from tests import factories
from tests.disclosure.factories import SECRETS_A, personal_strings


def _public_urls(client, world) -> list[str]:
    call, a, b = world.call.id, world.award_a.id, world.award_b.id
    urls = ["/", "/disclosure", f"/disclosure/{call}", f"/disclosure/{call}?page=2", f"/disclosure/{call}?q=阳光",
            f"/disclosure/{call}?status=active", f"/disclosure/projects/{a}", f"/disclosure/projects/{b}",
            f"/disclosure/{call}.csv", f"/disclosure/{call}/360giving.json", "/disclosure/grants.csv",
            "/disclosure/360giving.json", "/public/notices", f"/public/notices/{call}",
            f"/public/notices/{call}/objection", "/public/calls", f"/public/calls/{call}"]
    # …and every disclosure link those pages carry.
    for url in list(urls):
        html = client.get(url).get_data(as_text=True)
        urls += [u for u in re.findall(r'href="(/disclosure[^"#]*)"', html) if u not in urls]
    return urls


def test_no_personal_data_reaches_public_pages_or_files(client, world):
    secrets = personal_strings()
    urls = _public_urls(client, world)
    for url in urls:
        resp = client.get(url.replace("&amp;", "&"))
        assert resp.status_code == 200, url
        body = resp.get_data(as_text=True)
        leaked = [s for s in secrets if s in body]
        assert not leaked, f"{url} shows {leaked}"


def test_the_personal_data_is_real(client, login_as, world):
    """The strings the test looks for are in the database: staff pages show them."""
    login_as(factories.user(roles=("officer",), unit=world.unit))
    html = client.get(f"/organizations/{world.org_a.id}").get_data(as_text=True)
    assert SECRETS_A["contact_phone"] in html and SECRETS_A["bank_account_number"] in html
