//! The `dvcqg` profile: the seed month as the provincial one-stop system would send it (SPEC
//! §3.5): its dossiers as `DongBoHoSoMC` bodies of up to 100 records, each dossier synced whole
//! again at every step of its life (received, processing, a deadline moved by a supplement
//! request for one in ten, resolved), with the citizen's name and contacts in every record as
//! real syncs carry them, a few dossiers that were never received (registered online, refused)
//! and a progress log; its documents, petitions and articles in baocao's own envelope. The
//! report it gives is the seed month's, figure for figure.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use domain::Period;
use domain::dvcqg::{self, ROUTING_PREFIX};
use serde_json::{Value, json};
use uuid::Uuid;

use super::SimEvent;

/// Records per body, as one-stop systems batch their syncs.
pub const RECORDS_PER_BODY: usize = 100;

/// One body to publish to the portal's exchange.
#[derive(Debug, Clone)]
pub struct SimBody {
    /// `dvcqg.DongBoHoSoMC` or `dvcqg.CapNhatTienDoHoSoMC`.
    pub routing_key: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A dossier of the seed month, read back from its events.
struct Dossier {
    code: String,
    received: DateTime<Utc>,
    channel: &'static str,
    due: DateTime<FixedOffset>,
    resolved: Option<DateTime<Utc>>,
}

/// One sync of a dossier: when it is sent, and the record.
struct Sync {
    at: DateTime<Utc>,
    record: Value,
}

/// The seed month's `events` with their dossiers as sync bodies from `agency`: the events
/// kept in the envelope, the bodies in the order they are sent, and the ids of the events
/// the bodies give (what `--wait` waits for).
pub fn from_seed(
    events: Vec<SimEvent>,
    agency: &str,
    period: Period,
) -> (Vec<SimEvent>, Vec<SimBody>, Vec<Uuid>) {
    let (dossier_events, kept): (Vec<SimEvent>, Vec<SimEvent>) = events
        .into_iter()
        .partition(|e| e.type_name.starts_with("procedure."));
    let dossiers = dossiers_of(&dossier_events);
    let mut syncs: Vec<Sync> = dossiers
        .iter()
        .enumerate()
        .flat_map(|(i, d)| syncs_of(i, d))
        .collect();
    syncs.extend(never_received(period, &dossiers));
    syncs.sort_by_key(|s| s.at);
    let mut bodies: Vec<SimBody> = syncs
        .chunks(RECORDS_PER_BODY)
        .map(|chunk| body(dvcqg::SYNC_SERVICE, agency, chunk.iter().map(|s| &s.record)))
        .collect();
    let progress = json!({"MaHoSo": dossiers.first().map(|d| d.code.clone()),
                          "NoiDung": "Chuyển xử lý", "ThoiDiem": "20260420090000"});
    bodies.push(body(dvcqg::PROGRESS_SERVICE, agency, [&progress]));
    let ids = dossiers
        .iter()
        .flat_map(|d| {
            let received = dvcqg::event_id(agency, &d.code, "procedure.received");
            let resolved = d
                .resolved
                .map(|_| dvcqg::event_id(agency, &d.code, "procedure.resolved"));
            std::iter::once(received).chain(resolved)
        })
        .collect();
    (kept, bodies, ids)
}

fn body<'a>(service: &str, agency: &str, records: impl IntoIterator<Item = &'a Value>) -> SimBody {
    let data: Vec<&Value> = records.into_iter().collect();
    let body = json!({"service": service, "madonvi": agency, "isUpdating": "True", "data": data});
    SimBody {
        routing_key: format!("{ROUTING_PREFIX}{service}"),
        body: body.to_string().into_bytes(),
    }
}

/// The seed's dossiers, from their `procedure.received` and `procedure.resolved` events.
fn dossiers_of(events: &[SimEvent]) -> Vec<Dossier> {
    let data = |e: &SimEvent| -> Value {
        serde_json::from_slice::<Value>(&e.body).map_or(Value::Null, |body| body["data"].clone())
    };
    let mut dossiers: Vec<Dossier> = events
        .iter()
        .filter(|e| e.type_name == "procedure.received")
        .filter_map(|e| {
            let data = data(e);
            Some(Dossier {
                code: data["dossier_id"].as_str()?.to_owned(),
                received: e.occurred_at,
                channel: if data["channel"] == "direct" {
                    "1"
                } else {
                    "2"
                },
                due: DateTime::parse_from_rfc3339(data["due_at"].as_str()?).ok()?,
                resolved: None,
            })
        })
        .collect();
    for e in events
        .iter()
        .filter(|e| e.type_name == "procedure.resolved")
    {
        let code = data(e)["dossier_id"].as_str().map(str::to_owned);
        if let Some(d) = dossiers.iter_mut().find(|d| Some(&d.code) == code.as_ref()) {
            d.resolved = Some(e.occurred_at);
        }
    }
    dossiers
}

