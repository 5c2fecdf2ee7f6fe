"""`flask --app wsgi import history FILE.xlsx [--dry-run]` and `flask --app wsgi import organizations FILE.xlsx`."""
from __future__ import annotations

import time
from pathlib import Path

import click

from grants.extensions import db
from grants.history import bp
from grants.history.services import ImportFileError, import_history, read_history


def _run(path: str, dry_run: bool, organizations_only: bool) -> None:
    started = time.perf_counter()
    try:
        plan = read_history(Path(path).read_bytes(), organizations_only=organizations_only)
    except (OSError, ImportFileError) as exc:
        raise click.ClickException(getattr(exc, "message", str(exc)))
    for p in plan.problems:
        where = f"{p.sheet}" + (f" 第 {p.row} 行" if p.row else "") + (f" “{p.column}”" if p.column else "")
        click.echo(f"{where}：{p.message}", err=True)
    click.echo(f"新组织 {len(plan.orgs)}（已有 {plan.existing_orgs}）" + ("" if organizations_only else
               f"；新活动 {len(plan.calls)}（已有 {plan.existing_calls}）；新项目 {len(plan.projects)}"
               f"（已有 {plan.existing_projects}）；拨付节点 {plan.new_tranches}，拨款 {plan.new_payments} 笔"))
    if not plan.ok:
        raise click.ClickException(f"文件有 {len(plan.problems)} 处问题，未导入")
    if dry_run:
        click.echo("校验通过（--dry-run：未写入）")
        return
    result = import_history(plan, None)
    db.session.commit()
    click.echo(f"已导入：组织 {result.orgs}，活动 {result.calls}，项目 {result.projects}，拨款 {result.payments} 笔"
               f"（{time.perf_counter() - started:.1f} 秒）")


@bp.cli.command("history")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
def history_command(path: str, dry_run: bool) -> None:
    """导入历史数据（活动、组织、资助项目、拨付）。"""
    _run(path, dry_run, organizations_only=False)


@bp.cli.command("organizations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
def organizations_command(path: str, dry_run: bool) -> None:
    """只导入组织（如登记管理机关导出的登记组织名单，模板的“组织”表）。"""
    _run(path, dry_run, organizations_only=True)
