"""A bureau's past programme as a filled-in import template, built in code: `years` yearly calls of one city
bureau with three funding sources, odd amounts in fen split across the sources, 40/30/30 tranche plans paid
at 100 %, 80 % or 0 % (withheld), final grades, service areas and beneficiaries; the last year's projects are
still running (their last tranche not paid yet). Also returns the figures the file adds up to."""
from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter, defaultdict

from openpyxl import load_workbook

from grants.core.money import Money
from grants.history.template import CALLS, ORGS, PROJECTS, SOURCE_COLUMNS, TRANCHES, template_workbook_bytes

KINDS = ("welfare_lottery", "fiscal_matching", "social")
LABEL = dict(SOURCE_COLUMNS)
GRADES = ("优秀", "良好", "合格", "不合格")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def uscc(n: int) -> str:
    from stdnum.cn import uscc as std

    base = f"52320600{n:09d}"
    return base + std.calc_check_digit(base)


def programme(unit_name: str, *, years=range(2018, 2023), projects_per_year=8, orgs=30, seed=2026,
              every_tranche_paid: bool = False):
    """(xlsx bytes, expected figures) for a programme of `unit_name`; with `every_tranche_paid` no tranche is
    withheld in full or still running, so each tranche has its payment (the benchmark's 400 projects →
    1,200 payments)."""
    rnd = random.Random(seed)
    wb = load_workbook(io.BytesIO(template_workbook_bytes()))
    header = {name: [c.value.removesuffix(" *") for c in wb[name][1]] for name in (CALLS, ORGS, PROJECTS, TRANCHES)}

    def put(sheet, values: dict):
        wb[sheet].append([values.get(h) for h in header[sheet]])

    for i in range(orgs):
        filed = i % 7 == 6
        put(ORGS, {"组织名称": f"南通市第{i + 1}社会工作服务中心", "组织类型": "备案的社区社会组织" if filed else "社会服务机构",
                   "统一社会信用代码": None if filed else uscc(1000 + i), "备案编号": f"崇备{i}" if filed else None,
                   "备案街道": "和平桥街道" if filed else None, "所在区县": "崇川区", "评估等级": f"{1 + i % 5}A"})
    want = dict(budget=Counter(), awarded=Counter(), projects=0, paid=0, withheld=0, by_year=defaultdict(Counter),
                orgs=set(), grades=Counter(), payments=0, failed_last=set())
    last = max(years)
    n = 0
    for year in years:
        ref = f"NT-{year}"
        budgets = {"welfare_lottery": projects_per_year * 10_000_000 + rnd.randint(0, 99),
                   "fiscal_matching": projects_per_year * 6_000_000,
                   "social": projects_per_year * 5_500_000 + rnd.randint(0, 99)}
        put(CALLS, {"活动编号": ref, "年度": year, "活动名称": f"{year}年南通市公益创投大赛", "主办单位": unit_name,
                    "申报开始日期": dt.date(year, 3, 1), "申报截止日期": f"{year}-04-15",
                    "项目执行开始日期": dt.date(year, 7, 1), "项目执行结束日期": dt.date(year + 1, 6, 30),
                    **{f"{LABEL[k]}预算（元）": yuan(v) for k, v in budgets.items()}})
        want["budget"].update(budgets)
        for _p in range(projects_per_year):
            n += 1
            org = rnd.randrange(orgs)
            amount = rnd.randint(5_000_000, 15_000_000)
            a = amount * rnd.randint(45, 60) // 100 + rnd.randint(0, 99)
            b = (amount - a) * rnd.randint(40, 70) // 100 + rnd.randint(0, 99)
            shares = {"welfare_lottery": a, "fiscal_matching": b, "social": amount - a - b}
            grade = rnd.choice(GRADES) if year != last else None
            pref = f"NT{year}-{n:03d}"
            put(PROJECTS, {"项目编号": pref, "活动编号": ref, "组织名称": f"南通市第{org + 1}社会工作服务中心",
                           "项目名称": f"社区服务项目{n}", "项目类别": rnd.choice(("为老服务", "助残服务", "青少年服务")),
                           "立项日期": dt.date(year, 6, 10), "协议签订日期": dt.date(year, 6, 20),
                           **{f"{LABEL[k]}（元）": float(yuan(v)) if n % 2 else yuan(v) for k, v in shares.items()},
                           "结项等级": grade, "服务区域": f"和平桥街道/桃坞路社区{n % 4}；城东街道",
                           "受益人数": 100 + n, "项目简介": f"为社区居民提供服务的第{n}个项目。"})
            want["awarded"].update(shares)
            want["projects"] += 1
            want["orgs"].add(org)
            want["by_year"][year]["awarded"] += amount
            if grade:
                want["grades"][grade] += 1
            planned = [Money(amount).times_ratio(40).fen, Money(amount).times_ratio(30).fen]
            planned.append(amount - sum(planned))
            for seq, plan in enumerate(planned, start=1):
                ratio = 100 if seq == 1 else rnd.choice((100, 80) if every_tranche_paid else (100, 100, 80, 0))
                running = year == last and seq == 3 and not every_tranche_paid
                paid = None if running else Money(plan).times_ratio(ratio).fen
                put(TRANCHES, {"项目编号": pref, "期次": seq, "节点名称": ("首期款", "中期款", "尾款")[seq - 1],
                               "计划金额（元）": yuan(plan), "实付金额（元）": None if paid is None else yuan(paid),
                               "支付日期": dt.date(year + (seq > 1), (6, 1, 6)[seq - 1], 25) if paid else None})
                if paid is not None:
                    want["paid"] += paid
                    want["withheld"] += plan - paid
                    want["by_year"][year]["paid"] += paid
                    want["by_year"][year]["withheld"] += plan - paid
                    want["payments"] += bool(paid)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), want
