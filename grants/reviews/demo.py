"""Demo part: the expert pool (专家库) — the demo experts `expert`, `expert2` and three more — invited to the
written-stage panel of this year's demo call, so the call can be reviewed once it closes."""
from __future__ import annotations

import sqlalchemy as sa

from grants.accounts.models import Role, User
from grants.calls.models import Call, CallStatus
from grants.extensions import db
from grants.reviews.models import PanelMember, ReviewStage

# username, name, title, employer, specialties (the first two accounts exist already)
DEMO_EXPERTS = [
    ("expert", "张教授", "教授", "南通大学社会学系", ["为老服务", "社区治理"]),
    ("expert2", "陈老师", "高级社会工作师", "南通市社会工作协会", ["助残服务", "青少年服务"]),
    ("expert3", "黄会计师", "注册会计师", "江海会计师事务所", ["预算审核", "济困救助"]),
    ("expert4", "林主任", "副主任医师", "南通市第一人民医院", ["为老服务", "助残服务"]),
    ("expert5", "徐研究员", "研究员", "南通市委党校", ["社区治理", "青少年服务"]),
]


def demo_experts(units: dict) -> None:
    from grants.core.audit import record
    from grants.demo import DEMO_PASSWORD
    from grants.accounts.services import create_user
    from grants.reviews.services import ensure_profile

    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    users = []
    for username, name, title, employer, specialties in DEMO_EXPERTS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = create_user(username=username, display_name=name, password=DEMO_PASSWORD, roles={Role.EXPERT},
                               affiliation=employer, check_password_strength=False)
            db.session.flush()
        # The profile came with the expert role; the city bureau recruited the demo pool.
        profile = ensure_profile(user)
        profile.host_unit_id = units["city"].id
        profile.specialties, profile.employer, profile.title = specialties, employer, title
        profile.phone = f"1380513{len(users):04d}"
        users.append(user)
    db.session.flush()
    current = db.session.scalar(sa.select(Call).where(Call.status == CallStatus.PUBLISHED)
                                .order_by(Call.year.desc(), Call.id.desc()).limit(1))
    if current is not None:
        for user in users:
            member = PanelMember(call_id=current.id, user_id=user.id, stage=ReviewStage.WRITTEN,
                                 invited_by_id=officer.id if officer else None)
            db.session.add(member)
        db.session.flush()
        record(officer, "panel.demo", current, after={"experts": [u.username for u in users]})
