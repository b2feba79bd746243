//! Rendering without services: the figure paragraphs' clauses, windows across the year's end,
//! numbering and drafts, from indicators built by hand and the shipped unit profile.

// The helpers, like the tests, panic on a failure.
#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use domain::profile::UnitProfile;
use domain::{Counts, Indicators, MemberFigures, Period, UnitCode};
use reporter::figures::Figures;
use reporter::{Format, Renderer, ReportContent, ReportInputs, TemplateSource};

#[derive(serde::Deserialize)]
struct Shipped {
    unit: Vec<UnitProfile>,
}

fn profile() -> UnitProfile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../baocao.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let shipped: Shipped = toml::from_str(&text).unwrap();
    shipped.unit.into_iter().next().unwrap()
}

fn content(
    profile: &UnitProfile,
    period: &str,
    counts: Counts,
    number: Option<u32>,
) -> ReportContent {
    let period: Period = period.parse().unwrap();
    let window = period.window(Ho_Chi_Minh);
    let is_final = true;
    let indicators = Indicators::new(
        UnitCode::parse("tri-qua").unwrap(),
        period,
        window,
        is_final,
        counts,
    );
    ReportContent::new(ReportInputs {
        profile,
        figures: &Figures::Unit(indicators),
        member_names: &[],
        narrative: profile.narrative.clone(),
        number,
        date: NaiveDate::from_ymd_opt(period.year(), period.month(), 18).unwrap(),
        window_days: (window.start().date_naive(), window.end().date_naive()),
        as_of: Utc
            .with_ymd_and_hms(2026, 11, 27, 13, 15, 0)
            .unwrap()
            .with_timezone(&Ho_Chi_Minh),
    })
}

fn text(content: &ReportContent) -> String {
    let bytes = Renderer::new(TemplateSource::built_in(), "tri-qua")
        .render(content, Format::Text)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// The line of the procedures paragraph.
fn procedures_line(text: &str) -> &str {
    text.lines()
        .find(|line| line.starts_with("- Tình hình xử lý các thủ tục hành chính"))
        .unwrap()
}

fn reference_counts() -> Counts {
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
    }
}

#[test]
fn postal_carried_over_and_late_clauses_appear_only_when_non_zero() {
    let profile = profile();
    let plain = text(&content(&profile, "2026-05", reference_counts(), Some(103)));
    let line = procedures_line(&plain);
    assert!(!line.contains("Bưu chính"), "{line}");
    assert!(!line.contains("kỳ trước chuyển qua"), "{line}");
    assert!(!line.contains("giải quyết quá hạn"), "{line}");

    let counts = Counts {
        procedures_carried_over: 3,
        procedures_received: 40,
        procedures_online: 30,
        procedures_direct: 8,
        procedures_postal: 2,
        procedures_digitized: 39,
        procedures_resolved: 36,
        procedures_resolved_early: 30,
        procedures_resolved_late: 2,
        procedures_pending_overdue: 1,
        petitions_carried_over: 2,
        petitions_received: 4,
        petitions_resolved: 3,
        ..Counts::default()
    };
    let rendered = text(&content(&profile, "2026-06", counts, Some(104)));
    assert_eq!(
        procedures_line(&rendered),
        "- Tình hình xử lý các thủ tục hành chính: Tính từ ngày 15/5/2026 đến ngày 15/6/2026 \
         tiếp nhận 40 hồ sơ, trong đó: Trực tuyến 30 hồ sơ đạt 75%; Trực tiếp 08 hồ sơ đạt 20%; \
         Bưu chính 02 hồ sơ đạt 5%; kỳ trước chuyển qua 03 hồ sơ; số hồ sơ đã giải quyết 36 hồ \
         sơ đạt 83.72%, trong đó giải quyết quá hạn 02 hồ sơ; số hồ sơ đang giải quyết (trong \
         hạn) 06 hồ sơ đạt 85.71%; số hồ sơ quá hạn 01 hồ sơ; số hóa hồ sơ đạt 97.5%."
    );
    assert!(
        rendered.contains(
            "đã tiếp nhận 04 phản ánh kiến nghị, kỳ trước chuyển qua 02 phản ánh. Trong đó: \
             03 phản ánh đã xử lý đạt tỷ lệ: 50%."
        ),
        "{rendered}"
    );
}

