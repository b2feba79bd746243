use super::*;
use proptest::prelude::*;

fn units() -> KnownUnits {
    let tri_qua = UnitCode::parse("tri-qua").unwrap();
    KnownUnits::new([tri_qua.clone()]).with_agencies([("000.00.12.H55".to_owned(), tri_qua)])
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-18T01:00:00Z")
        .unwrap()
        .to_utc()
}

fn body_of(records: Value) -> SyncBody {
    let text = json!({"service": "DongBoHoSoMC", "madonvi": "000.00.12.H55",
                      "isUpdating": "False", "data": records});
    read_body(text.to_string().as_bytes(), &units()).expect("a usable envelope")
}

fn record(status: Value, channel: Value) -> Value {
    json!({
        "MaHoSo": "000.00.12.H55-260420-0007", "MaTTHC": "1.001612",
        "NgayTiepNhan": "20260420083000", "NgayHenTra": "20260424170000",
        "NgayKetThucXuLy": "20260423101500", "TrangThaiHoSo": status,
        "KenhThucHien": channel, "HoSoCoThanhPhanSoHoa": "1",
        "ChuHoSo": "Nguyễn Văn A", "SoDienThoai": "0905123456", "Email": "a@example.vn",
        "SoGiayToChuHoSo": "051090000123", "DinhDanhCHS": "051090000123"
    })
}

fn events_of(record: &Value) -> Result<Vec<ParsedEvent>, RecordRejection> {
    let body = body_of(json!([record]));
    record_events(&body, &body.records[0], now())
}

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

#[test]
fn every_status_means_what_the_table_says() {
    for status in STATUSES {
        for code in [json!(status.code), json!(status.code.to_string())] {
            let events = events_of(&record(code, json!("2"))).expect("a readable record");
            let kinds: Vec<&str> = events.iter().map(|e| e.event.kind().type_name()).collect();
            let expected: &[&str] = match (status.received, status.end) {
                (false, _) => &[],
                (true, None) => &["procedure.received"],
                (true, Some(_)) => &["procedure.received", "procedure.resolved"],
            };
            assert_eq!(kinds, expected, "status {}", status.code);
            if let Some(resolved) = events.get(1) {
                let EventKind::ProcedureResolved { without_result, .. } = resolved.event.kind()
                else {
                    panic!("not a resolution")
                };
                assert_eq!(
                    *without_result,
                    matches!(status.code, 7 | 8),
                    "status {}",
                    status.code
                );
                assert_eq!(
                    resolved.event.occurred_at(),
                    at("2026-04-23T10:15:00+07:00")
                );
            }
        }
    }
}

#[test]
fn every_channel_and_the_reception_fields_are_read() {
    for (code, channel, _) in CHANNELS {
        for sent in [json!(code), json!(code.to_string())] {
            let events = events_of(&record(json!("4"), sent)).unwrap();
            let event = &events[0].event;
            assert_eq!(event.occurred_at(), at("2026-04-20T08:30:00+07:00"));
            assert_eq!(event.provenance(), Provenance::Record);
            assert_eq!(
                event.kind(),
                &EventKind::ProcedureReceived {
                    dossier_id: "000.00.12.H55-260420-0007".into(),
                    channel,
                    due_at: at("2026-04-24T17:00:00+07:00"),
                    digitized: true,
                    procedure_code: Some("1.001612".into()),
                }
            );
        }
    }
}

#[test]
fn digitized_is_read_from_codes_and_flags() {
    for (sent, expected) in [
        (json!("1"), true),
        (json!(1), true),
        (json!(true), true),
        (json!("0"), false),
        (json!(0), false),
        (json!(false), false),
        (Value::Null, false),
    ] {
        let mut r = record(json!(2), json!(1));
        r["HoSoCoThanhPhanSoHoa"] = sent.clone();
        let events = events_of(&r).unwrap();
        let EventKind::ProcedureReceived { digitized, .. } = events[0].event.kind() else {
            panic!()
        };
        assert_eq!(*digitized, expected, "{sent}");
    }
}

