"""The Excel template of the history import (历史数据导入模板): one sheet per kind of record, Chinese column
headers, and an instructions sheet. The reader (services.py) takes the columns by these headers."""
from __future__ import annotations

from openpyxl.styles import Alignment, Font, PatternFill

from grants.core.excel import new_workbook, workbook_bytes

# Funding-source columns: (kind, header part). Amounts per source are in yuan with at most two decimals.
SOURCE_COLUMNS = (
    ("welfare_lottery", "福彩公益金"), ("fiscal_matching", "财政配套"), ("social", "社会资金"),
    ("charity", "慈善资金"), ("other", "其他资金"),
)

CALLS = "活动"
ORGS = "组织"
PROJECTS = "项目"
TRANCHES = "拨付"
INSTRUCTIONS = "填写说明"

# sheet → [(header, required, note)]
SHEETS: dict[str, list[tuple[str, bool, str]]] = {
    CALLS: [
        ("活动编号", True, "本局对该届活动的编号，如 NT-2019；再次导入时据此识别，不重复创建"),
        ("年度", True, "如 2019"),
        ("活动名称", True, ""),
        ("主办单位", True, "须与平台“主办单位”中的名称一致"),
        ("申报开始日期", False, "如 2019-03-01；不填则为当年 3 月 1 日"),
        ("申报截止日期", False, "不填则为当年 4 月 30 日"),
        ("项目执行开始日期", True, ""),
        ("项目执行结束日期", True, ""),
        *[(f"{label}预算（元）", False, "该来源的预算；本届项目使用的来源必须填写") for _k, label in SOURCE_COLUMNS],
    ],
    ORGS: [
        ("组织名称", True, "与项目表中的组织名称一致"),
        ("组织类型", True, "社会团体 / 社会服务机构 / 基金会 / 备案的社区社会组织"),
        ("统一社会信用代码", False, "登记的组织必填（18 位，含校验位）"),
        ("备案编号", False, "备案的社区社会组织必填"),
        ("备案街道", False, "备案的社区社会组织必填"),
        ("所在区县", False, ""),
        ("所在街道", False, ""),
        ("评估等级", False, "1A–5A，未评估留空"),
    ],
    PROJECTS: [
        ("项目编号", True, "本局的项目编号（立项编号），全部年度内唯一，不超过 27 个字符；再次导入时据此识别"),
        ("活动编号", True, "所属活动，须在“活动”表中或平台上已有"),
        ("组织名称", True, "须在“组织”表中或平台上已有"),
        ("项目名称", True, ""),
        ("项目类别", True, "如 为老服务、助残服务"),
        ("立项日期", True, ""),
        ("协议编号", False, "不填则为 LS-项目编号"),
        ("协议签订日期", True, ""),
        ("执行开始日期", False, "不填则取活动的执行期"),
        ("执行结束日期", False, ""),
        *[(f"{label}（元）", False, "该项目由此来源资助的金额") for _k, label in SOURCE_COLUMNS],
        ("结项等级", False, "优秀 / 良好 / 合格 / 不合格；未结项留空"),
        ("服务区域", False, "街道/社区，多个用“；”分隔，如 和平桥街道/桃坞路社区；城东街道"),
        ("受益人数", False, "整数"),
        ("项目简介", False, ""),
    ],
    TRANCHES: [
        ("项目编号", True, ""),
        ("期次", True, "1、2、3 …"),
        ("节点名称", False, "如 首期款、中期款、尾款"),
        ("计划金额（元）", True, "各期计划金额之和须等于项目资助金额"),
        ("实付金额（元）", False, "已拨付的金额；评估扣减的部分不付；尚未拨付留空"),
        ("支付日期", False, "已拨付的必填"),
        ("银行流水号", False, "不填则为 LS-项目编号-期次"),
    ],
}

INSTRUCTION_LINES = (
    "历史数据导入模板：把本局往年的公益创投活动、社会组织、资助项目和拨款记录导入平台。",
    "1. 每张表第一行为列名，请勿修改列名；从第二行起每行一条记录。带 * 的列必填。",
    "2. 金额以元为单位，最多两位小数；日期写作 2019-03-01（或使用 Excel 日期格式）。",
    "3. 项目的资助金额 = 各资金来源金额之和；每个项目在“拨付”表中的计划金额之和须等于资助金额。",
    "4. 每期拨付：实付金额 + 评估扣减 = 计划金额；未拨付的期次实付金额留空。",
    "5. 导入时先校验：所有问题按“表 / 行 / 列”列出，全部改正后才能确认导入。",
    "6. 再次导入同一文件不会重复创建：活动按活动编号、项目按项目编号、组织按统一社会信用代码（备案组织按名称）识别，已有的跳过。",
    "7. 导入的记录标记为历史导入，不发送任何通知，组织无需平台账号；拨款的审核人记为“历史数据（审核）”。",
    "8. 只导入组织（如登记管理机关导出的登记组织名单）时，只需填写“组织”表。",
)


def template_workbook_bytes() -> bytes:
    wb = new_workbook()
    ws = wb.active
    ws.title = INSTRUCTIONS
    ws.column_dimensions["A"].width = 120
    for i, line in enumerate(INSTRUCTION_LINES, start=1):
        ws.cell(row=i, column=1, value=line).alignment = Alignment(wrap_text=True)
    ws.cell(row=1, column=1).font = Font(bold=True)
    row = len(INSTRUCTION_LINES) + 2
    ws.cell(row=row, column=1, value="各列说明").font = Font(bold=True)
    for sheet, columns in SHEETS.items():
        for header, required, note in columns:
            row += 1
            ws.cell(row=row, column=1, value=f"{sheet} · {header}{' *' if required else ''}{'：' + note if note else ''}")
    fill = PatternFill("solid", fgColor="FFF2CC")
    for sheet, columns in SHEETS.items():
        ws = wb.create_sheet(sheet)
        for col, (header, required, _note) in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=col, value=header + (" *" if required else ""))
            cell.font = Font(bold=True)
            if required:
                cell.fill = fill
            ws.column_dimensions[cell.column_letter].width = max(12, len(header) * 2 + 4)
        ws.freeze_panes = "A2"
    return workbook_bytes(wb)