#[test]
fn a_month_without_activity_says_khong_phat_sinh_instead_of_a_share() {
    let rendered = text(&content(&profile(), "2026-07", Counts::default(), Some(1)));
    assert!(
        rendered
            .contains("ban hành 00 văn bản, trong đó ký số 00 văn bản đạt tỉ lệ không phát sinh.")
    );
    assert!(rendered.contains("00 phản ánh đã xử lý đạt tỷ lệ: không phát sinh."));
    assert!(procedures_line(&rendered).contains(
        "Trực tuyến 00 hồ sơ đạt không phát sinh; Trực tiếp 00 hồ sơ đạt không phát sinh; \
         số hồ sơ đã giải quyết 00 hồ sơ đạt không phát sinh;"
    ));
    assert!(rendered.contains("đã đăng tải được 00 tin, bài..."));
}

#[test]
fn january_and_december_windows_cross_the_year_and_dates_follow_decree_30() {
    let profile = profile();
    let january = text(&content(&profile, "2027-01", reference_counts(), Some(1)));
    assert!(january.contains("Số: 01/BC-UBND"), "{january}");
    assert!(january.contains("Trí Quả, ngày 18 tháng 01 năm 2027"));
    assert!(january.contains("Kết quả Chuyển đổi số tháng 1 năm 2027"));
    assert!(january.contains("Tính từ ngày 15/12/2026 đến ngày 15/1/2027 UBND phường ban hành"));
    assert!(
        january.contains("thực hiện Chuyển đổi số tháng 1 năm 2027 của UBND phường Trí Quả./.")
    );

    let december = text(&content(&profile, "2026-12", reference_counts(), Some(131)));
    assert!(december.contains("Trí Quả, ngày 18 tháng 12 năm 2026"));
    assert!(december.contains("Tính từ 15/11/2026 đến 15/12/2026 UBND phường đã tiếp nhận"));
}

#[test]
fn a_blank_number_is_left_for_the_clerk() {
    let rendered = text(&content(&profile(), "2026-05", reference_counts(), None));
    assert!(rendered.contains("\n\nSố:      /BC-UBND\n\n"), "{rendered}");
}

#[test]
fn a_draft_of_the_open_window_says_so_on_its_first_line() {
    let profile = profile();
    let mut draft = content(&profile, "2026-12", reference_counts(), Some(131));
    draft.is_final = false;
    draft.indicators.is_final = false;
    let rendered = text(&draft);
    assert_eq!(
        rendered.lines().next().unwrap(),
        "DỰ THẢO: số liệu tạm tính đến 20:15 ngày 27/11/2026, kỳ báo cáo chưa kết thúc."
    );
    let html = Renderer::new(TemplateSource::built_in(), "tri-qua")
        .render(&draft, Format::Html)
        .unwrap();
    assert!(String::from_utf8(html).unwrap().contains("class=\"draft\""));
}

#[test]
fn html_escapes_what_the_configuration_says() {
    let mut profile = profile();
    profile.narrative.set(
        domain::profile::NarrativeField::Proposals,
        vec!["Đề nghị <b>trang bị</b> máy & mạng".to_owned()],
    );
    let html = Renderer::new(TemplateSource::built_in(), "tri-qua")
        .render(
            &content(&profile, "2026-05", reference_counts(), Some(103)),
            Format::Html,
        )
        .unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("Đề nghị &lt;b&gt;trang bị&lt;&#x2f;b&gt; máy &amp; mạng"),
        "{html}"
    );
}

