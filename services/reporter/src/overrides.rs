//! Trying a deployment's template overrides at start-up: each unit (or summary) whose templates
//! come from the override folder has a sample report rendered in every format, so that a broken
//! override (a syntax error, a misspelt field, a name outside its folder, a directive its report
//! does not draw) stops the start with the unit, the file and the line, instead of failing that
//! unit's report on its day.

use crate::content::{ReportContent, ReportInputs};
use crate::templates::{self, TemplateSource};
use crate::{Format, RenderError, Renderer, body_template, figures};

/// Renders a sample report in every format for each of `profiles` (units, then summaries with
/// `members`) whose templates come from the override folder, so that a broken override (a
/// syntax error, a misspelt field) stops start-up with the unit, the file and the line, instead
/// of failing that unit's report on its day.
pub fn check_overrides(
    source: &TemplateSource,
    profiles: &[domain::profile::UnitProfile],
    tz: chrono_tz::Tz,
) -> Result<(), String> {
    for profile in profiles
        .iter()
        .filter(|p| source.overrides_for(p.code.as_str()))
    {
        let unit = profile.code.as_str();
        let content = sample_content(profile, tz);
        let renderer = Renderer::new(source.clone(), unit);
        for format in [
            Format::Text,
            Format::Html,
            Format::Docx,
            Format::Pdf,
            Format::Xlsx,
        ] {
            renderer.render(&content, format).map_err(|error| {
                let origin = match &error {
                    RenderError::Template { name, .. } => source.origin(unit, name),
                    RenderError::Typeset(_) => source.origin(unit, templates::TYPST),
                    _ => String::new(),
                };
                format!("unit '{unit}': {error} ({origin})")
            })?;
        }
        check_directives(source, &renderer, &content)?;
    }
    Ok(())
}

/// The sample's narrative is the configured one, whose directives the configuration's checks
/// passed: a directive the report does not draw comes from the body template.
fn check_directives(
    source: &TemplateSource,
    renderer: &Renderer,
    content: &ReportContent,
) -> Result<(), String> {
    let unit = renderer.unit.as_str();
    let (_, strays) = renderer
        .body_and_strays(content)
        .map_err(|error| format!("unit '{unit}': {error}"))?;
    match strays.first() {
        None => Ok(()),
        Some(name) => {
            let template = body_template(content);
            Err(format!(
                "unit '{unit}': template {template} writes '@{name}', which this report does not \
                 draw (only a summary's body places its members' table, with '@members') ({})",
                source.origin(unit, template)
            ))
        }
    }
}

/// A report of `profile` with every kind of figure present, for trying its templates; a
/// summary's (a profile with `members`) has two members, one of which had reported.
pub(crate) fn sample_content(
    profile: &domain::profile::UnitProfile,
    tz: chrono_tz::Tz,
) -> ReportContent {
    let period = domain::Period::containing(chrono::Utc::now(), tz).previous();
    let window = period.window(tz);
    let counts = domain::Counts {
        documents_issued: 12,
        documents_digitally_signed: 11,
        petitions_carried_over: 1,
        petitions_received: 3,
        petitions_resolved: 2,
        procedures_carried_over: 4,
        procedures_received: 30,
        procedures_online: 20,
        procedures_direct: 8,
        procedures_postal: 2,
        procedures_digitized: 29,
        procedures_resolved: 25,
        procedures_resolved_early: 20,
        procedures_resolved_late: 1,
        procedures_resolved_without_result: 1,
        procedures_pending_overdue: 1,
        articles_published: 5,
    };
    let indicators = |code: &domain::UnitCode| {
        domain::Indicators::new(code.clone(), period, window, true, counts)
    };
    let (figures, names) = match &profile.members {
        None => (
            figures::Figures::Unit(indicators(&profile.code)),
            Vec::new(),
        ),
        Some(codes) => {
            let members: Vec<_> = codes
                .iter()
                .take(2)
                .enumerate()
                .map(|(i, code)| match i {
                    0 => domain::MemberFigures::issued(indicators(code), 1),
                    _ => domain::MemberFigures::provisional(indicators(code)),
                })
                .collect();
            let names = members
                .iter()
                .map(|m| m.indicators.unit.to_string())
                .collect();
            let document = domain::indicators::SummaryIndicators::new(
                profile.code.clone(),
                period,
                window,
                true,
                members,
            );
            (figures::Figures::Summary { document }, names)
        }
    };
    ReportContent::new(ReportInputs {
        profile,
        figures: &figures,
        member_names: &names,
        narrative: profile.narrative.clone(),
        number: Some(1),
        date: window.end().date_naive(),
        window_days: (window.start().date_naive(), window.end().date_naive()),
        as_of: window.end(),
    })
}
