"""Command-line commands: demo data, audit verification, first admin."""
from __future__ import annotations

import click
from flask import Flask

from grants.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="只在数据库尚无演示数据时加载（供 make run 使用）")
    def demo(if_empty: bool) -> None:
        """加载演示数据（主办单位、社会组织、每个角色一个用户）。"""
        from grants.demo import DEMO_PASSWORD, demo_loaded, load_demo

        if demo_loaded():
            if not if_empty:
                click.echo("演示数据已存在，未重复加载。")
            return
        logins = load_demo()
        db.session.commit()
        click.echo("演示数据已加载。登录账号（密码均为 %s）：" % DEMO_PASSWORD)
        for username, roles, desc in logins:
            click.echo(f"  {username:<12} {roles:<10} {desc}")

    audit = click.Group("audit", help="审计日志")
    app.cli.add_command(audit)

    @audit.command("verify")
    def audit_verify() -> None:
        """校验审计日志哈希链，报告第一条被篡改的记录。"""
        from grants.core.audit import verify_chain

        intact, bad, checked = verify_chain()
        if intact:
            click.echo(f"审计日志完整：共 {checked} 条记录，哈希链校验通过。")
            return
        click.echo(f"审计日志被篡改：第一条异常记录 id={bad.id}（{bad.action}，{bad.at.isoformat()}），"
                   f"此前 {checked} 条校验通过。", err=True)
        raise SystemExit(1)

    @app.cli.command("create-admin")
    @click.option("--username", prompt=True)
    @click.option("--name", prompt="姓名")
    @click.password_option()
    def create_admin(username: str, name: str, password: str) -> None:
        """创建系统管理员账号（生产环境首次部署用）。"""
        from grants.accounts.models import Role
        from grants.accounts.services import AccountError, create_user

        try:
            create_user(username=username, display_name=name, password=password, roles={Role.ADMIN})
        except AccountError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        click.echo(f"管理员 {username} 已创建。")
