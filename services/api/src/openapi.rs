//! What `/api/openapi.json` says beyond each handler's own `#[utoipa::path]`, in one place: the
//! answers every route can give whatever its handler (401 and 403 from the token and the
//! same-origin checks, 400 and 404 from the path, 408 and 413 from reading a body, 503 from a
//! database away), and the pattern of every `period` parameter. The contract test runs
//! schemathesis with every check against this document (`tests/tests/e2e/contract.rs`, ignored until it passes).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// `YYYY-MM`, the periods `domain::Period` parses (years 0001 to 9999, months 01 to 12).
pub const PERIOD_PATTERN: &str =
    "^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$";

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
        if let RefOr::T(parameter) = parameter
            && parameter.name == "period"
        {
            let mut schema = Object::with_type(Type::String);
            schema.pattern = Some(PERIOD_PATTERN.to_owned());
            schema.description = Some("YYYY-MM".to_owned());
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
        ("401", "Without the administrator's token, or with another"),
        (
            "403",
            "A write not sent as same-origin JSON, or (without a token) a request not addressed to localhost",
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
