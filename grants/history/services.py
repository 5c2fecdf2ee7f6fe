"""History import (历史数据导入): read the template, list every problem by sheet / row / column in Chinese, and
write past calls, organisations, funded projects (award by source, contract, tranches, payments, final grade,
service areas, beneficiaries) as they were.

Imported records carry their historical dates and the bureau's own reference numbers (Call.import_ref,
Application.import_ref): importing the same file again finds them and changes nothing. They are written
directly, not through the workflow services, so no notification is sent and no organisation needs a log-in;
each imported call, project and organisation gets an audit row saying it was imported. Payments were approved
and released by people the platform does not know: they carry two system users that cannot log in
(历史数据（审核） approves, 历史数据导入 releases), which keeps the duties CHECKs of the payment table.
The dashboard's rows and the ledger's charges are kept by the session hook at commit, as for any change.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import load_workbook

from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.money import Money, MoneyError
from grants.core.timeutil import SHANGHAI, now
from grants.extensions import db
from grants.history.template import CALLS, ORGS, PROJECTS, SHEETS, SOURCE_COLUMNS, TRANCHES

MAX_ROWS = 20_000
MAX_FEN = 10**13  # ¥100 billion: anything above is a typing error
REF = re.compile(r"^[0-9A-Za-z\-_/.]{1,27}$")
GRADES = {"优秀": "excellent", "良好": "good", "合格": "pass", "不合格": "fail"}
LEGAL_FORMS = {"社会团体": "association", "社会服务机构": "service_institution", "民办非企业单位": "service_institution",
               "基金会": "foundation", "备案的社区社会组织": "filed_community", "社区社会组织": "filed_community"}


class ImportFileError(DomainError):
    """The file is not a workbook of the template."""


@dataclass
class Problem:
    sheet: str
    row: int | None
    column: str
    message: str


@dataclass
class Plan:
    """What a file would import (read_history), and everything wrong with it."""
    calls: list[dict] = field(default_factory=list)
    orgs: list[dict] = field(default_factory=list)
    projects: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    existing_calls: int = 0
    existing_orgs: int = 0
    existing_projects: int = 0
    organizations_only: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def new_tranches(self) -> int:
        return sum(len(p["tranches"]) for p in self.projects)

    @property
    def new_payments(self) -> int:
        return sum(1 for p in self.projects for t in p["tranches"] if t["paid_fen"])

    @property
    def new_paid_fen(self) -> int:
        return sum(t["paid_fen"] or 0 for p in self.projects for t in p["tranches"])


@dataclass
class Result:
    calls: int = 0
    orgs: int = 0
    projects: int = 0
    payments: int = 0


# --- reading cells ------------------------------------------------------------------------

def _clean(text: str) -> str:
    # Control characters (a NUL) are dropped: PostgreSQL refuses them in text, and they are never meant.
    return "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32).strip()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return _clean(str(value))


def _fen(value) -> int:
    """Yuan (number or text, at most two decimals) → fen; raises ValueError with a Chinese message."""
    if isinstance(value, bool):
        raise ValueError(_("请填写以元为单位的金额"))
    if isinstance(value, int):
        fen = value * 100
    elif isinstance(value, float):
        try:
            d = Decimal(repr(value))
        except InvalidOperation:
            raise ValueError(_("请填写以元为单位的金额")) from None
        if not d.is_finite() or d != d.quantize(Decimal("0.01")):
            raise ValueError(_("金额最多两位小数"))
        fen = int(d * 100)
    else:
        try:
            fen = Money.from_yuan(_text(value)).fen
        except (MoneyError, ValueError, ArithmeticError):
            raise ValueError(_("请填写以元为单位的金额，最多两位小数")) from None
    if fen < 0:
        raise ValueError(_("金额不能为负数"))
    if fen > MAX_FEN:
        raise ValueError(_("金额过大，请核对"))
    return fen


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        m = _DATE.match(_text(value))
        if not m:
            raise ValueError(_("请填写日期，如 2019-03-01"))
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise ValueError(_("日期不存在，请核对")) from None
    if not (1990 <= day.year <= 2100):
        raise ValueError(_("日期应在 1990 年至 2100 年之间"))
    return day


def _int(value, lo: int, hi: int) -> int:
    text = _text(value)
    if not re.fullmatch(r"\d{1,9}", text):
        raise ValueError(_("请填写整数"))
    n = int(text)
    if not lo <= n <= hi:
        raise ValueError(_("应在 %(lo)s 到 %(hi)s 之间", lo=lo, hi=hi))
    return n


class _Sheet:
    """Rows of one sheet as {header: value}, with the problems of its cells."""

    def __init__(self, wb, name: str, plan: Plan, required: bool = True):
        self.name, self.plan, self.rows = name, plan, []
        if name not in wb.sheetnames:
            if required:
                plan.problems.append(Problem(name, None, "", _("缺少工作表“%(s)s”，请使用平台提供的模板", s=name)))
            return
        ws = wb[name]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None) or ()
        headers = [_text(h).removesuffix("*").strip() for h in header]
        expected = [h for h, _req, _n in SHEETS[name]]
        missing = [h for h in expected if h not in headers]
        if missing:
            plan.problems.append(Problem(name, 1, "、".join(missing), _("缺少列：%(c)s", c="、".join(missing))))
            return
        for n, values in enumerate(rows, start=2):
            if n > MAX_ROWS + 1:
                plan.problems.append(Problem(name, n, "", _("超过 %(n)s 行，请分批导入", n=MAX_ROWS)))
                break
            if values is None or all(v is None or _text(v) == "" for v in values):
                continue
            self.rows.append((n, {h: values[i] if i < len(values) else None for i, h in enumerate(headers) if h}))

    def get(self, n: int, row: dict, column: str, parse=None, *, required: bool = False, default=None):
        value = row.get(column)
        if value is None or _text(value) == "":
            if required:
                self.plan.problems.append(Problem(self.name, n, column, _("必填")))
            return default
        if parse is None:
            return _text(value)
        try:
            return parse(value)
        except ValueError as exc:
            self.plan.problems.append(Problem(self.name, n, column, str(exc)))
            return default

    def problem(self, n: int, column: str, message: str) -> None:
        self.plan.problems.append(Problem(self.name, n, column, message))


# --- reading the file -----------------------------------------------------------------------

def read_history(data: bytes, *, organizations_only: bool = False) -> Plan:
    """Parse and check a filled-in template against itself and the database; nothing is written."""
    from grants.applications.models import Application
    from grants.calls.models import Call
    from grants.organizations.models import HostUnit, Organization

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever openpyxl raises, the answer is the same
        raise ImportFileError(_("无法读取该文件：请上传用模板填写的 Excel 文件（.xlsx）")) from None
    plan = Plan(organizations_only=organizations_only)
    if db.session.scalar(sa.select(HostUnit.id).limit(1)) is None:
        plan.problems.append(Problem(ORGS, None, "", _("平台尚未建立主办单位：请先在“主办单位”中建立本级民政部门，导入的组织登记在其下")))

    # Organisations: the file's, then the platform's (by credit code, else by name).
    orgs_sheet = _Sheet(wb, ORGS, plan, required=organizations_only)
    known_orgs = {}
    by_code = {}
    for n, row in orgs_sheet.rows:
        name = orgs_sheet.get(n, row, "组织名称", required=True)
        form_label = orgs_sheet.get(n, row, "组织类型", required=True)
        legal_form = LEGAL_FORMS.get(form_label or "")
        if form_label and legal_form is None:
            orgs_sheet.problem(n, "组织类型", _("应为 社会团体 / 社会服务机构 / 基金会 / 备案的社区社会组织"))
        uscc = (orgs_sheet.get(n, row, "统一社会信用代码") or "").upper() or None
        filing_number = orgs_sheet.get(n, row, "备案编号") or None
        filing_office = orgs_sheet.get(n, row, "备案街道") or None
        rating_text = (orgs_sheet.get(n, row, "评估等级") or "").upper().removesuffix("级")
        rating = 0
        if rating_text:
            if re.fullmatch(r"[1-5]A", rating_text):
                rating = int(rating_text[0])
            else:
                orgs_sheet.problem(n, "评估等级", _("应为 1A 到 5A，未评估留空"))
        if legal_form == "filed_community":
            if not filing_number:
                orgs_sheet.problem(n, "备案编号", _("备案的社区社会组织须填写备案编号"))
            if not filing_office:
                orgs_sheet.problem(n, "备案街道", _("备案的社区社会组织须填写备案街道"))
        elif legal_form and not uscc:
            orgs_sheet.problem(n, "统一社会信用代码", _("登记的组织必须填写统一社会信用代码"))
        if uscc:
            from stdnum.cn import uscc as uscc_std

            if not uscc_std.is_valid(uscc):
                orgs_sheet.problem(n, "统一社会信用代码", _("统一社会信用代码校验不通过（18 位，末位为校验码），请核对"))
            elif uscc in by_code:
                orgs_sheet.problem(n, "统一社会信用代码", _("与第 %(r)s 行重复", r=by_code[uscc]))
            by_code[uscc] = n
        if not name:
            continue
        if len(name) > 100:
            orgs_sheet.problem(n, "组织名称", _("不超过 100 个字"))
            continue
        if name in known_orgs:
            orgs_sheet.problem(n, "组织名称", _("与第 %(r)s 行重复", r=known_orgs[name]["row"]))
            continue
        known_orgs[name] = dict(row=n, name=name, legal_form=legal_form, uscc=uscc, filing_number=filing_number,
                                filing_office=filing_office, district=(orgs_sheet.get(n, row, "所在区县") or "")[:50],
                                street=(orgs_sheet.get(n, row, "所在街道") or "")[:50], rating=rating)
    if known_orgs:
        names = list(known_orgs)
        codes = [o["uscc"] for o in known_orgs.values() if o["uscc"]]
        existing = db.session.execute(sa.select(Organization.id, Organization.name, Organization.uscc).where(
            sa.or_(Organization.name.in_(names), Organization.uscc.in_(codes or [""])))).all()
        by_name = {r.name: r for r in existing}
        by_uscc = {r.uscc: r for r in existing if r.uscc}
        for o in known_orgs.values():
            hit = by_uscc.get(o["uscc"]) if o["uscc"] else by_name.get(o["name"])
            if hit is None and o["name"] in by_name:
                hit = by_name[o["name"]]
            if hit is not None:
                if o["uscc"] and hit.uscc and hit.uscc != o["uscc"]:
                    orgs_sheet.problem(o["row"], "统一社会信用代码",
                                       _("平台上已有同名组织，其统一社会信用代码为 %(c)s", c=hit.uscc))
                if o["uscc"] and hit.name != o["name"]:
                    orgs_sheet.problem(o["row"], "组织名称",
                                       _("该统一社会信用代码在平台上的组织名称为“%(n)s”", n=hit.name))
                o["id"] = hit.id
                plan.existing_orgs += 1
            else:
                plan.orgs.append(o)
    if organizations_only:
        return plan

    # Calls.
    units = {r.name: r for r in db.session.execute(sa.select(HostUnit.id, HostUnit.name, HostUnit.level))}
    calls_sheet = _Sheet(wb, CALLS, plan)
    calls = {}
    for n, row in calls_sheet.rows:
        ref = calls_sheet.get(n, row, "活动编号", required=True)
        if ref and not REF.match(ref):
            calls_sheet.problem(n, "活动编号", _("只能使用字母、数字和 - _ / .，不超过 27 个字符"))
            ref = None
        year = calls_sheet.get(n, row, "年度", lambda v: _int(v, 1990, 2100), required=True)
        title = calls_sheet.get(n, row, "活动名称", required=True)
        unit_name = calls_sheet.get(n, row, "主办单位", required=True)
        unit = units.get(unit_name) if unit_name else None
        if unit_name and unit is None:
            calls_sheet.problem(n, "主办单位", _("平台上没有名为“%(u)s”的主办单位，请先在“主办单位”中添加", u=unit_name))
        open_on = calls_sheet.get(n, row, "申报开始日期", _date)
        close_on = calls_sheet.get(n, row, "申报截止日期", _date)
        start = calls_sheet.get(n, row, "项目执行开始日期", _date, required=True)
        end = calls_sheet.get(n, row, "项目执行结束日期", _date, required=True)
        if start and end and end < start:
            calls_sheet.problem(n, "项目执行结束日期", _("结束日期早于开始日期"))
        budgets = {}
        for kind, label in SOURCE_COLUMNS:
            fen = calls_sheet.get(n, row, f"{label}预算（元）", _fen)
            if fen:
                budgets[kind] = fen
        if not ref:
            continue
        if ref in calls:
            calls_sheet.problem(n, "活动编号", _("与第 %(r)s 行重复", r=calls[ref]["row"]))
            continue
        if title and len(title) > 200:
            calls_sheet.problem(n, "活动名称", _("不超过 200 个字"))
        calls[ref] = dict(row=n, ref=ref, year=year, title=(title or "")[:200], unit=unit, open_on=open_on,
                          close_on=close_on, start=start, end=end, budgets=budgets)
    existing_calls = {}
    if calls:
        for c in db.session.scalars(sa.select(Call).where(Call.import_ref.in_(list(calls)))):
            existing_calls[c.import_ref] = c

    # Projects.
    projects_sheet = _Sheet(wb, PROJECTS, plan)
    projects = {}
    for n, row in projects_sheet.rows:
        ref = projects_sheet.get(n, row, "项目编号", required=True)
        if ref and not REF.match(ref):
            projects_sheet.problem(n, "项目编号", _("只能使用字母、数字和 - _ / .，不超过 27 个字符"))
            ref = None
        call_ref = projects_sheet.get(n, row, "活动编号", required=True)
        org_name = projects_sheet.get(n, row, "组织名称", required=True)
        name = projects_sheet.get(n, row, "项目名称", required=True)
        category = projects_sheet.get(n, row, "项目类别", required=True)
        awarded_on = projects_sheet.get(n, row, "立项日期", _date, required=True)
        contract_number = projects_sheet.get(n, row, "协议编号")
        signed_on = projects_sheet.get(n, row, "协议签订日期", _date, required=True)
        start = projects_sheet.get(n, row, "执行开始日期", _date)
        end = projects_sheet.get(n, row, "执行结束日期", _date)
        shares = {}
        for kind, label in SOURCE_COLUMNS:
            fen = projects_sheet.get(n, row, f"{label}（元）", _fen)
            if fen:
                shares[kind] = fen
        grade_label = projects_sheet.get(n, row, "结项等级")
        grade = GRADES.get(grade_label or "")
        if grade_label and grade is None:
            projects_sheet.problem(n, "结项等级", _("应为 优秀 / 良好 / 合格 / 不合格"))
        areas = []
        for part in re.split(r"[；;\n]", projects_sheet.get(n, row, "服务区域") or ""):
            part = part.strip()
            if part:
                street, _sep, community = part.partition("/")
                areas.append((street.strip()[:50], community.strip()[:50]))
        beneficiaries = projects_sheet.get(n, row, "受益人数", lambda v: _int(v, 0, 100_000_000))
        summary = projects_sheet.get(n, row, "项目简介") or ""
        if not ref:
            continue
        if ref in projects:
            projects_sheet.problem(n, "项目编号", _("与第 %(r)s 行重复", r=projects[ref]["row"]))
            continue
        if not shares:
            projects_sheet.problem(n, "福彩公益金（元）", _("至少一个资金来源的金额须大于零"))
        if call_ref and call_ref not in calls:
            found = db.session.scalar(sa.select(Call).where(Call.import_ref == call_ref))
            if found is not None:
                existing_calls[call_ref] = found
            else:
                projects_sheet.problem(n, "活动编号", _("“活动”表中和平台上都没有活动编号 %(r)s", r=call_ref))
        org = known_orgs.get(org_name or "")
        if org_name and org is None:
            hit = db.session.scalar(sa.select(Organization.id).where(Organization.name == org_name))
            if hit is None:
                projects_sheet.problem(n, "组织名称", _("“组织”表中和平台上都没有组织“%(o)s”", o=org_name))
            else:
                known_orgs[org_name] = org = dict(row=None, name=org_name, id=hit)
        for column, value, limit in (("项目名称", name, 100), ("项目类别", category, 50),
                                     ("协议编号", contract_number, 40)):
            if value and len(value) > limit:
                projects_sheet.problem(n, column, _("不超过 %(n)s 个字", n=limit))
        if start and end and end < start:
            projects_sheet.problem(n, "执行结束日期", _("结束日期早于开始日期"))
        projects[ref] = dict(row=n, ref=ref, call_ref=call_ref, org_name=org_name, name=(name or "")[:100],
                             category=(category or "")[:50], awarded_on=awarded_on,
                             contract_number=(contract_number or f"LS-{ref}")[:40], signed_on=signed_on,
                             start=start, end=end, shares=shares, amount=sum(shares.values()), grade=grade,
                             areas=areas, beneficiaries=beneficiaries, summary=summary, tranches=[])

    # Tranches.
    tranches_sheet = _Sheet(wb, TRANCHES, plan)
    references = {}
    for n, row in tranches_sheet.rows:
        ref = tranches_sheet.get(n, row, "项目编号", required=True)
        seq = tranches_sheet.get(n, row, "期次", lambda v: _int(v, 1, 20), required=True)
        label = tranches_sheet.get(n, row, "节点名称") or (f"第{seq}期" if seq else "")
        planned = tranches_sheet.get(n, row, "计划金额（元）", _fen, required=True)
        paid = tranches_sheet.get(n, row, "实付金额（元）", _fen)
        paid_on = tranches_sheet.get(n, row, "支付日期", _date)
        bank_ref = tranches_sheet.get(n, row, "银行流水号")
        if ref and ref not in projects:
            tranches_sheet.problem(n, "项目编号", _("“项目”表中没有项目编号 %(r)s", r=ref))
            continue
        if not ref or seq is None or planned is None:
            continue
        if paid is not None and paid > planned:
            tranches_sheet.problem(n, "实付金额（元）", _("实付金额不能超过计划金额"))
        if paid and not paid_on:
            tranches_sheet.problem(n, "支付日期", _("已拨付的须填写支付日期"))
        if paid_on and paid_on > now().astimezone(SHANGHAI).date():
            tranches_sheet.problem(n, "支付日期", _("支付日期不能晚于今天"))
        project = projects[ref]
        if any(t["seq"] == seq for t in project["tranches"]):
            tranches_sheet.problem(n, "期次", _("该项目的第 %(s)s 期重复", s=seq))
            continue
        bank_ref = (bank_ref or f"LS-{ref}-{seq}")[:64]
        if paid:
            if bank_ref in references:
                tranches_sheet.problem(n, "银行流水号", _("与第 %(r)s 行重复", r=references[bank_ref]))
            references[bank_ref] = n
        project["tranches"].append(dict(row=n, seq=seq, name=label[:50], planned_fen=planned, paid_fen=paid,
                                        paid_on=paid_on, bank_reference=bank_ref if paid else None))

    # Across sheets: each project's plan adds up to its award; each call's sources hold their projects.
    existing_projects = set(db.session.scalars(sa.select(Application.import_ref).where(
        Application.import_ref.in_(list(projects))))) if projects else set()
    use = defaultdict(lambda: defaultdict(int))
    for p in projects.values():
        if p["ref"] in existing_projects:
            continue
        if not p["tranches"]:
            projects_sheet.problem(p["row"], "项目编号", _("“拨付”表中没有该项目的拨付计划"))
        elif sum(t["planned_fen"] for t in p["tranches"]) != p["amount"]:
            projects_sheet.problem(p["row"], "项目编号", _(
                "各期计划金额合计 %(a)s，与各资金来源合计的资助金额 %(b)s 不一致",
                a=Money(sum(t["planned_fen"] for t in p["tranches"])).format(), b=Money(p["amount"]).format()))
        for kind, fen in p["shares"].items():
            use[p["call_ref"]][kind] += fen
    references = {t["bank_reference"]: t["row"] for p in projects.values() if p["ref"] not in existing_projects
                  for t in p["tranches"] if t["bank_reference"]}
    if references:
        from grants.finance.models import Payment

        taken = set(db.session.scalars(sa.select(Payment.bank_reference).where(
            Payment.bank_reference.in_(list(references)))))
        for bank_ref in taken:
            tranches_sheet.problem(references[bank_ref], "银行流水号", _("该银行流水号已用于平台上的另一笔拨款"))
    contract_numbers = [p["contract_number"] for p in projects.values() if p["ref"] not in existing_projects]
    if contract_numbers:
        from grants.contracts.models import Contract

        for number in db.session.scalars(sa.select(Contract.number).where(Contract.number.in_(contract_numbers))):
            p = next(p for p in projects.values() if p["contract_number"] == number)
            projects_sheet.problem(p["row"], "协议编号", _("平台上已有协议编号 %(n)s", n=number))
    labels = dict(SOURCE_COLUMNS)
    for call_ref, kinds in use.items():
        c = calls.get(call_ref)
        existing = existing_calls.get(call_ref)
        if c is None and existing is None:
            continue
        budgets = dict(c["budgets"]) if c and call_ref not in existing_calls else {
            s.kind: s.amount_fen for s in existing.funding_sources}
        if existing is not None:  # what its projects already use
            from grants.awards.models import Award, AwardAllocation
            from grants.calls.models import CallFundingSource

            for kind, fen in db.session.execute(
                    sa.select(CallFundingSource.kind, sa.func.sum(AwardAllocation.amount_fen))
                    .join(AwardAllocation, AwardAllocation.funding_source_id == CallFundingSource.id)
                    .join(Award, Award.id == AwardAllocation.award_id)
                    .where(CallFundingSource.call_id == existing.id).group_by(CallFundingSource.kind)).all():
                kinds[kind] += int(fen or 0)
        for kind, fen in kinds.items():
            if fen > budgets.get(kind, 0):
                row = c["row"] if c else None
                plan.problems.append(Problem(CALLS, row, f"{labels[kind]}预算（元）", _(
                    "活动 %(r)s 的项目共使用%(s)s %(u)s，超出该来源预算 %(b)s", r=call_ref, s=labels[kind],
                    u=Money(fen).format(), b=Money(budgets.get(kind, 0)).format())))

    plan.existing_calls = len([r for r in calls if r in existing_calls])
    plan.calls = [c for r, c in calls.items() if r not in existing_calls]
    plan.existing_projects = len(existing_projects)
    plan.projects = [p for r, p in projects.items() if r not in existing_projects]
    plan.problems.sort(key=lambda p: (list(SHEETS).index(p.sheet) if p.sheet in SHEETS else 9, p.row or 0))
    return plan


# --- writing -----------------------------------------------------------------------------------

def _system_user(username: str, display_name: str):
    """A user for the people of the past the platform does not know; it can never log in."""
    from grants.accounts.models import User

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=display_name, password_hash="!", is_active_account=False)
        db.session.add(user)
        db.session.flush()
    return user


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def import_organizations(plan: Plan, actor) -> int:
    """Write the plan's new organisations (verified by the registry's data; no members, no log-in)."""
    from grants.organizations.models import HostUnit, Organization

    # The file does not name the registration unit (登记/备案机关): imported organisations are registered with
    # the top of the host-unit tree, whose officers (and only they) may correct it by a change request.
    top_unit = db.session.scalar(sa.select(HostUnit.id).where(HostUnit.parent_id.is_(None)).order_by(HostUnit.id))
    for o in plan.orgs:
        org = Organization(name=o["name"], legal_form=o["legal_form"], uscc=o["uscc"], host_unit_id=top_unit,
                           filing_number=o["filing_number"], filing_office=o["filing_office"],
                           district=o["district"], street=o["street"], rating=o["rating"], status="verified",
                           verified_at=now(), registration_authority="", annual_inspection="", community="",
                           address="", business_scope="", contact_name="", contact_phone="", contact_email="",
                           bank_account_name="", bank_name="", bank_account_number="", status_reason="",
                           blacklisted=False, blacklist_reason="")
        db.session.add(org)
        db.session.flush()
        o["id"] = org.id
        record(actor, "history.import", org, after={"imported": True, "name": org.name, "uscc": org.uscc})
    return len(plan.orgs)


def import_history(plan: Plan, actor) -> Result:
    """Write what `read_history` planned (only a plan without problems). Flushes; the caller commits."""
    from grants.applications.models import Application, OutputTarget, ServiceArea
    from grants.awards.models import Award, AwardAllocation
    from grants.calls.models import Call, CallCategory, CallFundingSource
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment
    from grants.organizations.models import Organization

    if not plan.ok:
        raise ImportFileError(_("文件还有 %(n)s 处问题，改正后才能导入", n=len(plan.problems)))
    result = Result(orgs=import_organizations(plan, actor))
    if plan.organizations_only:
        return result
    approver = _system_user("history-approver", "历史数据（审核）")
    releaser = actor if getattr(actor, "id", None) and actor.id != approver.id else \
        _system_user("history-import", "历史数据导入")

    calls = {c.import_ref: c for c in db.session.scalars(sa.select(Call).where(
        Call.import_ref.in_({p["call_ref"] for p in plan.projects})))}
    for c in plan.calls:
        unit = c["unit"]
        year = c["year"]
        call = Call(host_unit_id=unit.id, title=c["title"], year=year, level=unit.level, status="finalized",
                    description="", import_ref=c["ref"],
                    open_at=_at(c["open_on"] or dt.date(year, 3, 1), 9),
                    close_at=_at(c["close_on"] or dt.date(year, 4, 30), 17),
                    project_start_on=c["start"], project_end_on=c["end"], allowed_legal_forms=[],
                    contract_terms="", published_at=_at(c["open_on"] or dt.date(year, 3, 1), 9),
                    created_at=_at(c["open_on"] or dt.date(year, 3, 1), 9))
        db.session.add(call)
        call.funding_sources = [CallFundingSource(kind=k, name="", amount_fen=fen) for k, fen in c["budgets"].items()]
        db.session.flush()
        record(actor, "history.import", call, after={"imported": True, "ref": c["ref"], "year": year},
               host_unit_id=unit.id)
        calls[c["ref"]] = call
        result.calls += 1

    org_ids = {o["name"]: o["id"] for o in plan.orgs}
    missing = {p["org_name"] for p in plan.projects} - set(org_ids)
    if missing:
        org_ids.update(dict(db.session.execute(sa.select(Organization.name, Organization.id).where(
            Organization.name.in_(missing))).all()))
    orgs = {o.id: o for o in db.session.scalars(sa.select(Organization).where(
        Organization.id.in_(list(org_ids.values()))))}
    categories: dict[tuple[int, str], CallCategory] = {}
    for call in calls.values():
        for cat in call.categories:
            categories[(call.id, cat.name)] = cat
    seqs = dict(db.session.execute(sa.select(Contract.call_id, sa.func.max(Contract.seq)).where(
        Contract.call_id.in_([c.id for c in calls.values()])).group_by(Contract.call_id)).all())

    for p in sorted(plan.projects, key=lambda p: (p["call_ref"], p["ref"])):
        call = calls[p["call_ref"]]
        org = orgs[org_ids[p["org_name"]]]
        key = (call.id, p["category"])
        if key not in categories:
            categories[key] = CallCategory(call_id=call.id, name=p["category"], sort=len(categories))
            db.session.add(categories[key])
            db.session.flush()
        awarded_at = _at(p["awarded_on"])
        app = Application(call_id=call.id, organization_id=org.id, category_id=categories[key].id,
                          number=f"LS-{p['ref']}", import_ref=p["ref"], project_name=p["name"], summary=p["summary"],
                          status="confirmed", requested_fen=p["amount"], total_budget_fen=p["amount"],
                          submitted_at=awarded_at, final_grade=p["grade"], created_at=awarded_at,
                          updated_at=awarded_at)
        app.service_areas = [ServiceArea(position=i, street=s, community=c) for i, (s, c) in enumerate(p["areas"])]
        if p["beneficiaries"] is not None:
            app.output_targets = [OutputTarget(kind="beneficiaries", target=p["beneficiaries"])]
        db.session.add(app)
        db.session.flush()
        award = Award(call_id=call.id, application_id=app.id, organization_id=org.id, category_id=categories[key].id,
                      amount_fen=p["amount"], status="confirmed", approved_by_id=approver.id, approved_at=awarded_at,
                      confirmed_at=awarded_at, created_at=awarded_at)
        sources = {s.kind: s for s in call.funding_sources}
        award.allocations = [AwardAllocation(funding_source_id=sources[k].id, amount_fen=fen)
                             for k, fen in sorted(p["shares"].items(), key=lambda kv: sources[kv[0]].id)]
        db.session.add(award)
        db.session.flush()
        tranches = sorted(p["tranches"], key=lambda t: t["seq"])
        settled = all(t["paid_fen"] is not None for t in tranches)
        last_paid = max((t["paid_on"] for t in tranches if t["paid_on"]), default=None)
        signed_at = _at(p["signed_on"])
        seqs[call.id] = seqs.get(call.id, 0) + 1
        contract = Contract(award_id=award.id, call_id=call.id, application_id=app.id, organization_id=org.id,
                            seq=seqs[call.id], number=p["contract_number"], project_name=p["name"],
                            amount_fen=p["amount"], status="completed" if settled else "active",
                            period_start_on=p["start"] or call.project_start_on,
                            period_end_on=p["end"] or call.project_end_on, terms="",
                            party_a_name=call.host_unit.name, party_b_name=org.name,
                            party_b_uscc=org.uscc or org.filing_number or "", created_at=signed_at,
                            issued_at=signed_at, signer_name="（历史数据）", signer_title="", signed_at=signed_at,
                            countersigned_at=signed_at,
                            completed_at=_at(last_paid or p["end"] or call.project_end_on) if settled else None)
        db.session.add(contract)
        db.session.flush()
        n = len(tranches)
        for i, t in enumerate(tranches):
            paid = t["paid_fen"]
            pct = max(1, min(100, round(t["planned_fen"] * 100 / p["amount"]))) if p["amount"] else 100
            trigger = "signing" if i == 0 else ("final_assessment" if i == n - 1 else "midterm_assessment")
            tranche = Tranche(contract_id=contract.id, seq=t["seq"], name=t["name"], percent=pct, trigger=trigger,
                              planned_fen=t["planned_fen"], status="scheduled")
            if paid is not None:
                day_at = _at(t["paid_on"]) if t["paid_on"] else signed_at
                tranche.payable_fen, tranche.withheld_fen = paid, t["planned_fen"] - paid
                tranche.payment_pct = round(paid * 100 / t["planned_fen"]) if t["planned_fen"] else 100
                tranche.status = "paid" if paid else "withheld"
                tranche.payable_at = tranche.settled_at = day_at
            db.session.add(tranche)
            db.session.flush()
            if paid:
                released_at = _at(t["paid_on"])
                db.session.add(Payment(
                    tranche_id=tranche.id, contract_id=contract.id, call_id=call.id, organization_id=org.id,
                    amount_fen=paid, status="released", requested_at=released_at, approved_by_id=approver.id,
                    approved_at=released_at, release_by_id=releaser.id, released_at=released_at,
                    released_on=t["paid_on"], bank_reference=t["bank_reference"], payee_name=org.name,
                    payee_bank_name="", payee_account_number=""))
                result.payments += 1
        record(actor, "history.import", app, after={
            "imported": True, "ref": p["ref"], "call": p["call_ref"], "amount_fen": p["amount"],
            "by_source": p["shares"], "contract": contract.number}, host_unit_id=call.host_unit_id)
        result.projects += 1
    db.session.flush()
    return result