#[test]
fn a_resync_names_the_same_events_whatever_changed() {
    let first = events_of(&record(json!(4), json!(2))).unwrap();
    let mut later = record(json!(10), json!(2));
    later["NgayHenTra"] = json!("20260430170000");
    let later = events_of(&later).unwrap();
    assert_eq!(first[0].event.id(), later[0].event.id());
    assert_ne!(later[0].event.id(), later[1].event.id());
    // Another agency's dossier of the same code is another dossier.
    assert_ne!(
        event_id("000.00.12.H55", "X", "procedure.received"),
        event_id("000.00.13.H55", "X", "procedure.received")
    );
}

#[test]
fn no_personal_field_is_kept_in_what_is_stored() {
    for event in events_of(&record(json!(10), json!(1))).unwrap() {
        for personal in ["Nguyễn Văn A", "0905123456", "a@example.vn", "051090000123"] {
            assert!(!event.body.contains(personal), "{}", event.body);
        }
        let stored: Value = serde_json::from_str(&event.body).unwrap();
        assert_eq!(
            stored["source"]["record"]["MaHoSo"],
            "000.00.12.H55-260420-0007"
        );
        assert_eq!(stored["unit"], "tri-qua");
    }
}

#[test]
fn a_withdrawn_dossier_without_dates_ends_at_the_sync_and_one_with_a_result_is_refused() {
    for status in [7, 8, 9] {
        let mut r = record(json!(status), json!(1));
        r.as_object_mut().unwrap().remove("NgayKetThucXuLy");
        let outcome = events_of(&r);
        if status == 9 {
            let refused = outcome.expect_err("no end date");
            assert_eq!(refused.rejection.reason(), "invalid_field:NgayKetThucXuLy");
            continue;
        }
        let events = outcome.unwrap();
        assert_eq!(events[1].event.occurred_at_utc(), now());
    }
    // NgayTra stands in for a missing NgayKetThucXuLy.
    let mut r = record(json!(10), json!(1));
    r.as_object_mut().unwrap().remove("NgayKetThucXuLy");
    r["NgayTra"] = json!("20260425090000");
    let events = events_of(&r).unwrap();
    assert_eq!(
        events[1].event.occurred_at(),
        at("2026-04-25T09:00:00+07:00")
    );
}

#[test]
fn unreadable_records_name_their_field_and_their_dossier() {
    let cases: [(&str, Value, &str); 7] = [
        ("MaHoSo", Value::Null, "invalid_field:MaHoSo"),
        (
            "NgayHenTra",
            json!("24/04/2026"),
            "invalid_field:NgayHenTra",
        ),
        (
            "NgayTiepNhan",
            json!("2026042008300"),
            "invalid_field:NgayTiepNhan",
        ),
        ("TrangThaiHoSo", json!("11"), "invalid_field:TrangThaiHoSo"),
        ("KenhThucHien", json!(4), "invalid_field:KenhThucHien"),
        (
            "HoSoCoThanhPhanSoHoa",
            json!("có"),
            "invalid_field:HoSoCoThanhPhanSoHoa",
        ),
        ("NgayTiepNhan", json!("20270101000000"), "future_timestamp"),
    ];
    for (field, value, reason) in cases {
        let mut r = record(json!(4), json!(2));
        r[field] = value;
        let refused = events_of(&r).expect_err(field);
        assert_eq!(refused.rejection.reason(), reason, "{field}");
        let expected_code = (field != "MaHoSo").then(|| "000.00.12.H55-260420-0007".to_owned());
        assert_eq!(refused.code, expected_code);
    }
}

