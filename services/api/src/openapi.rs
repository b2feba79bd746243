//! What `/api/openapi.json` says beyond each handler's own `#[utoipa::path]`, in one place: the
//! answers every route can give whatever its handler (401 and 403 from the token and the
//! same-origin checks, 400 and 404 from the path, 408 and 413 from reading a body, 503 from a
//! database away), the pattern of every `period` parameter, and that of a narrative's text. The
//! contract test runs schemathesis with every check against this document
//! (`tests/tests/e2e/contract.rs`): a request the document allows is never refused as malformed
//! (400), and one it forbids never succeeds.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// `YYYY-MM`, the periods `domain::Period` parses (years 0001 to 9999, months 01 to 12).
pub const PERIOD_PATTERN: &str =
    "^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$";

/// The period every `period` parameter shows as its example: the reference month, whose events
/// the contract test stores so that its examples reach a report that can be sent.
const PERIOD_EXAMPLE: &str = "2026-05";

/// The characters a narrative's text may not hold, as ranges of code points: the control
/// characters that are not white space (`domain::text::control_in_text`; white space only
/// separates words and paragraphs).
const REFUSED_IN_TEXT: [(u32, u32); 4] = [(0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x84), (0x86, 0x9F)];

/// The pattern of a narrative's text: none of [`REFUSED_IN_TEXT`].
pub fn narrative_text_pattern() -> String {
    let ranges: String = REFUSED_IN_TEXT
        .iter()
        .map(|(first, last)| format!("\\x{first:02X}-\\x{last:02X}"))
        .collect();
    format!("^[^{ranges}]*$")
}

/// A narrative's `text` in the document (`schema_with` of `NarrativeChange::text`).
pub fn narrative_text_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(narrative_text_pattern()))
        .description(Some(
            "The paragraphs, separated by blank lines; empty with replace leaves the field \
             empty. No control character but white space (tab, line breaks).",
        ))
        .build()
}

/// Adds the shared answers and the period pattern to every operation.
pub struct SharedAnswers;

impl utoipa::Modify for SharedAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in operations(item) {
                constrain_periods(operation);
                if path.starts_with("/api/") {
                    add_answers(operation, path.contains('{'));
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.post].into_iter().flatten()
}

fn constrain_periods(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        // A list's figure (`…/items?figure=`) is required; its schema is written by hand, which
        // utoipa then leaves optional.
        if let RefOr::T(parameter) = parameter
            && parameter.name == "figure"
        {
            parameter.required = utoipa::openapi::Required::True;
        }
        if let RefOr::T(parameter) = parameter
            && parameter.name == "period"
        {
            let mut schema = Object::with_type(Type::String);
            schema.pattern = Some(PERIOD_PATTERN.to_owned());
            schema.description = Some("YYYY-MM".to_owned());
            schema.examples = vec![PERIOD_EXAMPLE.into()];
            parameter.schema = Some(RefOr::T(Schema::Object(schema)));
        }
    }
}

fn add_answers(operation: &mut Operation, has_path_parameters: bool) {
    let write = operation.request_body.is_some();
    let mut answers = vec![
        (
            "400",
            "The request is not one this route takes (the message says why)",
        ),
        (
            "401",
            "Without the administrator's token (or with another), and without a live session",
        ),
        (
            "403",
            "A write not sent as same-origin JSON, a person whose roles do not allow it (`forbidden`, `no_role`), or (without a token) a request not addressed to localhost",
        ),
        ("503", "The database is unavailable; try again shortly"),
    ];
    if has_path_parameters {
        answers.push(("404", "No such unit, summary or revision"));
    }
    if write {
        answers.push(("408", "The body did not arrive in time (`body_timeout`)"));
        answers.push(("413", "The body is larger than 2 MiB (`body_too_large`)"));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(c: char) -> bool {
        REFUSED_IN_TEXT
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&u32::from(c)))
    }

    #[test]
    fn the_text_pattern_refuses_what_a_narrative_refuses_and_nothing_else() {
        for c in (0..=0x3000).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            assert_eq!(
                refused(c),
                domain::text::control_in_text(&text).is_some(),
                "U+{:04X}",
                u32::from(c)
            );
            let paragraphs = domain::profile::split_paragraphs(&text);
            assert_eq!(
                refused(c),
                domain::profile::check_paragraphs(
                    &paragraphs,
                    domain::profile::NarrativeField::Limitations,
                    domain::profile::IssuerKind::Unit
                )
                .is_err(),
                "U+{:04X}",
                u32::from(c)
            );
        }
        assert_eq!(
            narrative_text_pattern(),
            r"^[^\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F]*$"
        );
    }
}
