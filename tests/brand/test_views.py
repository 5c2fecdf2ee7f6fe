"""The brand-project pages end to end: an officer opens a selection, nominates, accepts a self-nomination and
builds the panel; experts declare and score; the officer confirms the winners and publishes; the winners
are marked on the organisation record and the contract page. List pages use a fixed number of queries."""
from __future__ import annotations

import re

import sqlalchemy as sa

from grants.brand import services as svc
from grants.brand.models import BrandNomination, BrandSelection, SelectionStatus
from grants.core.models import AuditLog
from grants.extensions import db as _db
from tests import factories
from tests.brand import factories as bf
from tests.contracts import factories as cf


def _count(db, fn) -> int:
    n = 0

    def on_exec(*_args, **_kw):
        nonlocal n
        n += 1

    sa.event.listen(db.engine, "before_cursor_execute", on_exec)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_exec)
    return n


def _ok(resp, code=302):
    assert resp.status_code == code, resp.get_data(as_text=True)[:2000]
    return resp


def test_full_flow_through_the_pages(app, client, db, login_as):
    with app.test_request_context():
        unit = factories.host_unit()
        officer = bf.officer(unit)
        call = cf.call(unit)
        star = bf.completed_contract(call, name="银龄互助")
        good = bf.completed_contract(call, name="四点半课堂")
        third = bf.completed_contract(call, name="邻里议事会")
        org_admin = factories.member(third.organization)
        experts = [bf.expert(employer=f"大学{i}") for i in range(3)]
        linked = bf.expert(affiliated_organization=good.organization)
        db.session.commit()

    # The officer opens a selection limited to the call, with a two-criterion rubric.
    login_as(officer)
    assert client.get("/brand/new").status_code == 200
    _ok(client.post("/brand/new", data={
        "title": "2026年度品牌项目", "year": "2026", "winners_count": "2", "call_ids": [str(call.id)],
        "scoring_deadline_at": "2029-12-31T17:00", "aggregation": "mean", "criteria": "项目成效 60\n创新性 40"}))
    s = db.session.scalars(sa.select(BrandSelection)).one()
    assert s.call_ids == [call.id] and [(c.name, c.max_points) for c in s.criteria] == [("项目成效", 60), ("创新性", 40)]
    _ok(client.post(f"/brand/{s.id}/advance", data={"action": "open_nominations"}))
    page = client.get(f"/brand/{s.id}").get_data(as_text=True)
    assert "银龄互助" in page and 'id="nominate-form"' in page
    for c in (star, good):
        _ok(client.post(f"/brand/{s.id}/nominate", data={"contract_id": c.id, "reason": f"{c.project_name}成效突出"}))

    # The third project's organisation puts itself forward; the officer accepts.
    login_as(org_admin)
    mine = client.get("/brand/mine").get_data(as_text=True)
    assert "邻里议事会" in mine and "银龄互助" not in mine
    _ok(client.post("/brand/mine", data={"selection_id": s.id, "contract_id": third.id, "reason": "议事会模式已推广到五个社区"}))
    login_as(officer)
    self_nom = db.session.scalar(sa.select(BrandNomination).where(BrandNomination.contract_id == third.id))
    assert self_nom.status == "proposed"
    _ok(client.post(f"/brand/nominations/{self_nom.id}/accept"))

    for e in (*experts, linked):
        _ok(client.post(f"/brand/{s.id}/panel", data={"expert_id": e.id}))
    _ok(client.post(f"/brand/{s.id}/advance", data={"action": "start_scoring"}))
    db.session.expire_all()
    assert db.session.get(BrandSelection, s.id).status == SelectionStatus.SCORING
    noms = {n.contract_id: n for n in db.session.scalars(sa.select(BrandNomination))}

    # The linked expert sees the task as a conflict and cannot open the score sheet.
    login_as(linked)
    assert "/brand/tasks" in client.get("/reviews/tasks").get_data(as_text=True)  # the way from the review tasks
    tasks = client.get("/brand/tasks").get_data(as_text=True)
    assert tasks.count('data-nomination="') == 3 and "系统识别" in tasks
    assert client.get(f"/brand/nominations/{noms[good.id].id}/score").status_code == 403
    assert client.post(f"/brand/nominations/{noms[good.id].id}/score",
                       data={"action": "submit", "comment": "x"}).status_code == 403

    # The experts declare and score: 银龄互助 best, 邻里议事会 second, 四点半课堂 third.
    marks = {star.id: [(55, 35), (50, 30), (58, 38)], third.id: [(45, 30), (40, 30), (50, 30)],
             good.id: [(30, 20), (35, 20), (40, 25)]}
    for i, e in enumerate(experts):
        login_as(e)
        for cid, rows in marks.items():
            n = noms[cid]
            assert client.get(f"/brand/nominations/{n.id}/score").status_code == 302  # declare first
            assert "利益冲突声明" in client.get(f"/brand/nominations/{n.id}/declare").get_data(as_text=True)
            _ok(client.post(f"/brand/nominations/{n.id}/declare", data={"has_conflict": "no"}))
            sheet = client.get(f"/brand/nominations/{n.id}/score").get_data(as_text=True)
            assert n.reason in sheet
            c1, c2 = s.criteria
            bad = client.post(f"/brand/nominations/{n.id}/score", data={
                "action": "submit", f"points-{c1.id}": "61", f"points-{c2.id}": rows[i][1], "comment": ""})
            assert bad.status_code == 422
            _ok(client.post(f"/brand/nominations/{n.id}/score", data={
                "action": "submit", f"points-{c1.id}": rows[i][0], f"points-{c2.id}": rows[i][1],
                "comment": "成效扎实"}))
        assert client.get("/brand/tasks").get_data(as_text=True).count('text-bg-success">已提交') == 3

    # The officer sees the ranking, confirms the top two and publishes.
    login_as(officer)
    page = client.get(f"/brand/{s.id}").get_data(as_text=True)
    order = re.findall(r'<tr data-nomination="(\d+)"(?: class="[^"]*")?>\s*<td><input', page)
    assert [int(x) for x in order] == [noms[star.id].id, noms[third.id].id, noms[good.id].id]
    assert "88.67" in page  # (90 + 80 + 96) / 3
    _ok(client.post(f"/brand/{s.id}/decide", data={"winner_ids": [noms[star.id].id, noms[third.id].id],
                                                   "note": "按评分排名确定"}))
    _ok(client.post(f"/brand/{s.id}/advance", data={"action": "publish"}))
    db.session.expire_all()
    s = db.session.get(BrandSelection, s.id)
    assert s.status == SelectionStatus.PUBLISHED and s.decision_note == "按评分排名确定"
    actions = set(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.action.like("brand%"))))
    assert {"brand_selection.create", "brand_selection.open_nominations", "brand_nomination.nominate",
            "brand_nomination.put_forward", "brand_nomination.accept", "brand_panel.invite",
            "brand_selection.start_scoring", "brand_conflict.auto", "brand_conflict.declare", "brand_review.submit",
            "brand_selection.decide", "brand_selection.publish"} <= actions

    # The marks: on the organisation record and the contract page of the winners only.
    org_page = client.get(f"/organizations/{star.organization_id}").get_data(as_text=True)
    assert "brand-badge" in org_page and "2026年度品牌项目" in org_page
    assert "brand-badge" not in client.get(f"/organizations/{good.organization_id}").get_data(as_text=True)
    assert "brand-badge" in client.get(f"/contracts/{third.id}").get_data(as_text=True)
    assert "brand-badge" not in client.get(f"/contracts/{good.id}").get_data(as_text=True)
    login_as(org_admin)
    assert "入选品牌项目" in client.get("/brand/mine").get_data(as_text=True)


