//! Where templates come from, and the template engine they run in.
//!
//! The default templates are files in `services/reporter/templates/`, built into the binary. A
//! deployment can override any of them without a rebuild: with `templates = "DIR"` in
//! `baocao.toml`, `DIR/<unit>/<name>` is used for that unit if it exists, else `DIR/<name>`,
//! else the built-in file. The text and HTML templates and the body are minijinja templates
//! (Jinja syntax); the PDF's page is a Typst file.

use std::path::{Path, PathBuf};

use domain::notation;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

/// The body of the report, shared by every format.
pub const BODY: &str = "body.j2";
/// The body of a summary's report, with its members' table.
pub const SUMMARY_BODY: &str = "summary.j2";
/// The plain-text report.
pub const TEXT: &str = "report.txt.j2";
/// The HTML report.
pub const HTML: &str = "report.html.j2";
/// The PDF's page layout, in Typst.
pub const TYPST: &str = "report.typ";

const BUILT_IN: [(&str, &str); 5] = [
    (BODY, include_str!("../templates/body.j2")),
    (SUMMARY_BODY, include_str!("../templates/summary.j2")),
    (TEXT, include_str!("../templates/report.txt.j2")),
    (HTML, include_str!("../templates/report.html.j2")),
    (TYPST, include_str!("../templates/report.typ")),
];

/// Where templates are looked up.
#[derive(Debug, Clone, Default)]
pub struct TemplateSource {
    dir: Option<PathBuf>,
}

impl TemplateSource {
    /// The built-in templates only.
    pub fn built_in() -> Self {
        Self::default()
    }

    /// Templates in `dir` (per unit in `dir/<unit>/`) override the built-in ones.
    pub fn with_overrides(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// Whether any template of `unit` comes from the override folder.
    pub fn overrides_for(&self, unit: &str) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        BUILT_IN
            .iter()
            .any(|(name, _)| dir.join(unit).join(name).exists() || dir.join(name).exists())
    }

    /// Where `unit`'s template `name` comes from: a file's path, or "built-in".
    pub fn origin(&self, unit: &str, name: &str) -> String {
        self.load(unit, name)
            .map_or_else(|_| name.to_owned(), |(_, origin)| origin)
    }

    /// The text of template `name` for `unit`, and where it came from (for error messages).
    pub fn load(&self, unit: &str, name: &str) -> Result<(String, String), Error> {
        if let Some(dir) = &self.dir {
            for path in [dir.join(unit).join(name), dir.join(name)] {
                if let Some(text) = read_if_present(&path)? {
                    return Ok((text, path.display().to_string()));
                }
            }
        }
        let text = BUILT_IN
            .iter()
            .find(|(built_in, _)| *built_in == name)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| Error::new(ErrorKind::TemplateNotFound, name.to_owned()))?;
        Ok((text, format!("built-in {name}")))
    }
}

fn read_if_present(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot read template {}", path.display()),
        )
        .with_source(error)),
    }
}

/// A minijinja environment for one unit's templates, with the report's functions.
pub fn environment(source: &TemplateSource, unit: &str) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // A misspelt field is an error, not an empty string in an official document.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    let (source, unit) = (source.clone(), unit.to_owned());
    env.set_loader(move |name| source.load(&unit, name).map(|(text, _)| Some(text)));
    env.add_function("count", |value: i64| notation::count(value));
    env.add_function("share", |part: i64, whole: i64| {
        notation::share(part, whole)
    });
    env.add_function("bullets", bullets);
    env
}

/// Paragraphs as bullets ("- …"), separated by blank lines, for the body.
fn bullets(paragraphs: Value) -> Result<String, Error> {
    let mut out = Vec::new();
    for paragraph in paragraphs.try_iter()? {
        let text = paragraph.as_str().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "bullets() takes a list of strings",
            )
        })?;
        out.push(format!("- {text}"));
    }
    Ok(out.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_template_overrides_the_shared_one_which_overrides_the_built_in() {
        let dir = std::env::temp_dir().join(format!("baocao-templates-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tri-qua")).expect("create");
        std::fs::write(dir.join(TEXT), "shared").expect("write");
        std::fs::write(dir.join("tri-qua").join(TEXT), "unit").expect("write");
        let source = TemplateSource::with_overrides(&dir);
        assert_eq!(source.load("tri-qua", TEXT).expect("load").0, "unit");
        assert_eq!(source.load("other", TEXT).expect("load").0, "shared");
        let (body, origin) = source.load("other", BODY).expect("load");
        assert!(body.contains("KẾT QUẢ ĐẠT ĐƯỢC"));
        assert_eq!(origin, "built-in body.j2");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_functions_write_counts_shares_and_bullets() {
        let env = environment(&TemplateSource::built_in(), "tri-qua");
        let out = env
            .render_str(
                "{{ count(5) }} {{ share(465, 550) }} {{ share(1, 0) }}|{{ bullets(['a', 'b']) }}",
                (),
            )
            .expect("render");
        assert_eq!(out, "05 84.55% không phát sinh|- a\n\n- b");
    }

    #[test]
    fn an_undefined_field_is_an_error() {
        let env = environment(&TemplateSource::built_in(), "tri-qua");
        assert!(env.render_str("{{ indicators.nothing }}", ()).is_err());
    }
}
