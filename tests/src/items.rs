//! The lists behind the figures (SPEC §5.1), read through the API as a client would: every
//! figure's list, paged as JSON and whole as CSV, checked to be as long as the figure.

use std::collections::BTreeMap;

use domain::figures::FIGURES;
use serde_json::Value;

use crate::RunningApi;

/// Every figure's list of `unit` (or a summary) for `period`, as revision `revision` counted it
/// (or as the figures stand now), each checked against its figure: the JSON pages, walked to
/// the end, and the CSV hold the same ids, as many as the figure says. The figures come from
/// the revision's frozen document, or the indicators now (a summary's from its total). Returns
/// each figure's items as JSON.
pub async fn lists_matching_figures(
    api: &RunningApi,
    unit: &str,
    period: &str,
    revision: Option<i32>,
) -> BTreeMap<&'static str, Vec<Value>> {
    let document = match revision {
        Some(n) => api
            .get(&format!(
                "/api/units/{unit}/reports/{period}?format=json&revision={n}"
            ))
            .await
            .json(),
        None => api
            .get(&format!("/api/units/{unit}/indicators?period={period}"))
            .await
            .json(),
    };
    let figures = document.get("total").cloned().unwrap_or(document);
    let revision = revision.map_or(String::new(), |n| format!("&revision={n}"));
    let mut lists = BTreeMap::new();
    for figure in FIGURES {
        let (group, name) = figure.path.split_once('.').expect("group.name");
        let expected = figures[group][name]
            .as_i64()
            .unwrap_or_else(|| panic!("{} in {figures}", figure.path));
        let mut items = Vec::new();
        for page in 1.. {
            let path = format!(
                "/api/units/{unit}/items?period={period}&figure={}{revision}&page={page}&per_page=7",
                figure.path
            );
            let answer = api.get(&path).await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.text());
            let body = answer.json();
            items.extend(body["items"].as_array().expect("items").iter().cloned());
            if !body["more"].as_bool().expect("more") {
                break;
            }
        }
        assert_eq!(
            items.len() as i64,
            expected,
            "{unit} {period}{revision}: the list of {} has {} items, the figure is {expected}",
            figure.path,
            items.len()
        );
        let path = format!(
            "/api/units/{unit}/items?period={period}&figure={}{revision}&format=csv",
            figure.path
        );
        let csv = api.get(&path).await;
        assert_eq!(csv.status, 200, "{path}: {}", csv.text());
        assert!(
            csv.header("content-type")
                .is_some_and(|t| t.starts_with("text/csv")),
            "{path}"
        );
        let text = csv.text();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("a header row").split(',').collect();
        let id_column = header
            .iter()
            .position(|h| *h == "id")
            .expect("an id column");
        let csv_ids: Vec<String> = lines
            .map(|line| {
                line.split(',')
                    .nth(id_column)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let json_ids: Vec<String> = items
            .iter()
            .map(|i| i["id"].as_str().expect("an id").to_owned())
            .collect();
        assert_eq!(
            csv_ids, json_ids,
            "{path}: the CSV lists what the pages list"
        );
        lists.insert(figure.path, items);
    }
    lists
}

/// The ids of `items`.
pub fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().filter_map(|i| i["id"].as_str()).collect()
}
