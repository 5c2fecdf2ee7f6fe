"""PDF helper: render a template to A4 PDF with WeasyPrint and an embedded CJK font."""
from __future__ import annotations

from flask import current_app, render_template
from weasyprint import HTML


def render_pdf(template: str, **context) -> bytes:
    """Render `template` (which extends pdf/base.html) to PDF bytes.

    Fonts come from fontconfig (fonts-noto-cjk: Noto Serif CJK SC for the official look);
    WeasyPrint subsets and embeds them, fast when libharfbuzz-subset0 is installed.
    """
    return html_to_pdf(render_template(template, **context))


def html_to_pdf(html: str) -> bytes:
    return HTML(string=html, base_url=current_app.static_folder).write_pdf()


def pdf_response(data: bytes, filename: str):
    from urllib.parse import quote

    response = current_app.response_class(data, mimetype="application/pdf")
    # RFC 5987 so Chinese file names survive in every browser.
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response