def test_officers_of_another_unit_and_auditors_cannot_act(app, client, db, login_as):
    with app.test_request_context():
        unit = factories.host_unit()
        s = bf.selection(unit, status=SelectionStatus.NOMINATING)
        auditor = factories.user(roles=("auditor",), unit=unit)
        stranger = bf.officer(factories.host_unit())
        db.session.commit()
    login_as(auditor)
    assert client.get(f"/brand/{s.id}").status_code == 200
    assert client.post(f"/brand/{s.id}/advance", data={"action": "start_scoring"}).status_code == 403
    login_as(stranger)
    assert client.get(f"/brand/{s.id}").status_code == 403
    assert "2026年度品牌项目" not in client.get("/brand/").get_data(as_text=True)


def test_published_selection_is_read_only(app, client, db, login_as):
    with app.test_request_context():
        unit = factories.host_unit()
        officer = bf.officer(unit)
        s = bf.selection(unit, officer, status=SelectionStatus.PUBLISHED)
        db.session.commit()
    login_as(officer)
    page = client.get(f"/brand/{s.id}").get_data(as_text=True)
    assert 'id="selection-actions"' in page and "action-" not in page
    assert client.post(f"/brand/{s.id}/advance", data={"action": "cancel", "reason": "x"}).status_code == 403
    assert client.get(f"/brand/{s.id}/edit").status_code == 403


def _world(app, db, n: int):
    """A selection in scoring with n nominations and three experts: one scored each, one declared a conflict
    with each, one has not started."""
    with app.test_request_context():
        unit = factories.host_unit()
        officer = bf.officer(unit)
        call = cf.call(unit)
        s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
        noms = [svc.nominate_project(s, bf.completed_contract(call), f"理由{i}", officer) for i in range(n)]
        experts = [bf.expert() for _ in range(3)]
        for e in experts:
            svc.invite_expert(s, e, officer)
        svc.start_scoring(s, officer)
        for n_ in noms:
            svc.declare_conflict(n_, experts[0], has_conflict=False)
            svc.save_review(n_, experts[0], {c.id: 20 for c in s.criteria}, "好", submit=True)
            svc.declare_conflict(n_, experts[1], has_conflict=True, reason="亲属任职")
        other = bf.selection(unit, officer)  # a second row on the index
        db.session.commit()
    return s, officer, experts, noms, other


