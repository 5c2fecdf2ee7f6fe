import io

import pytest
from werkzeug.datastructures import FileStorage

from grants.core.storage import UploadRejected, file_path, save_upload

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def test_pdf_is_stored_under_random_name_outside_static(app, db):
    with app.test_request_context():
        row = save_upload(upload(PDF, "项目申报书.pdf"), allowed=("pdf",))
        db.session.flush()
        path = file_path(row)
        assert path.exists() and path.read_bytes() == PDF
        assert row.original_name == "项目申报书.pdf" and row.stored_name not in "项目申报书.pdf"
        assert "static" not in str(path) and len(row.stored_name) == 32


@pytest.mark.parametrize("data,name,message", [
    (PDF, "a.exe", "不支持的文件类型"),
    (PNG, "fake.pdf", "文件内容与扩展名"),
    (b"MZ\x90\x00" + b"\x00" * 100, "virus.pdf", "文件内容与扩展名"),
    (PDF, "../../etc/passwd.pdf", "文件名不合法"),
    (PDF, "..\\evil.pdf", "文件名不合法"),
    (b"", "empty.pdf", "文件为空"),
    (PDF, "", "请选择"),
])
def test_rejected_uploads(app, db, data, name, message):
    with app.test_request_context():
        with pytest.raises(UploadRejected, match=message):
            save_upload(upload(data, name), allowed=("pdf", "png"))


def test_oversized_upload_rejected(app, db):
    big = PDF + b"0" * (app.config["UPLOAD_MAX_BYTES"] + 1)
    with app.test_request_context():
        with pytest.raises(UploadRejected, match="超过大小上限"):
            save_upload(upload(big, "big.pdf"), allowed=("pdf",))


def test_download_requires_permission(app, client, db, login_as):
    from tests import factories

    owner_org = factories.organization()
    with app.test_request_context():
        row = save_upload(upload(PDF, "证明.pdf"), allowed=("pdf",), organization_id=owner_org.id)
    db.session.commit()
    url = f"/files/{row.id}"
    assert client.get(url).status_code == 302  # anonymous → log-in
    login_as("applicant")  # a member of another organisation
    assert client.get(url).status_code == 403
    member = factories.member(owner_org)
    login_as(member)
    with client.get(url) as resp:
        assert resp.status_code == 200 and resp.data == PDF


def test_staff_cannot_fetch_files_by_id_through_the_generic_route(app, client, db, login_as):
    from tests import factories

    org = factories.organization()
    with app.test_request_context():
        row = save_upload(upload(PDF, "附件.pdf"), allowed=("pdf",), organization_id=org.id)
    db.session.commit()
    for role in ("officer", "auditor", "finance", "expert"):
        login_as(role)
        with client.get(f"/files/{row.id}") as resp:
            assert resp.status_code == 403, role