/// `yyyyMMddHHmmss`, Vietnam time.
fn vn(at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(7 * 3600).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
    at.with_timezone(&offset).format("%Y%m%d%H%M%S").to_string()
}

/// Every sync of dossier `i`, each the whole record as it stands then.
fn syncs_of(i: usize, d: &Dossier) -> Vec<Sync> {
    let due = d.due.to_utc();
    // One in ten was first given an earlier deadline, moved by a supplement request.
    let moved = i % 10 == 3;
    let first_due = if moved { due - TimeDelta::days(2) } else { due };
    let record = |status: u8, due: DateTime<Utc>, ended: Option<DateTime<Utc>>| {
        json!({
            "MaHoSo": d.code, "MaTTHC": "1.001612", "TenTTHC": "Chứng thực bản sao từ bản chính",
            "NgayTiepNhan": vn(d.received), "NgayHenTra": vn(due),
            "NgayKetThucXuLy": ended.map(vn), "TrangThaiHoSo": status.to_string(),
            "KenhThucHien": d.channel, "HoSoCoThanhPhanSoHoa": i % 2,
            // Digitized: the first sync says so for odd dossiers, a later one for all.
            "ChuHoSo": format!("Nguyễn Văn Dân {i}"), "SoDienThoai": format!("09{i:08}"),
            "Email": format!("dan{i}@example.vn"), "SoGiayToChuHoSo": format!("0510{i:08}"),
        })
    };
    let mut syncs = vec![Sync {
        at: d.received,
        record: record(2, first_due, None),
    }];
    let later = d.received + TimeDelta::hours(2);
    let mut processing = record(if moved { 5 } else { 4 }, due, None);
    processing["HoSoCoThanhPhanSoHoa"] = json!("1");
    syncs.push(Sync {
        at: later,
        record: processing,
    });
    if let Some(resolved) = d.resolved {
        let mut done = record(10, due, Some(resolved));
        done["HoSoCoThanhPhanSoHoa"] = json!(true);
        syncs.push(Sync {
            at: resolved.max(later + TimeDelta::minutes(1)),
            record: done,
        });
    }
    syncs
}

/// Dossiers registered online and never accepted (1) or refused (3): synced, never counted.
fn never_received(period: Period, dossiers: &[Dossier]) -> Vec<Sync> {
    let at = dossiers.first().map_or_else(Utc::now, |d| d.received);
    [(1u8, "KHONG-TIEP-NHAN-1"), (3u8, "KHONG-TIEP-NHAN-3")]
        .into_iter()
        .map(|(status, suffix)| Sync {
            at,
            record: json!({
                "MaHoSo": format!("HS-{period}-{suffix}"), "NgayTiepNhan": vn(at),
                "TrangThaiHoSo": status, "KenhThucHien": 2, "ChuHoSo": "Trần Thị Nộp",
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh;
    use domain::{KnownUnits, UnitCode};

    #[test]
    fn the_seed_month_becomes_bodies_whose_records_name_every_dossier_once_received() {
        let unit = UnitCode::parse("tri-qua").unwrap();
        let period: Period = "2026-05".parse().unwrap();
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let events = super::super::seed_events(
            &unit,
            period,
            Ho_Chi_Minh,
            now,
            super::super::REFERENCE_MONTH,
        )
        .unwrap();
        let (kept, bodies, ids) = from_seed(events, "000.00.12.H55", period);
        assert!(kept.iter().all(|e| !e.type_name.starts_with("procedure.")));
        assert_eq!(kept.len(), 157 + 10 + 78);
        assert_eq!(ids.len(), 550 + 513);
        let units = KnownUnits::new([unit.clone()])
            .with_agencies([("000.00.12.H55".to_owned(), unit.clone())]);
        let mut received = std::collections::BTreeSet::new();
        for body in &bodies {
            assert!(body.body.len() < domain::parse::MAX_BODY_BYTES);
            let read = dvcqg::read_body(&body.body, &units).unwrap();
            for record in &read.records {
                for event in dvcqg::record_events(&read, record, now).unwrap() {
                    if event.event.kind().type_name() == "procedure.received" {
                        received.insert(event.event.id());
                    }
                }
            }
        }
        assert_eq!(received.len(), 550);
    }
}