#[test]
fn a_template_error_names_the_template_and_line() {
    let dir = std::env::temp_dir().join(format!("baocao-bad-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("body.j2"),
        "Đoạn một\n\n{{ indicators.no_such_field }}\n",
    )
    .unwrap();
    let error = Renderer::new(TemplateSource::with_overrides(&dir), "tri-qua")
        .render(
            &content(&profile(), "2026-05", reference_counts(), Some(103)),
            Format::Text,
        )
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(error.starts_with("template body.j2: line 3:"), "{error}");
}

/// A summary of three members for May 2026 (the second had not reported), from the generated
/// province's summary profile with the shipped narrative left out.
fn summary_content(members: [Counts; 3]) -> ReportContent {
    let base =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../baocao.toml")).unwrap();
    #[derive(serde::Deserialize)]
    struct Province {
        summary: Vec<UnitProfile>,
    }
    let province: Province = toml::from_str(&province_text(&base)).unwrap();
    let profile = province.summary.into_iter().next().unwrap();
    let period: Period = "2026-05".parse().unwrap();
    let window = period.window(Ho_Chi_Minh);
    let codes = ["an-phu", "binh-thanh", "tri-qua"];
    // An Phú and Trí Quả had issued theirs; Bình Thạnh had not: its row is provisional.
    let rows: Vec<MemberFigures> = codes
        .iter()
        .zip(members)
        .map(|(code, counts)| {
            let indicators =
                Indicators::new(UnitCode::parse(code).unwrap(), period, window, true, counts);
            match *code {
                "binh-thanh" => MemberFigures::provisional(indicators),
                _ => MemberFigures::issued(indicators, 1),
            }
        })
        .collect();
    let document = domain::indicators::SummaryIndicators::new(
        profile.code.clone(),
        period,
        window,
        true,
        rows,
    );
    let figures = Figures::Summary { document };
    let names = [
        "UBND phường An Phú",
        "UBND xã Bình Thạnh",
        "UBND phường Trí Quả",
    ]
    .map(String::from);
    ReportContent::new(ReportInputs {
        profile: &profile,
        figures: &figures,
        member_names: &names,
        narrative: profile.narrative.clone(),
        number: Some(7),
        date: NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(),
        window_days: (window.start().date_naive(), window.end().date_naive()),
        as_of: window.end(),
    })
}

/// The department's summary block, as a generated province configures it (kept here so that
/// this crate's tests need not depend on the command-line crate).
fn province_text(_base: &str) -> String {
    r#"
[[summary]]
code = "tinh-qn"
issuing_body = ["UBND TỈNH QUẢNG NGÃI", "SỞ KHOA HỌC VÀ CÔNG NGHỆ"]
short_name = "Sở Khoa học và Công nghệ"
place = "Quảng Ngãi"
mail_from = "Sở Khoa học và Công nghệ <vanthu.sokhcn@example.gov.vn>"
members = ["an-phu", "binh-thanh", "tri-qua"]
[summary.numbering]
mode = "sequence"
symbol = "BC-SKHCN"
[summary.signer]
authority = "KT. GIÁM ĐỐC"
title = "PHÓ GIÁM ĐỐC"
name = "Trần Văn Minh"
[[summary.recipients]]
label = "UBND tỉnh Quảng Ngãi (b/c)"
addresses = ["vanthu.ubndtinh@example.gov.vn"]
"#
    .to_owned()
}

fn dossiers(received: i64, online: i64, resolved_early: i64) -> Counts {
    Counts {
        procedures_received: received,
        procedures_online: online,
        procedures_direct: received - online,
        procedures_digitized: received,
        procedures_resolved: resolved_early,
        procedures_resolved_early: resolved_early,
        documents_issued: received / 2,
        documents_digitally_signed: received / 2,
        ..Counts::default()
    }
}

#[test]
fn a_summary_gives_totals_with_shares_from_the_sums_and_a_row_per_member() {
    // 1 of 1 online (100%), 0 of 3 (0%), 3 of 4 (75%): the total is 4 of 8, 50%, where an
    // average of the members' shares would be 58.33%.
    let content = summary_content([dossiers(1, 1, 1), dossiers(3, 0, 0), dossiers(4, 3, 2)]);
    let plain = text(&content);
    assert!(
        plain.contains("Sở Khoa học và Công nghệ báo cáo tổng hợp kết quả Chuyển đổi số tháng 5 năm 2026 của 3 xã, phường"),
        "{plain}"
    );
    assert!(
        plain.contains("2/3 xã, phường đã gửi báo cáo kết quả Chuyển đổi số tháng 5 năm 2026; chưa gửi: UBND xã Bình Thạnh."),
        "{plain}"
    );
    assert!(
        plain.contains("các xã, phường tiếp nhận 08 hồ sơ, trong đó: Trực tuyến 04 hồ sơ đạt 50%; Trực tiếp 04 hồ sơ đạt 50%;"),
        "{plain}"
    );
    assert!(
        plain.contains("1. UBND phường An Phú: nhận giải quyết 1 (trực tuyến 1, trực tiếp và bưu chính 0, kỳ trước chuyển qua 0); đã giải quyết 1 (trả trước hạn 1, trả đúng hạn 0, trả quá hạn 0); đang giải quyết 0 (trong hạn 0, quá hạn 0)."),
        "{plain}"
    );
    assert!(
        plain.contains("Tổng cộng: nhận giải quyết 8 (trực tuyến 4, trực tiếp và bưu chính 4, kỳ trước chuyển qua 0); đã giải quyết 3 (trả trước hạn 3, trả đúng hạn 0, trả quá hạn 0); đang giải quyết 5 (trong hạn 5, quá hạn 0)."),
        "{plain}"
    );
    // The provisional row is marked in the table, and the report says what that means.
    assert!(
        plain.contains("2. UBND xã Bình Thạnh (tạm tính): nhận giải quyết 3"),
        "{plain}"
    );
    assert!(
        plain.contains("Số liệu của các xã, phường ghi \"(tạm tính)\" là số liệu tạm tính"),
        "{plain}"
    );
    // Without a narrative, no evaluation or proposals section.
    assert!(!plain.contains("ĐÁNH GIÁ CHUNG"), "{plain}");
    assert!(
        plain.contains("BÁO CÁO\nTổng hợp kết quả Chuyển đổi số tháng 5 năm 2026"),
        "{plain}"
    );

    let html = String::from_utf8(
        Renderer::new(TemplateSource::built_in(), "tinh-qn")
            .render(&content, Format::Html)
            .unwrap(),
    )
    .unwrap();
    assert!(
        html.contains(r#"<th colspan="4">Số hồ sơ nhận giải quyết</th>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<tr class="total"><td colspan="2">Tổng cộng</td>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<td class="name">UBND xã Bình Thạnh (tạm tính)</td>"#),
        "{html}"
    );

    let json: serde_json::Value = serde_json::from_slice(
        &Renderer::new(TemplateSource::built_in(), "tinh-qn")
            .render(&content, Format::Json)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["unit"], "tinh-qn");
    assert_eq!(json["members"].as_array().unwrap().len(), 3);
    assert_eq!(json["members"][1]["unit"], "binh-thanh");
    // The member that had not reported is counted as of the report, and says so.
    assert_eq!(json["members"][1]["provisional"], true);
    assert_eq!(json["members"][1]["revision"], serde_json::Value::Null);
    assert_eq!(json["members"][0]["provisional"], false);
    assert_eq!(json["members"][0]["revision"], 1);
    assert_eq!(json["total"]["procedures"]["received"], 8);
    assert_eq!(json["total"]["procedures"]["online"], 4);
    assert_eq!(
        json["reported"],
        serde_json::json!({"members": 3, "issued": 2})
    );
}

#[test]
fn a_summary_renders_as_docx_pdf_and_xlsx() {
    let content = summary_content([dossiers(1, 1, 1), dossiers(3, 0, 0), dossiers(4, 3, 2)]);
    let renderer = Renderer::new(TemplateSource::built_in(), "tinh-qn");
    let docx = renderer.render(&content, Format::Docx).unwrap();
    let document = unzip_entry(&docx, "word/document.xml");
    assert!(document.contains("Tổng cộng"));
    assert!(
        document.contains(r#"<w:gridSpan w:val="4" />"#)
            || document.contains(r#"<w:gridSpan w:val="4"/>"#),
        "no merged group header"
    );
    let pdf = renderer.render(&content, Format::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let xlsx = renderer.render(&content, Format::Xlsx).unwrap();
    assert!(xlsx.starts_with(b"PK\x03\x04"));
    let sheet = unzip_entry(&xlsx, "xl/worksheets/sheet1.xml");
    // The total row: formulas with their values stored.
    assert!(sheet.contains("<f>SUM(C9:C11)</f><v>8</v>"), "{sheet}");
}

/// The text of one entry of a ZIP package (DOCX, XLSX).
fn unzip_entry(package: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let mut entry = archive.by_name(name).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    text
}
