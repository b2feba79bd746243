//! Where templates come from, and the template engine they run in.
//!
//! The default templates are files in `services/reporter/templates/`, built into the binary. A
//! deployment can override any of them without a rebuild: with `templates = "DIR"` in
//! `baocao.toml`, `DIR/<unit>/<name>` is used for that unit if it exists, else `DIR/<name>`,
//! else the built-in file. The text and HTML templates and the body are minijinja templates
//! (Jinja syntax); the PDF's page is a Typst file (which reads no file but the report's data:
//! see [`crate::pdf`]).
//!
//! A template may `include`, `import` or `extend` another by name, and every name goes through
//! the same lookup, confined: a relative name of plain parts (no leading `/`, no `..`, no `.`),
//! found in the unit's own folder (`DIR/<unit>/`, subfolders included), among the shared
//! folder's own files (`DIR/<name>`, never its subfolders, which are the units'), or among the
//! built-in templates; a file found there whose real path (links followed) leaves its folder is
//! refused too. A refusal is an error, not a missing template, so `ignore missing` cannot hide
//! it: start-up's `check_overrides` names the unit, the file and the line, and a render fails.
//! What a ward's editor writes can therefore never print `/proc/self/environ` or another unit's
//! files into a report.

use std::path::{Component, Path, PathBuf};

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
    /// A name that would leave the unit's templates is refused (see the module's docs).
    pub fn load(&self, unit: &str, name: &str) -> Result<(String, String), Error> {
        let relative = confined_name(name)?;
        if let Some(dir) = &self.dir
            && let Some(found) = find_override(dir, unit, relative)?
        {
            return Ok(found);
        }
        let text = BUILT_IN
            .iter()
            .find(|(built_in, _)| *built_in == name)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| Error::new(ErrorKind::TemplateNotFound, name.to_owned()))?;
        Ok((text, format!("built-in {name}")))
    }
}

/// `name` as a path within a template folder: relative, made of plain parts only.
fn confined_name(name: &str) -> Result<&Path, Error> {
    let path = Path::new(name);
    let plain = !name.is_empty()
        && path
            .components()
            .all(|part| matches!(part, Component::Normal(_)));
    if plain {
        Ok(path)
    } else {
        Err(refused(format!(
            "the template name {name:?} is refused: a template may include, import or extend only \
             its unit's own templates, the shared ones and the built-in ones, by a relative name \
             without '..'"
        )))
    }
}

/// `name` in `unit`'s folder, else among the shared folder's own files (its subfolders are the
/// units' folders, which another unit's templates must not reach).
fn find_override(dir: &Path, unit: &str, name: &Path) -> Result<Option<(String, String)>, Error> {
    let unit_dir = dir.join(unit);
    if let Some(found) = read_within(dir, &unit_dir, name)? {
        return Ok(Some(found));
    }
    if name.components().count() == 1 {
        return read_within(dir, dir, name);
    }
    Ok(None)
}

/// The text of `folder/name` and its path, if it exists; refused if its real path (links
/// followed) is not within `folder`, or `folder`'s is not within the override folder `top`.
/// What is read is the real path that was checked, not the name that led there.
fn read_within(top: &Path, folder: &Path, name: &Path) -> Result<Option<(String, String)>, Error> {
    let path = folder.join(name);
    let Some(real) = real_path(&path)? else {
        return Ok(None);
    };
    // Both exist: `path` does, within them.
    let (real_top, real_folder) = (real_path(top)?, real_path(folder)?);
    let inside = match (real_top, real_folder) {
        (Some(top), Some(folder)) => folder.starts_with(&top) && real.starts_with(&folder),
        _ => false,
    };
    if !inside {
        return Err(refused(format!(
            "the template {} is refused: it leads out of {} (through a link)",
            path.display(),
            folder.display()
        )));
    }
    let text = std::fs::read_to_string(&real).map_err(|error| cannot_read(&path, error))?;
    Ok(Some((text, path.display().to_string())))
}

/// The real path of `path` (links followed), `None` if nothing is there.
fn real_path(path: &Path) -> Result<Option<PathBuf>, Error> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(Some(real)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(cannot_read(path, error)),
    }
}

fn cannot_read(path: &Path, error: std::io::Error) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("cannot read template {}", path.display()),
    )
    .with_source(error)
}

/// A name or file a template may not use: an error of its own kind, so that `include … ignore
/// missing` (which skips only missing templates) does not hide it.
fn refused(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
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
mod tests;
