"""Write examples/backfill-example.xlsx from backfill-example.csv (run from the repo root:
``.venv/bin/python examples/make_backfill_example.py``).

The workbook keeps the CSV's text but stores the received and closed dates as real Excel
date cells, as most district registers do, and puts a title line above the table.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from services.intake.backfill.domain.values import parse_date

HERE = Path(__file__).parent
DATE_COLUMNS = {"วันที่รับเรื่อง", "วันที่ยุติเรื่อง"}


def main() -> None:
    with open(HERE / "backfill-example.csv", encoding="utf-8-sig", newline="") as f:
        header, *rows = list(csv.reader(f))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "ทะเบียนเรื่องร้องเรียน"
    sheet.append(["ทะเบียนรับเรื่องร้องเรียน ศูนย์ดำรงธรรมอำเภอ (ตัวอย่าง)"])
    sheet.append(header)
    dates = {i for i, name in enumerate(header) if name in DATE_COLUMNS}
    for row in rows:
        sheet.append([parse_date(v) if i in dates and v else (v or None)
                      for i, v in enumerate(row)])
        for i in dates:
            sheet.cell(sheet.max_row, i + 1).number_format = "dd/mm/yyyy"
    book.save(HERE / "backfill-example.xlsx")


if __name__ == "__main__":
    main()