def test_list_pages_use_a_fixed_number_of_queries(app, client, db, login_as):
    counts = []
    for n in (2, 9):
        s, officer, experts, noms, _other = _world(app, db, n)
        row = {}
        login_as(officer)
        for name, url in (("index", "/brand/"), ("detail", f"/brand/{s.id}")):
            _db.session.expire_all()
            row[name] = _count(db, lambda url=url: _ok(client.get(url), 200))
        login_as(experts[0])
        _db.session.expire_all()
        row["tasks"] = _count(db, lambda: _ok(client.get("/brand/tasks"), 200))
        counts.append(row)
        # The winners' marks on the organisation record: the brand query is one whatever the size.
        with app.test_request_context():
            svc.decide_winners(s, officer)
            svc.publish_selection(s, officer)
            db.session.commit()
        login_as(officer)
        _db.session.expire_all()
        row["org"] = _count(db, lambda: _ok(client.get(f"/organizations/{noms[0].organization_id}"), 200))
    assert counts[0] == counts[1], counts


def test_edit_decline_reopen_and_cancel_through_the_pages(app, client, db, login_as):
    with app.test_request_context():
        unit = factories.host_unit()
        officer = bf.officer(unit)
        call = cf.call(unit)
        a, b = bf.completed_contract(call), bf.completed_contract(call)
        s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
        admin = factories.member(b.organization)
        own = svc.put_forward_project(s, b, "自荐理由", admin)
        db.session.commit()
    login_as(officer)
    form = client.get(f"/brand/{s.id}/edit").get_data(as_text=True)
    assert "项目成效 40" in form
    bad = client.post(f"/brand/{s.id}/edit", data={
        "title": "改名", "year": "2026", "winners_count": "3", "scoring_deadline_at": "2029-12-31T17:00",
        "aggregation": "trimmed_mean", "criteria": "项目成效"})
    assert bad.status_code == 200 and "格式不正确" in bad.get_data(as_text=True)
    _ok(client.post(f"/brand/{s.id}/edit", data={
        "title": "改名", "year": "2026", "winners_count": "3", "scoring_deadline_at": "2029-12-31T17:00",
        "aggregation": "trimmed_mean", "criteria": "项目成效 50\n创新性 50"}))
    db.session.expire_all()
    s = db.session.get(BrandSelection, s.id)
    assert (s.title, s.winners_count, s.aggregation) == ("改名", 3, "trimmed_mean")
    assert [c.max_points for c in s.criteria] == [50, 50]

    # A decline needs a reason; the organisation reads it.
    _ok(client.post(f"/brand/nominations/{own.id}/decline", data={"reason": ""}))
    assert db.session.get(BrandNomination, own.id).status == "proposed"
    _ok(client.post(f"/brand/nominations/{own.id}/decline", data={"reason": "结项材料不全"}))
    login_as(admin)
    assert "结项材料不全" in client.get("/brand/mine").get_data(as_text=True)

    login_as(officer)
    with app.test_request_context():
        n = svc.nominate_project(db.session.get(BrandSelection, s.id), db.session.get(type(a), a.id), "理由", officer)
        e = bf.expert()
        svc.invite_expert(n.selection, e, officer)
        svc.start_scoring(n.selection, officer)
        svc.declare_conflict(n, e, has_conflict=False)
        svc.save_review(n, e, {c.id: 40 for c in n.selection.criteria}, "好", submit=True)
        svc.decide_winners(n.selection, officer)
        db.session.commit()
    _ok(client.post(f"/brand/{s.id}/advance", data={"action": "reopen_scoring", "reason": ""}))
    assert db.session.get(BrandSelection, s.id).status == SelectionStatus.DECIDED  # a reason is required
    _ok(client.post(f"/brand/{s.id}/advance", data={"action": "reopen_scoring", "reason": "复核分数"}))
    db.session.expire_all()
    assert db.session.get(BrandSelection, s.id).status == SelectionStatus.SCORING
    assert not db.session.get(BrandNomination, n.id).is_winner
    _ok(client.post(f"/brand/{s.id}/advance", data={"action": "cancel", "reason": "合并到市级评选"}))
    db.session.expire_all()
    assert db.session.get(BrandSelection, s.id).status == SelectionStatus.CANCELLED
    assert client.post(f"/brand/{s.id}/advance", data={"action": "open_nominations"}).status_code == 403


def test_the_put_forward_page_uses_a_fixed_number_of_queries(app, client, db, login_as):
    with app.test_request_context():
        org = factories.organization()
        admin = factories.member(org)
        db.session.commit()
    counts = []
    for n in (1, 4):
        with app.test_request_context():
            for _ in range(n):
                unit = factories.host_unit()
                bf.completed_contract(cf.call(unit), org)
                bf.selection(unit, status=SelectionStatus.NOMINATING)
            db.session.commit()
        login_as(admin)
        _db.session.expire_all()
        page = []
        counts.append(_count(db, lambda: page.append(_ok(client.get("/brand/mine"), 200).get_data(as_text=True))))
        assert page[0].count('id="put-forward-') == (1 if n == 1 else 5)
    assert counts[0] == counts[1], counts
