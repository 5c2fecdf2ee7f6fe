"""The host-unit tree as every domain's permissions need it: a unit and the units below it. Core reads the
`host_unit` table directly (id, parent_id) so that every layer can ask without importing organisations."""
from __future__ import annotations

import sqlalchemy as sa

from grants.extensions import db

_host_unit = sa.table("host_unit", sa.column("id", sa.Integer), sa.column("parent_id", sa.Integer))


def unit_subtree_ids(unit_id: int | None) -> set[int]:
    """The unit and every unit below it (one query; the tree is small)."""
    if unit_id is None:
        return set()
    rows = db.session.execute(sa.select(_host_unit.c.id, _host_unit.c.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for uid, parent in rows:
        children.setdefault(parent, []).append(uid)
    result, stack = set(), [unit_id]
    while stack:
        uid = stack.pop()
        if uid in result:
            continue
        result.add(uid)
        stack.extend(children.get(uid, []))
    return result


def in_unit_subtree(user, unit_id: int | None) -> bool:
    """The user belongs to a unit and `unit_id` is that unit or one below it: the one scope check of staff
    powers ("a district acts on its own subtree only")."""
    if unit_id is None or getattr(user, "host_unit_id", None) is None:
        return False
    return unit_id in unit_subtree_ids(user.host_unit_id)
