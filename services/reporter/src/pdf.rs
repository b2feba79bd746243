//! The PDF, typeset by Typst (used as a library) from the `report.typ` page template and the
//! report's content as JSON.
//!
//! Typst shapes the Vietnamese text (stacked diacritics included), justifies it and embeds a
//! subset of the fonts, so `pdftotext` gives the text back intact. The fonts are the Liberation
//! Serif files in `services/reporter/fonts/`, built into the binary: the document does not
//! depend on what the machine has installed.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Label};
use typst::introspection::Introspector;
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::utils::PicoStr;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;

/// The built-in fonts, parsed once per process.
static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    [
        &include_bytes!("../fonts/LiberationSerif-Regular.ttf")[..],
        &include_bytes!("../fonts/LiberationSerif-Bold.ttf")[..],
        &include_bytes!("../fonts/LiberationSerif-Italic.ttf")[..],
        &include_bytes!("../fonts/LiberationSerif-BoldItalic.ttf")[..],
    ]
    .into_iter()
    .flat_map(|data| Font::iter(Bytes::new(data)))
    .collect()
});

static BOOK: LazyLock<LazyHash<FontBook>> =
    LazyLock::new(|| LazyHash::new(FontBook::from_fonts(FONTS.iter())));

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// The name under which the page template reads the report's content.
const DATA_FILE: &str = "report.json";

/// A file of the report's virtual project.
fn project_file(name: &str) -> FileId {
    // Both names are constants without `..`, which is all `VirtualPath::new` refuses.
    let path = VirtualPath::new(name).expect("a plain file name is a valid virtual path");
    FileId::new(RootedPath::new(VirtualRoot::Project, path))
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.get().vpath().get_without_slash().into())
}

/// A Typst world of two files: the page template and the report's content.
struct ReportWorld {
    main: Source,
    data: Bytes,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &BOOK
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == project_file(DATA_FILE) {
            Ok(self.data.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // The report carries its own date; a template has no business reading the clock.
        None
    }
}

/// A typeset PDF and, if the page template drew a visible signature, where it is.
#[derive(Debug, Clone)]
pub struct Typeset {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// The box labelled `<signature>` (page from 0; lower left and upper right corners in
    /// PDF points), if the template drew one.
    pub signature: Option<crate::signature::Place>,
}

/// Typesets `template` (Typst markup) with `data` (the report as JSON) into a PDF.
pub fn typeset(template: &str, data: Vec<u8>) -> Result<Typeset, String> {
    let main = Source::new(project_file("report.typ"), template.to_owned());
    let world = ReportWorld {
        main,
        data: Bytes::new(data),
    };
    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|errors| describe(&world, &errors))?;
    let pdf = typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|errors| describe(&world, &errors))?;
    let signature = signature_place(&document);
    // Typst memoizes across calls. A report is rendered a few times a month, so nothing is
    // worth keeping: the cache is emptied rather than left to grow in a long-running reporter.
    typst::comemo::evict(0);
    Ok(Typeset { pdf, signature })
}

/// Where the element labelled `<signature>` was laid out, with the box's size the report's
/// content gave the template ([`crate::signature::APPEARANCE`]). Typst measures from the top
/// left of the page; PDF from the bottom left.
fn signature_place(document: &PagedDocument) -> Option<crate::signature::Place> {
    let label = Label::new(PicoStr::intern("signature"))?;
    let introspector = document.introspector();
    let location = introspector.query_label(label).ok()?.location()?;
    let position = introspector.as_ref().position(location)?;
    let page = position.page.get() - 1;
    let height = document.pages().get(page)?.frame.height().to_pt();
    let (x, top) = (position.point.x.to_pt(), height - position.point.y.to_pt());
    let (width, box_height) = crate::signature::APPEARANCE;
    Some(crate::signature::Place {
        page,
        rect: [x, top - box_height, x + width, top],
    })
}

/// The first errors of a failed typesetting, with their line in the template.
fn describe(world: &ReportWorld, errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .take(3)
        .map(|error| {
            let line = world
                .range(error.span)
                .and_then(|range| world.main.lines().byte_to_line(range.start))
                .map_or(String::new(), |line| format!("line {}: ", line + 1));
            format!("{line}{}", error.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
