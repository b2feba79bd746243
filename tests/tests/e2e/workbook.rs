//! The workbook (`reporter::xlsx`) without services: built for one unit and for 100 generated
//! units, written under the target's temporary directory and read back with openpyxl
//! (`tests/xlsx/read_xlsx.py`), which prints a JSON summary asserted on here: merged headers,
//! numbers as numbers, formulas with their values stored, the form's invariants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use baocao_tests::xlsx::{check, read_back, strings};
use chrono::NaiveDate;
use chrono_tz::Asia::Ho_Chi_Minh;
use domain::{Counts, Indicators, Period, UnitCode};
use reporter::xlsx::{self, Form, Row};
use serde_json::{Value, json};

fn period() -> Period {
    Period::new(2026, 5).unwrap()
}

fn days() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(2026, 4, 15).unwrap(),
        NaiveDate::from_ymd_opt(2026, 5, 15).unwrap(),
    )
}

/// The example of SPEC §5.
fn tri_qua() -> Indicators {
    Indicators::new(
        UnitCode::parse("tri-qua").unwrap(),
        period(),
        period().window(Ho_Chi_Minh),
        true,
        Counts {
            documents_issued: 157,
            documents_digitally_signed: 157,
            petitions_received: 5,
            petitions_resolved: 5,
            procedures_received: 550,
            procedures_online: 465,
            procedures_direct: 85,
            procedures_digitized: 550,
            procedures_resolved: 513,
            procedures_resolved_early: 513,
            articles_published: 78,
            ..Counts::default()
        },
    )
}

/// A small deterministic generator (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if n <= 0 {
            0
        } else {
            ((self.0 >> 33) % n as u64) as i64
        }
    }
}

/// `n` units with varied figures that satisfy SPEC §5's definitions.
fn generated(n: usize) -> Vec<(String, Indicators)> {
    const PLACES: [&str; 10] = [
        "An Phú",
        "Trí Quả",
        "Đồng Nguyên",
        "Hương Mạc",
        "Tân Hồng",
        "Phù Khê",
        "Châu Khê",
        "Đình Bảng",
        "Tam Sơn",
        "Từ Sơn",
    ];
    let mut rng = Lcg(0x5eed);
    (0..n)
        .map(|i| {
            let kind = if i % 3 == 0 { "Xã" } else { "Phường" };
            let name = format!("{kind} {} {}", PLACES[i % 10], i / 10 + 1);
            let online = rng.below(900);
            let direct = rng.below(200);
            let postal = rng.below(15);
            let received = online + direct + postal;
            let carried_over = rng.below(60);
            let resolved = rng.below(carried_over + received + 1);
            let late = rng.below(resolved / 10 + 1);
            let early = rng.below(resolved - late + 1);
            let pending = carried_over + received - resolved;
            let p_received = rng.below(20);
            let p_carried = rng.below(5);
            let issued = rng.below(400);
            let counts = Counts {
                documents_issued: issued,
                documents_digitally_signed: rng.below(issued + 1),
                petitions_carried_over: p_carried,
                petitions_received: p_received,
                petitions_resolved: rng.below(p_carried + p_received + 1),
                procedures_carried_over: carried_over,
                procedures_received: received,
                procedures_online: online,
                procedures_direct: direct,
                procedures_postal: postal,
                procedures_digitized: rng.below(received + 1),
                procedures_resolved: resolved,
                procedures_resolved_early: early,
                procedures_resolved_late: late,
                procedures_resolved_without_result: 0,
                procedures_pending_overdue: rng.below(pending + 1),
                articles_published: rng.below(120),
            };
            let code = UnitCode::parse(&format!("unit-{:03}", i + 1)).unwrap();
            let ind = Indicators::new(code, period(), period().window(Ho_Chi_Minh), true, counts);
            (name, ind)
        })
        .collect()
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("forms");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds the form of `units`, writes it and the units' JSON documents as `<stem>.xlsx` and
/// `<stem>.json`, and returns the workbook's path.
fn write(stem: &str, body: &str, units: &[(String, Indicators)], total: bool) -> PathBuf {
    let form = Form {
        reporting_body: body,
        recipient: Some("UBND tỉnh Quảng Ngãi"),
        period: period(),
        window_days: days(),
        rows: units
            .iter()
            .map(|(name, indicators)| Row { name, indicators })
            .collect(),
        total,
    };
    let bytes = xlsx::build(&form).unwrap();
    assert_eq!(
        bytes,
        xlsx::build(&form).unwrap(),
        "the output is deterministic"
    );
    let dir = out_dir();
    let path = dir.join(format!("{stem}.xlsx"));
    std::fs::write(&path, bytes).unwrap();
    let docs: Vec<Value> = units
        .iter()
        .map(|(name, ind)| {
            let mut v = serde_json::to_value(ind).unwrap();
            v["_name"] = json!(name);
            v
        })
        .collect();
    std::fs::write(
        dir.join(format!("{stem}.json")),
        serde_json::to_vec(&docs).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn one_unit_reads_back_with_openpyxl() {
    let units = vec![("Phường Trí Quả".to_owned(), tri_qua())];
    let path = write("one-unit", "UBND phường Trí Quả", &units, false);
    let summary = read_back(&path);
    check(&summary, 1, false);
    assert!(
        strings(&summary["form_texts"]).contains(&"Đơn vị báo cáo: UBND phường Trí Quả"),
        "{summary}"
    );
}

#[test]
fn hundred_units_summary_reads_back_with_openpyxl() {
    let units = generated(100);
    let path = write("summary-100", "Sở Khoa học và Công nghệ", &units, true);
    let summary = read_back(&path);
    check(&summary, 100, true);
}

#[test]
fn provisional_figures_without_recipient() {
    let mut ind = tri_qua();
    ind.is_final = false;
    let form = Form {
        reporting_body: "UBND phường Trí Quả",
        recipient: None,
        period: period(),
        window_days: days(),
        rows: vec![Row {
            name: "Phường Trí Quả",
            indicators: &ind,
        }],
        total: false,
    };
    let path = out_dir().join("provisional.xlsx");
    std::fs::write(&path, xlsx::build(&form).unwrap()).unwrap();
    let mut doc = serde_json::to_value(&ind).unwrap();
    doc["_name"] = json!("Phường Trí Quả");
    std::fs::write(path.with_extension("json"), json!([doc]).to_string()).unwrap();
    let summary = read_back(&path);
    assert!(strings(&summary["problems"]).is_empty(), "{summary}");
    let texts = strings(&summary["form_texts"]);
    assert!(
        texts.contains(&"Số liệu tạm tính: kỳ báo cáo chưa kết thúc"),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.starts_with("Đơn vị nhận báo cáo")),
        "{texts:?}"
    );
    assert_eq!(summary["figures_mismatches"], 0);
}
