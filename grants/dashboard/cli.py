"""`flask --app wsgi dashboard rebuild`: recompute every project's dashboard figures (after a bulk import or a
restore that bypassed the application; the running system keeps them up to date by itself)."""
from __future__ import annotations

import click

from grants.dashboard import bp
from grants.dashboard.summary import rebuild_all
from grants.extensions import db


@bp.cli.command("rebuild")
def rebuild() -> None:
    """重新计算统计用的项目汇总数据（批量导入或恢复数据库后使用）。"""
    n = rebuild_all()
    db.session.commit()
    click.echo(f"已重新计算 {n} 个项目的统计数据")