#[test]
fn envelopes_that_cannot_be_used_refuse_the_whole_body() {
    let cases: [(&[u8], &str); 6] = [
        (b"not json", "malformed"),
        (b"[1]", "malformed"),
        (
            br#"{"service": "XoaHoSo", "madonvi": "000.00.12.H55", "data": []}"#,
            "invalid_field:service",
        ),
        (
            br#"{"service": "DongBoHoSoMC", "madonvi": "000.00.12.H55"}"#,
            "invalid_field:data",
        ),
        (
            br#"{"service": "DongBoHoSoMC", "madonvi": "000.00.99.H55", "data": []}"#,
            "unknown_unit",
        ),
        (
            br#"{"service": "DongBoHoSoMC", "data": []}"#,
            "invalid_field:madonvi",
        ),
    ];
    for (body, reason) in cases {
        let refused = read_body(body, &units()).expect_err(reason);
        assert_eq!(refused.reason(), reason);
    }
    // A progress log is accepted whoever sends it, and counts nothing.
    let progress =
        br#"{"service": "CapNhatTienDoHoSoMC", "madonvi": "x", "data": [{"MaHoSo": "1"}]}"#;
    let body = read_body(progress, &units()).unwrap();
    assert_eq!(body.service, Service::Progress);
    assert!(
        record_events(&body, &body.records[0], now())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn agency_codes_are_read_as_strings_or_numbers() {
    let tri_qua = UnitCode::parse("tri-qua").unwrap();
    let numeric = KnownUnits::new([tri_qua.clone()]).with_agencies([("12345".to_owned(), tri_qua)]);
    let body = read_body(
        br#"{"service": "DongBoHoSoMC", "madonvi": 12345, "data": []}"#,
        &numeric,
    )
    .unwrap();
    assert_eq!(body.agency, "12345");
}

proptest! {
    /// Whatever a record holds, reading it gives events or a reason, never a panic.
    #[test]
    fn any_record_is_read_or_refused(
        fields in proptest::collection::btree_map(
            proptest::sample::select(KEPT_FIELDS.to_vec()),
            prop_oneof![
                any::<String>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(Value::Null),
                "20[0-9]{12}".prop_map(Value::from),
                (1u8..=10).prop_map(Value::from),
            ],
            0..9,
        )
    ) {
        let record: Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let body = body_of(json!([record]));
        let _ = record_events(&body, &body.records[0], now());
    }
}

#[test]
fn a_large_body_is_split_into_bodies_under_the_limit_with_every_record_in_order() {
    let records: Vec<Value> = (0..500)
        .map(|i| {
            let mut r = record(json!(4), json!(2));
            r["MaHoSo"] = json!(format!("H-{i:04}"));
            r
        })
        .collect();
    let body = body_of(Value::Array(records.clone()));
    let parts = body.split(64 * 1024);
    assert!(parts.len() > 1);
    let mut seen = Vec::new();
    for part in &parts {
        assert!(part.len() <= 64 * 1024, "{}", part.len());
        let again = read_body(part, &units()).unwrap();
        assert_eq!(again.agency, "000.00.12.H55");
        seen.extend(again.records);
    }
    assert_eq!(seen, records);
    // One record alone, as a refused record is dead-lettered.
    let alone = read_body(&body.with_records(&records[3..4]), &units()).unwrap();
    assert_eq!(alone.records, records[3..4]);
    let sent: Value = serde_json::from_slice(&body.with_records(&[])).unwrap();
    assert_eq!(sent["isUpdating"], "False");
}

#[test]
fn a_dossier_received_just_now_is_due_in_the_future_and_counts_and_a_future_reception_does_not() {
    // now() is 2026-05-18 08:00 in Vietnam: received at 07:59, due ten days later.
    let mut fresh = record(json!("4"), json!("2"));
    fresh["NgayTiepNhan"] = json!("20260518075900");
    fresh["NgayHenTra"] = json!("20260528170000");
    let events = events_of(&fresh).expect("counted");
    assert_eq!(events.len(), 1);
    let EventKind::ProcedureReceived { due_at, .. } = events[0].event.kind() else {
        panic!("not a reception")
    };
    assert_eq!(*due_at, at("2026-05-28T17:00:00+07:00"));
    // A reception or an end dated days ahead is still refused.
    for field in ["NgayTiepNhan", "NgayKetThucXuLy"] {
        let mut ahead = record(json!("10"), json!("2"));
        ahead[field] = json!("20260601090000");
        assert!(events_of(&ahead).is_err(), "{field}");
    }
}
