"""Upload storage: files outside static/, random stored names, size and type checked by content."""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import filetype
from flask import current_app, send_file
from werkzeug.datastructures import FileStorage

from grants.core.models import StoredFile
from grants.extensions import db

# What each allowed extension must look like inside; docx/xlsx are zip containers and doc/xls are
# OLE files, which filetype reports by their container type.
KIND_BY_EXTENSION = {
    "pdf": {"application/pdf"},
    "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"},
    "png": {"image/png"},
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"},
    "doc": {"application/x-ole-storage", "application/msword"},
    "xls": {"application/x-ole-storage", "application/vnd.ms-excel"},
    "zip": {"application/zip"},
}
CONTENT_TYPE = {
    "pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword", "xls": "application/vnd.ms-excel", "zip": "application/zip",
}
DEFAULT_ALLOWED = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx", "doc", "xls")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UploadRejected(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _sniff(head: bytes) -> str | None:
    if head.startswith(_OLE_MAGIC):
        return "application/x-ole-storage"
    kind = filetype.guess(head)
    return kind.mime if kind else None


def safe_display_name(name: str) -> str:
    """Keep the user's (often Chinese) file name for display, without any path parts."""
    name = name.replace("\\", "/").split("/")[-1].strip().lstrip(".")
    return name[:200] or "file"


def save_upload(upload: FileStorage, *, allowed: tuple[str, ...] | list[str] = DEFAULT_ALLOWED,
                uploader=None, organization_id: int | None = None) -> StoredFile:
    """Check and store an upload; returns the (unflushed) StoredFile row."""
    raw_name = upload.filename or ""
    if not raw_name:
        raise UploadRejected("请选择要上传的文件")
    if ".." in raw_name or "/" in raw_name or "\\" in raw_name or "\x00" in raw_name:
        raise UploadRejected("文件名不合法")
    display = safe_display_name(raw_name)
    ext = display.rsplit(".", 1)[-1].lower() if "." in display else ""
    allowed = tuple(a.lower().lstrip(".") for a in allowed)
    if ext not in allowed or ext not in KIND_BY_EXTENSION:
        raise UploadRejected(f"不支持的文件类型“{ext or '无扩展名'}”，允许：{'、'.join(allowed)}")
    data = upload.stream.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
    if not data:
        raise UploadRejected("文件为空")
    if len(data) > current_app.config["UPLOAD_MAX_BYTES"]:
        raise UploadRejected(f"文件超过大小上限 {current_app.config['UPLOAD_MAX_BYTES'] // (1024 * 1024)} MB")
    mime = _sniff(data[:8192])
    if mime not in KIND_BY_EXTENSION[ext]:
        raise UploadRejected(f"文件内容与扩展名“.{ext}”不符")
    stored_name = secrets.token_hex(16)
    directory = Path(current_app.config["UPLOAD_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / stored_name
    with open(path, "xb") as fh:
        fh.write(data)
    row = StoredFile(
        stored_name=stored_name, original_name=display, content_type=CONTENT_TYPE[ext], extension=ext,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=getattr(uploader, "id", None),
        organization_id=organization_id,
    )
    db.session.add(row)
    return row


def file_path(stored: StoredFile) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / stored.stored_name


def send_stored(stored: StoredFile, *, inline: bool = False):
    """Serve a file; call only after the caller's permission check."""
    return send_file(os.fspath(file_path(stored)), mimetype=stored.content_type,
                     as_attachment=not inline, download_name=stored.original_name, max_age=0)
