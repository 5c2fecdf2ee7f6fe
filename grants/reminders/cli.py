"""`flask --app wsgi scheduler run` (blocking, one active instance) and `... run --once` (one pass)."""
from __future__ import annotations

import os

import click
from flask import current_app

from grants.reminders import bp
from grants.reminders.scheduler import DEFAULT_INTERVAL, DEFAULT_STANDBY_RETRY, run_forever, run_once


@bp.cli.command("run")
@click.option("--once", is_flag=True, help="只执行一轮检查后退出（供定时任务 cron 或测试使用）")
@click.option("--interval", type=int, default=None, help=f"两轮检查之间的秒数（默认 {DEFAULT_INTERVAL}，"
                                                        "或配置 SCHEDULER_INTERVAL_SECONDS）")
@click.option("--standby-retry", type=int, default=None,
              help=f"备用实例尝试接管的间隔秒数（默认 {DEFAULT_STANDBY_RETRY}）")
def run(once: bool, interval: int | None, standby_retry: int | None) -> None:
    """运行提醒调度器：同一时间只有一个活动实例，其余实例备用，活动实例退出后自动接管。"""
    app = current_app._get_current_object()
    if once:
        run_once(app, echo=click.echo)
        return
    cfg = app.config
    interval = interval or int(cfg.get("SCHEDULER_INTERVAL_SECONDS") or os.environ.get("SCHEDULER_INTERVAL_SECONDS")
                                   or DEFAULT_INTERVAL)
    standby_retry = standby_retry or int(cfg.get("SCHEDULER_STANDBY_RETRY_SECONDS")
                                        or os.environ.get("SCHEDULER_STANDBY_RETRY_SECONDS") or DEFAULT_STANDBY_RETRY)
    if interval < 1 or standby_retry < 1:
        raise click.BadParameter("间隔须为正整数秒")
    run_forever(app, interval=interval, standby_retry=standby_retry, echo=click.echo)
