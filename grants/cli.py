"""Command-line commands: demo data, audit verification, the workflows document, first admin."""
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
    @click.option("--checkpoints", "checkpoint_file", type=click.Path(exists=True, dir_okay=False),
                  help="另存的检查点文件（每行一个，由 audit checkpoint --out 写出），一并核对")
    def audit_verify(checkpoint_file: str | None) -> None:
        """校验审计日志：哈希链、编号缺口，以及签名检查点（发现末尾被删、整链重算、中间缺失）。"""
        import json

        from grants.core.audit import verify_audit

        external = []
        if checkpoint_file:
            with open(checkpoint_file, encoding="utf-8") as fh:
                external = [json.loads(line) for line in fh if line.strip()]
        report = verify_audit(external=external)
        for start, end in report.gaps:
            click.echo(f"封存序号缺口：第 {start}–{end} 条（按封存顺序）不存在。")
        if report.unsealed:
            click.echo(f"尚未封存进哈希链的记录 {report.unsealed} 条（已逐条核对其内容哈希），最早写于 "
                       f"{report.oldest_unsealed.isoformat()}；长时间未封存说明调度进程没有运行。")
        if report.intact:
            click.echo(f"审计日志完整：共 {report.checked} 条记录，哈希链校验通过，"
                       f"核对签名检查点 {report.checkpoints_checked} 个。")
            return
        if report.first_bad is not None:
            bad = report.first_bad
            click.echo(f"审计日志被篡改：第一条异常记录 id={bad.id}（{bad.action}，{bad.at.isoformat()}）。", err=True)
        for problem in report.problems:
            click.echo(f"审计日志被篡改：{problem}", err=True)
        click.echo(f"共检查 {report.checked} 条记录。", err=True)
        raise SystemExit(1)

    @audit.command("seal")
    def audit_seal() -> None:
        """把新追加的审计记录按顺序封存进哈希链（调度进程每隔几秒自动执行）。"""
        from grants.core.audit import seal_and_commit

        result = seal_and_commit()
        click.echo(f"封存 {result.sealed} 条记录。")
        if result.refused:
            click.echo(f"第 {result.refused[0]} 条记录写入后被改动，未予封存：请运行 audit verify。", err=True)
            raise SystemExit(1)

    @audit.command("checkpoint")
    @click.option("--out", "out_file", type=click.Path(dir_okay=False),
                  help="把检查点追加写入这个文件（放在数据库服务器以外的地方）")
    def audit_checkpoint(out_file: str | None) -> None:
        """为审计日志当前末尾写一个签名检查点（密钥取自 AUDIT_KEY），并打印它。"""
        from grants.core.audit import checkpoint_line, write_checkpoint

        try:
            cp = write_checkpoint(source="cli")
        except RuntimeError as exc:
            raise click.ClickException("未设置 AUDIT_KEY，无法签名检查点。") from exc
        db.session.commit()
        line = checkpoint_line(cp)
        if out_file:
            with open(out_file, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        click.echo(line)

    @app.cli.command("workflows-doc")
    @click.option("--check", is_flag=True, help="只检查 docs/WORKFLOWS.md 是否与状态表一致，不写文件")
    def workflows_doc(check: bool) -> None:
        """Write docs/WORKFLOWS.md from the transition tables (Mermaid state diagrams, transitions, roles)."""
        from grants.workflows import DOC_PATH, render_markdown

        text = render_markdown()
        if check:
            current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
            if current != text:
                raise click.ClickException(f"{DOC_PATH} is out of date: run flask workflows-doc")
            click.echo(f"{DOC_PATH} is up to date")
            return
        DOC_PATH.write_text(text, encoding="utf-8")
        click.echo(f"wrote {DOC_PATH}")

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
