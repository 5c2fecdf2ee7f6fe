"""资金来源分摊 on the award draft: the proposed split in whole yuan, the officer's own split (within each
source's remaining budget, adding up to the award), going back to the proposed split, and the split shown on
the draft page, the contract and the voucher."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.awards import services
from grants.awards.services import AwardError, allocate_whole_yuan
from grants.core.audit import AuditLog
from tests.awards import factories as af

Y = 100


def test_the_proposed_split_is_in_whole_yuan():
    # 2:1 of ¥100,000.00 is ¥66,666.67 / ¥33,333.33 in fen; in whole yuan ¥66,667 / ¥33,333.
    assert allocate_whole_yuan(100_000_00, [200_000_00, 100_000_00]) == [66_667_00, 33_333_00]
    # An award's own odd fen go to the first source with room.
    assert allocate_whole_yuan(100_000_05, [200_000_00, 100_000_00]) == [66_667_05, 33_333_00]
    # Whole yuan that cannot fit (a source with fen left only) fall back to the exact fen split.
    assert sum(allocate_whole_yuan(150, [75, 75])) == 150
    with pytest.raises(AwardError):
        allocate_whole_yuan(301, [150, 150])


def _draft(monkeypatch, requested=(100_000, 60_000)):
    call = af.scored_call(sources=(("welfare_lottery", 100_000_00), ("fiscal_matching", 60_000_00),
                                   ("social", 40_000_00)), categories=(("为老服务", None),))
    apps = [af.scored_application(call, requested_fen=r * Y) for r in requested]
    af.use_ranking(monkeypatch, apps)
    a, b = af.officers(call)
    services.propose_awards(call, a)
    return call, services.awards_of(call), a


def _split(award):
    return [x.amount_fen for x in sorted(award.allocations, key=lambda x: x.funding_source_id)]


def test_officer_sets_the_split_and_other_drafts_follow(ctx, db, monkeypatch):
    call, (first, second), officer = _draft(monkeypatch)
    assert all(fen % 100 == 0 for award in (first, second) for fen in _split(award))
    src = [s.id for s in call.funding_sources]
    services.set_award_allocation(first, {src[0]: 70_000_00, src[1]: 0, src[2]: 30_000_00}, officer)
    assert {x.funding_source_id: x.amount_fen for x in first.allocations} == {src[0]: 70_000_00, src[2]: 30_000_00}
    assert first.allocation_set_by_id == officer.id
    # The other draft is recharged from what is left (30,000 / 60,000 / 10,000), never beyond a source.
    left = {src[0]: 30_000_00, src[1]: 60_000_00, src[2]: 10_000_00}
    assert sum(x.amount_fen for x in second.allocations) == second.amount_fen
    assert all(x.amount_fen <= left[x.funding_source_id] for x in second.allocations)
    # An adjustment elsewhere keeps the officer's split as set.
    services.adjust_award(second, 50_000_00, "压缩预算", officer)
    assert {x.funding_source_id: x.amount_fen for x in first.allocations} == {src[0]: 70_000_00, src[2]: 30_000_00}
    log = db.session.query(AuditLog).filter_by(action="award.set_allocation").one()
    assert log.after["allocations"] == {str(src[0]): 70_000_00, str(src[2]): 30_000_00}

    # Back to the proposed split.
    services.reset_award_allocation(first, officer)
    assert first.allocation_set_by_id is None
    assert all(fen % 100 == 0 for fen in _split(first))


@pytest.mark.parametrize("shares, message", [
    ((60_000_00, 30_000_00, 0), "不一致"),                  # adds up to 90,000, not 100,000
    ((0, 55_000_00, 45_000_00), "剩余额度"),                # the social source holds 40,000.00
    ((110_000_00, -10_000_00, 0), "负数"),
])
def test_a_split_beyond_a_source_or_not_adding_up_is_refused(ctx, db, monkeypatch, shares, message):
    call, (first, _second), officer = _draft(monkeypatch, requested=(100_000, 10_000))
    before = _split(first)
    with pytest.raises(AwardError) as err:
        services.set_award_allocation(first, dict(zip([s.id for s in call.funding_sources], shares)), officer)
    assert message in err.value.message
    assert _split(first) == before


def test_the_draft_page_sets_the_split_and_keeps_bad_input(client, db, login_as, monkeypatch):
    from tests import factories

    with client.application.test_request_context():
        call, (first, _second), _officer = _draft(monkeypatch)
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    login_as(officer)
    r = client.get(f"/awards/calls/{call.id}")
    assert r.status_code == 200 and "资金来源分摊" in r.text and "建议分摊" in r.text
    src = [s.id for s in call.funding_sources]
    r = client.post(f"/awards/{first.id}/allocation",
                    data={f"source-{src[0]}": "80000", f"source-{src[1]}": "20000.5", f"source-{src[2]}": "x²"})
    assert r.status_code == 422 and "最多两位小数" in r.text and 'value="20000.5"' in r.text
    r = client.post(f"/awards/{first.id}/allocation",
                    data={f"source-{src[0]}": "80,000", f"source-{src[1]}": "15000", f"source-{src[2]}": "5000"})
    assert r.status_code == 302
    db.session.expire_all()
    award = db.session.get(type(first), first.id)
    assert {x.funding_source_id: x.amount_fen for x in award.allocations} == {
        src[0]: 80_000_00, src[1]: 15_000_00, src[2]: 5_000_00}
    r = client.get(f"/awards/calls/{call.id}")
    assert "经办人设定" in r.text and "恢复为建议分摊" in r.text
    r = client.post(f"/awards/{first.id}/allocation", data={"reset": "1"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(first), first.id).allocation_set_by_id is None


def test_contract_and_voucher_show_the_split(app, client, db, login_as):
    from grants.contracts.views import contract_pdf_bytes
    from grants.finance import services as fin
    from grants.finance.views import payment_sources
    from tests.finance import factories as ff

    with app.test_request_context():
        call = ff.funded_call(sources=(("welfare_lottery", 60_000_000), ("fiscal_matching", 40_000_000)))
        contract = ff.active_contract(call, amount_fen=5_000_000, shares=(3_000_000, 2_000_000))
        p = ff.first_payment(contract)
        fin.approve_payment(p, ff.finance_user(call))
        fin.release_payment(p, ff.finance_user(call), "V-1", dt.date(2026, 11, 23))
        db.session.commit()
        # First tranche 40 %: ¥20,000 of the ¥50,000, charged 12,000 / 8,000.
        assert [fen for _label, fen in payment_sources(p)] == [1_200_000, 800_000]
        assert [label for label, _fen in payment_sources(p)] == [s.label for s in call.funding_sources]
        assert contract_pdf_bytes(contract)[:4] == b"%PDF"
        officer = ff.officer(call)
        db.session.commit()
    login_as(officer)
    r = client.get(f"/contracts/{contract.id}")
    assert r.status_code == 200 and 'id="contract-allocations"' in r.text and "¥30,000.00" in r.text
