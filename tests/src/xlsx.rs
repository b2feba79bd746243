//! Reading a workbook back with openpyxl (`tests/xlsx/read_xlsx.py`) and the assertions every
//! workbook of baocao must pass: the paper form's merged header, numbers as numbers, formulas
//! with their values stored, the form's invariants, every figure on "Chỉ tiêu".

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::repo_root;

/// Runs `tests/xlsx/read_xlsx.py` on the workbook `xlsx`, whose units' documents (each with its
/// row's name as `_name`) are in the file beside it with the extension `json`, and parses its
/// summary.
pub fn read_back(xlsx: &Path) -> Value {
    let script = repo_root().join("tests/xlsx/read_xlsx.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(xlsx)
        .arg(xlsx.with_extension("json"))
        .output()
        .expect("python3 runs (scripts/test installs openpyxl: ensure_report_tools)");
    assert!(
        output.status.success(),
        "read_xlsx.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A JSON list of strings.
pub fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// The merged ranges of sheet II.06a with `rows` unit rows.
fn form_merged(rows: usize, total: bool) -> Vec<String> {
    let mut merged: Vec<String> = [
        // Title block.
        "A1:C1", "D1:J1", "K1:M1", "D2:J2", "K2:M2", "K3:M3",
        // Header: TT, Đơn vị, the two groups.
        "A4:A7", "B4:B7", "C4:F4", "G4:M4",
        // Tổng số, Trong đó, đã / đang giải quyết.
        "C5:C7", "D5:F5", "G5:J5", "K5:M5",
        // Số mới tiếp nhận trong kỳ, kỳ trước chuyển qua, the result columns.
        "D6:E6", "F6:F7", "G6:G7", "H6:H7", "I6:I7", "J6:J7", "K6:K7", "L6:L7", "M6:M7",
    ]
    .map(String::from)
    .to_vec();
    if total {
        let r = 9 + rows;
        merged.push(format!("A{r}:B{r}"));
    }
    merged.sort();
    merged
}

fn figures_merged(rows: usize, total: bool) -> Vec<String> {
    let mut merged: Vec<String> = [
        "A1:X1", "A2:X2", "A3:X3", "A4:A6", "B4:B5", "C4:C6", "D4:E4", "F4:I4", "J4:W4",
    ]
    .map(String::from)
    .to_vec();
    if total {
        let r = 7 + rows;
        merged.push(format!("A{r}:C{r}"));
    }
    merged.sort();
    merged
}

/// The assertions every workbook passes, for `rows` units (and a total row if `total`).
pub fn check(summary: &Value, rows: usize, total: bool) {
    let problems = strings(&summary["problems"]);
    assert!(problems.is_empty(), "{problems:#?}");
    // A form has two sheets; a report's workbook adds its overdue dossiers (SPEC §5.1).
    let sheets = strings(&summary["sheets"]);
    assert!(
        sheets == ["II.06a", "Chỉ tiêu"] || sheets == ["II.06a", "Chỉ tiêu", "Hồ sơ quá hạn"],
        "{sheets:?}"
    );

    // II.06a.
    let mut merged = strings(&summary["form_merged"]);
    merged.sort_unstable();
    assert_eq!(merged, form_merged(rows, total));
    let texts = strings(&summary["form_texts"]);
    for expected in [
        "Biểu số II.06a",
        "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        "Kỳ báo cáo: tháng 5 năm 2026 (từ ngày 15/4/2026 đến ngày 15/5/2026)",
        "Đơn vị nhận báo cáo: UBND tỉnh Quảng Ngãi",
        "Đơn vị tính: hồ sơ",
    ] {
        assert!(texts.contains(&expected), "{expected} not in {texts:?}");
    }
    let header = &summary["form_header"];
    for (cell, text) in [
        ("A4", "TT"),
        ("B4", "Đơn vị"),
        ("C4", "Số hồ sơ nhận giải quyết"),
        ("G4", "Kết quả giải quyết"),
        ("C5", "Tổng số"),
        ("D5", "Trong đó"),
        ("G5", "Số hồ sơ đã giải quyết"),
        ("K5", "Số hồ sơ đang giải quyết"),
        ("D6", "Số mới tiếp nhận trong kỳ"),
        ("F6", "Kỳ trước chuyển qua"),
        ("H6", "Trả trước hạn"),
        ("I6", "Trả đúng hạn"),
        ("J6", "Trả quá hạn"),
        ("L6", "Trong hạn"),
        ("M6", "Quá hạn"),
        ("D7", "Trực tuyến"),
        ("E7", "Trực tiếp và bưu chính"),
    ] {
        assert_eq!(header[cell], text, "{cell}");
    }
    let numbers: Vec<String> = (1..=13).map(|n| format!("({n})")).collect();
    assert_eq!(strings(&summary["form_column_numbers"]), numbers);
    assert_eq!(summary["form_numbers_row"], 8);
    assert_eq!(summary["form_freeze"], "C9");
    assert_eq!(summary["form_print_title_rows"], "$4:$8");
    assert_eq!(summary["form_orientation"], "landscape");
    assert_eq!(summary["form_paper_size"], 9);
    assert_eq!(strings(&summary["form_fonts"]), ["Times New Roman"]);
    assert_eq!(summary["form_rows"], rows);
    assert_eq!(summary["form_non_numeric"], 0);
    assert_eq!(summary["form_invariant_violations"], 0);
    assert_eq!(summary["form_sum_formulas"], 3 * rows);
    let total_cells = if total { 11 } else { 0 };
    assert_eq!(summary["form_total_formulas"], total_cells);
    assert_eq!(summary["form_total_matches"], total_cells);
    if total {
        assert_eq!(summary["form_total_row"], 9 + rows);
        assert_eq!(summary["form_total_bold"], true);
    } else {
        assert!(summary["form_total_row"].is_null());
    }

    // Chỉ tiêu.
    let mut merged = strings(&summary["figures_merged"]);
    merged.sort_unstable();
    assert_eq!(merged, figures_merged(rows, total));
    assert_eq!(summary["figures_key_row"], 6);
    assert_eq!(summary["figures_keys"].as_array().unwrap().len(), 21);
    assert_eq!(summary["figures_labels"]["procedures.online"], "Trực tuyến");
    assert_eq!(summary["figures_groups"]["D4"], "Văn bản");
    assert_eq!(summary["figures_groups"]["F4"], "Phản ánh, kiến nghị");
    assert_eq!(summary["figures_groups"]["J4"], "Hồ sơ thủ tục hành chính");
    assert_eq!(summary["figures_groups"]["X4"], "Tin, bài");
    assert_eq!(summary["figures_rows"], rows);
    assert_eq!(summary["figures_non_numeric"], 0);
    assert_eq!(summary["figures_mismatches"], 0);
    assert_eq!(summary["figures_compared"], 21 * rows);
    let total_cells = if total { 21 } else { 0 };
    assert_eq!(summary["figures_total_formulas"], total_cells);
    assert_eq!(summary["figures_total_matches"], total_cells);
}
