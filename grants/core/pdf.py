"""PDF helper: render a template to A4 PDF with WeasyPrint and an embedded CJK font."""
from __future__ import annotations

import threading

from flask import current_app, render_template
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

# WeasyPrint builds a FontConfiguration (a fontconfig set-up and a Pango font map) for every document
# unless it is given one. Keeping one per thread lets Pango keep its loaded faces and shaping caches from
# one document to the next, which saves about a third of a contract's render time. One per thread, because
# a Pango font map must not be used by two threads at once (the development server is threaded).
_local = threading.local()


def font_config() -> FontConfiguration:
    """This thread's FontConfiguration, created on first use and kept for the life of the process."""
    config = getattr(_local, "font_config", None)
    if config is None:
        config = _local.font_config = FontConfiguration()
    return config


def render_pdf(template: str, **context) -> bytes:
    """Render `template` (which extends pdf/base.html) to PDF bytes.

    Fonts come from fontconfig (fonts-noto-cjk: Noto Serif CJK SC for the official look);
    WeasyPrint subsets and embeds them, fast when libharfbuzz-subset0 is installed.
    """
    return html_to_pdf(render_template(template, **context))


def html_to_pdf(html: str) -> bytes:
    return HTML(string=html, base_url=current_app.static_folder).write_pdf(font_config=font_config())


def pdf_response(data: bytes, filename: str):
    from urllib.parse import quote

    response = current_app.response_class(data, mimetype="application/pdf")
    # RFC 5987 so Chinese file names survive in every browser.
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response
