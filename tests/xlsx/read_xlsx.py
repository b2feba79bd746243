#!/usr/bin/env python3
"""Reads a workbook baocao wrote (reporter::xlsx) with openpyxl and prints a JSON summary.

Usage: read_xlsx.py WORKBOOK.xlsx INDICATORS.json

INDICATORS.json is the list of the §5 documents of the units, in the form's order.
The summary says what the Rust test asserts on: sheet names, merged ranges, title texts,
cells that should be numbers but are not, the formulas of the total row and whether their
stored values equal the column sums, invariant violations, and mismatches between the
"Chỉ tiêu" sheet and the JSON documents.
"""

import json
import sys

import openpyxl

FORM, FIGURES, OVERDUE = "II.06a", "Chỉ tiêu", "Hồ sơ quá hạn"


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def flatten(doc):
    """The numeric figures of a §5 document as {"procedures.online": 465, ...}."""
    out = {}
    for group, fields in doc.items():
        if isinstance(fields, dict):
            for name, v in fields.items():
                if is_number(v):
                    out[f"{group}.{name}"] = v
    return out


def find_row(ws, col, text):
    for r in range(1, ws.max_row + 1):
        if ws.cell(r, col).value == text:
            return r
    return None


def unit_rows(ws, first, label_col):
    """Rows from `first` down to the last unit row, and the total row if any."""
    rows, total = [], None
    r = first
    while r <= ws.max_row:
        label = ws.cell(r, label_col).value
        if label == "Tổng cộng":
            total = r
            break
        if ws.cell(r, 1).value is None:
            break
        rows.append(r)
        r += 1
    return rows, total


