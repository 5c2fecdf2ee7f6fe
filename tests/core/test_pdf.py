import shutil
import subprocess

from flask import render_template_string

from grants.core.pdf import html_to_pdf
from tests.conftest import skip_or_fail

DOC = """{% extends "pdf/base.html" %}{% block body %}<h1>公益创投项目资助协议</h1>
{% for i in range(60) %}<p>第{{ i }}段：甲方南通市民政局，乙方社会组织，金额 {{ 1234567|yuan }}（{{ 1234567|capitals }}）。</p>{% endfor %}
{% endblock %}"""


def test_chinese_pdf_embeds_cjk_font_and_numbers_pages(app, tmp_path):
    with app.test_request_context():
        data = html_to_pdf(render_template_string(DOC))
    assert data.startswith(b"%PDF")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    if not shutil.which("pdffonts"):
        skip_or_fail("poppler-utils not installed (make test installs it)")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts, fonts  # Noto CJK embedded (subset)
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:]), fonts  # every font embedded
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())  # pdftotext breaks lines and spaces out CJK runs
    assert "人民币壹万贰仟叁佰肆拾伍元陆角柒分" in flat
    pages = text.count("\f")  # one form feed per page
    assert pages >= 2 and f"第1页/共{pages}页" in flat and f"第{pages}页/共{pages}页" in flat
