#!/usr/bin/env python3
"""Writes the example exports of tests/exports/ (run from this folder; needs openpyxl).

A ward's exports as its systems print them: the one-stop system's dossier list and the
e-office register of outgoing documents, each as CSV (dates as text) and as XLSX (dates as
date cells), with the titles above the header that exports put there, Vietnamese column titles
and words, and one row that cannot be read. The end-to-end tests (tests/tests/e2e/imports.rs)
import them and compare the figures with the same events in baocao's envelope.
"""
import codecs
import csv
import datetime as dt

import openpyxl

TITLE = ["ỦY BAN NHÂN DÂN PHƯỜNG TRÍ QUẢ"]

DOSSIER_HEADER = ["STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Ngày tiếp nhận",
                  "Ngày hẹn trả", "Ngày có kết quả", "Trạng thái", "Hình thức nộp", "Số hóa"]
# (code, received, due, result, status, channel, digitized); a date is (y, m, d[, H, M]).
DOSSIERS = [
    ("HS-01", (2026, 4, 20, 8, 30), (2026, 4, 24), (2026, 4, 23, 10, 15), "Đã trả kết quả", "Trực tuyến", "Có"),
    ("HS-02", (2026, 4, 21, 9, 0), (2026, 4, 25), None, "Đang xử lý", "Trực tiếp", "Không"),
    ("HS-03", (2026, 4, 22, 14, 0), (2026, 4, 28, 17, 0), (2026, 4, 30, 8, 0), "Đã xử lý xong", "Bưu chính", "x"),
    ("HS-04", (2026, 4, 23), (2026, 5, 5), (2026, 5, 5, 16, 0), "10", "2", "1"),
    ("HS-05", (2026, 4, 24, 8, 0), (2026, 5, 20), None, "Mới đăng ký", "Trực tuyến", "0"),
    ("HS-06", (2026, 4, 27, 10, 0), (2026, 5, 4), None, "YÊU CẦU BỔ SUNG GIẤY TỜ", "trực tiếp", "Không"),
    ("HS-07", (2026, 4, 28, 8, 0), "30/02/2026", None, "Đang xử lý", "Trực tuyến", "Có"),
]
BAD_DOSSIER_ROW = 7 + 3  # the seventh data row, below two title rows and the header

DOCUMENT_HEADER = ["STT", "Số, ký hiệu", "Ngày ban hành", "Trích yếu", "Người ký", "Ký số"]
DOCUMENTS = [
    ("103/BC-UBND", (2026, 4, 20), "Báo cáo chuyển đổi số tháng 4", "Nguyễn Văn A", "Có"),
    ("104/TB-UBND", (2026, 4, 22), "Thông báo lịch tiếp công dân", "Nguyễn Văn A", "Không"),
    ("105/QĐ-UBND", (2026, 4, 25), "Quyết định thành lập tổ công tác", "Trần Thị B", "x"),
    ("106/CV-UBND", (2026, 4, 28), "Công văn về việc rà soát", "Trần Thị B", ""),
    ("107/CV-UBND", "31/04/2026", "Công văn có ngày sai", "Trần Thị B", "Có"),
]


def text(date):
    if isinstance(date, str) or date is None:
        return date or ""
    if len(date) == 3:
        return "%02d/%02d/%04d" % (date[2], date[1], date[0])
    return "%02d/%02d/%04d %02d:%02d" % (date[2], date[1], date[0], date[3], date[4])


def cell(date):
    if isinstance(date, str) or date is None:
        return date
    return dt.datetime(*date) if len(date) == 5 else dt.datetime(*date)


def dossier_rows(as_cells):
    convert = cell if as_cells else text
    return [[i + 1, code, "Đăng ký khai sinh", "Lê Thị Công Dân", convert(rec), convert(due),
             convert(res), status, channel, digit]
            for i, (code, rec, due, res, status, channel, digit) in enumerate(DOSSIERS)]


def document_rows(as_cells):
    convert = cell if as_cells else text
    return [[i + 1, number, convert(date), subject, signer, signed]
            for i, (number, date, subject, signer, signed) in enumerate(DOCUMENTS)]


def write_csv(path, header, rows, separator, encoding):
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=separator)
        writer.writerow(TITLE)
        writer.writerow(["DANH SÁCH"])
        writer.writerow(header)
        writer.writerows(rows)


def write_xlsx(path, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(TITLE)
    sheet.append(["DANH SÁCH"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows(min_row=4):
        for c in row:
            if isinstance(c.value, dt.datetime):
                c.number_format = "dd/mm/yyyy" if c.value.hour == 0 and c.value.minute == 0 else "dd/mm/yyyy hh:mm"
    book.save(path)


if __name__ == "__main__":
    # The dossier list: UTF-8 with a BOM, semicolons (as a Vietnamese Excel saves it).
    write_csv("ho-so-thang-4.csv", DOSSIER_HEADER, dossier_rows(False), ";", "utf-8-sig")
    write_xlsx("ho-so-thang-4.xlsx", DOSSIER_HEADER, dossier_rows(True))
    # The register: UTF-16 with a BOM, commas.
    write_csv("so-van-ban-di.csv", DOCUMENT_HEADER, document_rows(False), ",", "utf-16")
    write_xlsx("so-van-ban-di.xlsx", DOCUMENT_HEADER, document_rows(True))