def main():
    path, json_path = sys.argv[1], sys.argv[2]
    docs = json.load(open(json_path, encoding="utf-8"))
    wb_f = openpyxl.load_workbook(path, data_only=False)
    wb_v = openpyxl.load_workbook(path, data_only=True)
    out = {"sheets": wb_f.sheetnames, "problems": []}
    problems = out["problems"]

    # ---- II.06a ----
    f, v = wb_f[FORM], wb_v[FORM]
    out["form_merged"] = sorted(str(m) for m in f.merged_cells.ranges)
    out["form_texts"] = [
        c.value for row in f.iter_rows(min_row=1, max_row=3) for c in row if isinstance(c.value, str)
    ]
    numbers_row = find_row(f, 1, "(1)")
    out["form_numbers_row"] = numbers_row
    out["form_column_numbers"] = [f.cell(numbers_row, c).value for c in range(1, 14)]
    out["form_header"] = {
        c.coordinate: c.value
        for row in f.iter_rows(min_row=4, max_row=numbers_row - 1)
        for c in row
        if c.value is not None
    }
    out["form_freeze"] = f.freeze_panes
    out["form_print_title_rows"] = f.print_title_rows
    out["form_orientation"] = f.page_setup.orientation
    out["form_paper_size"] = f.page_setup.paperSize
    out["form_fonts"] = sorted(
        {c.font.name for row in f.iter_rows() for c in row if c.value is not None}
    )
    rows, total = unit_rows(f, numbers_row + 1, 1)
    if total is not None and f.cell(total, 1).value != "Tổng cộng":
        problems.append("total label not in column A")
    out["form_rows"] = len(rows)
    out["form_total_row"] = total
    out["form_names"] = [f.cell(r, 2).value for r in rows]

    non_numeric = 0
    for r in rows + ([total] if total else []):
        for c in range(3, 14):
            if not is_number(v.cell(r, c).value):
                non_numeric += 1
                problems.append(f"II.06a {v.cell(r, c).coordinate} not a number: {v.cell(r, c).value!r}")
        if r != total and not is_number(v.cell(r, 1).value):
            non_numeric += 1
    out["form_non_numeric"] = non_numeric

    # The "Tổng số" cells are formulas of their parts; the invariants hold on stored values.
    violations, sum_formulas = 0, 0
    for i, r in enumerate(rows):
        val = lambda col: v.cell(r, col).value  # noqa: E731
        for col, parts in ((3, (4, 5, 6)), (7, (8, 9, 10)), (11, (12, 13))):
            formula = f.cell(r, col).value
            expected = "=" + "+".join(f.cell(r, p).coordinate for p in parts)
            if formula == expected:
                sum_formulas += 1
            else:
                problems.append(f"II.06a {f.cell(r, col).coordinate} formula {formula!r} != {expected!r}")
            if val(col) != sum(val(p) for p in parts):
                violations += 1
        # And the stored values are the figures of the JSON document.
        p = docs[i]["procedures"]
        expected = [
            p["online"] + p["direct"] + p["postal"] + p["carried_over"],
            p["online"], p["direct"] + p["postal"], p["carried_over"],
            p["resolved"], p["resolved_early"], p["resolved_on_time"], p["resolved_late"],
            p["pending"], p["pending_on_time"], p["pending_overdue"],
        ]
        got = [val(c) for c in range(3, 14)]
        if got != expected:
            problems.append(f"II.06a row {r}: {got} != {expected}")
        if f.cell(r, 2).value != docs[i].get("_name"):
            problems.append(f"II.06a row {r}: name {f.cell(r, 2).value!r}")
    out["form_invariant_violations"] = violations
    out["form_sum_formulas"] = sum_formulas

    def check_total(fs, vs, total, first_col, last_col, sheet):
        formulas, matches = 0, 0
        for c in range(first_col, last_col + 1):
            cell = fs.cell(total, c)
            col = cell.column_letter
            expected = f"=SUM({col}{rows_of[sheet][0]}:{col}{rows_of[sheet][-1]})"
            if cell.value == expected:
                formulas += 1
            else:
                problems.append(f"{sheet} {cell.coordinate} formula {cell.value!r} != {expected!r}")
            stored = vs.cell(total, c).value
            if is_number(stored) and stored == sum(vs.cell(r, c).value for r in rows_of[sheet]):
                matches += 1
            else:
                problems.append(f"{sheet} {cell.coordinate} stored {stored!r} is not the column sum")
        return formulas, matches

    rows_of = {FORM: rows}
    if total:
        out["form_total_formulas"], out["form_total_matches"] = check_total(f, v, total, 3, 13, FORM)
        out["form_total_bold"] = all(f.cell(total, c).font.b for c in [1] + list(range(3, 14)))
    else:
        out["form_total_formulas"], out["form_total_matches"] = 0, 0

    # ---- Chỉ tiêu ----
    f2, v2 = wb_f[FIGURES], wb_v[FIGURES]
    out["figures_merged"] = sorted(str(m) for m in f2.merged_cells.ranges)
    key_row = find_row(f2, 2, "unit")
    out["figures_key_row"] = key_row
    keys = {}
    for c in range(4, f2.max_column + 1):
        k = f2.cell(key_row, c).value
        if isinstance(k, str):
            keys[k] = c
    out["figures_keys"] = list(keys)
    out["figures_groups"] = {
        c.coordinate: c.value for c in f2[key_row - 2] if c.value is not None
    }
    out["figures_labels"] = {
        f2.cell(key_row, c).value: f2.cell(key_row - 1, c).value for c in keys.values()
    }
    rows2, total2 = unit_rows(f2, key_row + 1, 1)
    out["figures_rows"] = len(rows2)
    rows_of[FIGURES] = rows2
    non_numeric2, mismatches, compared = 0, 0, 0
    by_unit = {d["unit"]: d for d in docs}
    for r in rows2:
        doc = by_unit.get(v2.cell(r, 2).value)
        if doc is None:
            problems.append(f"Chỉ tiêu row {r}: unknown unit {v2.cell(r, 2).value!r}")
            mismatches += 1
            continue
        figures = flatten(doc)
        if set(figures) != set(keys):
            problems.append(f"Chỉ tiêu: keys {sorted(set(figures) ^ set(keys))} differ")
            mismatches += 1
        for key, c in keys.items():
            got = v2.cell(r, c).value
            if not is_number(got):
                non_numeric2 += 1
            compared += 1
            if got != figures.get(key):
                mismatches += 1
                problems.append(f"Chỉ tiêu {v2.cell(r, c).coordinate} {key}: {got!r} != {figures.get(key)!r}")
    out["figures_non_numeric"] = non_numeric2
    out["figures_mismatches"] = mismatches
    out["figures_compared"] = compared
    if total2:
        last = max(keys.values())
        out["figures_total_formulas"], out["figures_total_matches"] = check_total(
            f2, v2, total2, 4, last, FIGURES
        )
    else:
        out["figures_total_formulas"], out["figures_total_matches"] = 0, 0

    # ---- Hồ sơ quá hạn (a report's workbook) ----
    if OVERDUE in wb_v.sheetnames:
        o = wb_v[OVERDUE]
        header = find_row(o, 1, "TT")
        out["overdue_header"] = [o.cell(header, c).value for c in range(1, 10)]
        out["overdue_rows"] = [
            [o.cell(r, c).value for c in range(1, 10)]
            for r in range(header + 1, o.max_row + 1)
            if is_number(o.cell(r, 1).value)
        ]
        out["overdue_texts"] = [
            c.value for row in o.iter_rows() for c in row if isinstance(c.value, str)
        ]

    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
