//! Shared helpers for the integration tests: a throwaway PKI made with openssl, fixtures, and
//! the outside tools (pdfsig, pyHanko, pdftoppm, pdftotext) that judge the signed files.
// Test helpers: a failure should panic with the cause, as in the tests themselves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use chrono::{FixedOffset, Utc};
use signing::{LocalSigner, Rect, SignRequest};

/// The PKCS#12 password; Vietnamese on purpose, and looked for in every error message.
pub const PASSWORD: &str = "S3cret-mật-khẩu";

/// The test PKI, made once per test process (nextest runs each test in a process of its own,
/// so each has its own folder).
pub fn pki() -> &'static Path {
    static PKI: OnceLock<PathBuf> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = scratch_dir("pki");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/make_pki.sh");
        run(Command::new("bash").arg(script).arg(&dir).arg(PASSWORD));
        dir
    })
}

/// A fresh directory under Cargo's temporary directory for integration tests, emptied first
/// (its contents stay after the run, for a look at what failed).
pub fn scratch_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.file_stem().unwrap().to_string_lossy().into_owned();
    let pid = std::process::id();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{binary}-{name}-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a command and returns its output, panicking with its stderr if it fails.
pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A test PDF: the Typst sample when the project's renderer has made one, else a fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn load_signer(file: &str) -> LocalSigner {
    let der = std::fs::read(pki().join(file)).unwrap();
    LocalSigner::from_pkcs12(&der, PASSWORD, Utc::now()).unwrap()
}

/// A request for the lower right of `page`, signed now, in Việt Nam's zone (+07:00).
pub fn request(page: usize) -> SignRequest {
    let zone = FixedOffset::east_opt(7 * 3600).unwrap();
    let time = Utc::now().with_timezone(&zone);
    let rect = Rect {
        x1: 330.0,
        y1: 90.0,
        x2: 560.0,
        y2: 170.0,
    };
    let mut request = SignRequest::new(page, rect, time);
    request.reason = Some("Ký số báo cáo tháng 5/2026".into());
    request.location = Some("Phường Trí Quả".into());
    request
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// pdfsig's report, with certificates checked against the test root (no OCSP: offline).
pub fn pdfsig(pdf: &Path) -> String {
    let nss = format!("sql:{}", pki().join("nss").display());
    let output = Command::new("pdfsig")
        .args(["-nssdir", &nss, "-no-ocsp"])
        .arg(pdf)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// pyHanko's validation report and whether it exited successfully.
pub fn pyhanko(pdf: &Path) -> (bool, String) {
    let output = Command::new("pyhanko")
        .args([
            "sign",
            "validate",
            "--pretty-print",
            "--no-revocation-check",
            "--trust-replace",
        ])
        .arg("--trust")
        .arg(pki().join("root.pem"))
        .arg(pdf)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Renders every page to PNG at 72 dpi and returns the images' bytes, in page order.
pub fn render(pdf: &Path) -> Vec<Vec<u8>> {
    let prefix = pdf.with_extension("page");
    run(Command::new("pdftoppm")
        .args(["-png", "-r", "72"])
        .arg(pdf)
        .arg(&prefix));
    let dir = pdf.parent().unwrap();
    let stem = prefix.file_name().unwrap().to_string_lossy().into_owned();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{stem}-"))
        })
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

pub fn pdftotext(pdf: &Path) -> String {
    String::from_utf8(run(Command::new("pdftotext").arg(pdf).arg("-")).stdout).unwrap()
}

/// The local time-stamp authority (`tests/support/tsa_server.py`), stopped when dropped.
pub struct Tsa {
    child: std::process::Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Tsa {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The authority over HTTPS, with `tls-server.pem` (issued by `tls-root.pem`).
    pub fn start_tls() -> Self {
        Self::start_with(&["--tls"])
    }

    fn start_with(options: &[&str]) -> Self {
        use std::io::BufRead;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tsa_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(pki())
            .args(options)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("TSA printed {line:?}"));
        Self { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn https_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every PDF in `tests/fixtures` (LibreOffice's with an xref table and with an xref stream,
/// Typst's when present), by file name.
pub fn reports() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".pdf"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| (name.clone(), fixture(&name)))
        .collect()
}

/// The Typst sample report when it is in the fixtures, else LibreOffice's.
pub fn typst_or_other_report() -> Vec<u8> {
    let typst = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/typst-report.pdf");
    std::fs::read(typst).unwrap_or_else(|_| fixture("libreoffice-xref-table.pdf"))
}

/// pyHanko's verdict on each signature, one JSON object a line (`tests/support/validate.py`).
pub fn pyhanko_status(pdf: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/validate.py");
    let root = pki().join("root.pem");
    let output = Command::new("python3")
        .arg(script)
        .arg(root)
        .arg(pdf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "validate.py failed: {stderr}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Asserts that qpdf finds the file's structure sound (no errors, no warnings), that pdfsig
/// and pyHanko both accept every signature of `pdf`, the last one covering the whole file, and
/// that pyHanko trusts it (the test root as the only anchor).
pub fn assert_valid(pdf: &Path) {
    run(Command::new("qpdf").arg("--check").arg(pdf));
    let report = pdfsig(pdf);
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "pdfsig:\n{report}"
    );
    assert!(!report.contains("Digest Mismatch"), "pdfsig:\n{report}");
    assert!(
        report.contains("Total document signed"),
        "pdfsig:\n{report}"
    );
    assert!(
        report.contains("Signature Type: ETSI.CAdES.detached"),
        "pdfsig:\n{report}"
    );
    let (ok, pretty) = pyhanko(pdf);
    assert!(ok, "pyhanko sign validate failed:\n{pretty}");
    assert!(
        pretty.contains("The signer's certificate is trusted."),
        "{pretty}"
    );
    let statuses = pyhanko_status(pdf);
    assert!(!statuses.is_empty(), "pyHanko found no signature");
    // PAdES: ETSI.CAdES.detached, signing-certificate-v2 required, signing-time forbidden.
    let pades = [
        "\"sub_filter\": \"/ETSI.CAdES.detached\"",
        "\"signed_attrs\": [\"content_type\", \"message_digest\", \"signing_certificate_v2\"]",
    ];
    for status in &statuses {
        for expected in ["\"intact\": true", "\"valid\": true", "\"trusted\": true"]
            .iter()
            .chain(&pades)
        {
            assert!(status.contains(expected), "{expected} missing in {status}");
        }
    }
    let last = statuses.last().unwrap();
    assert!(last.contains("\"coverage\": \"ENTIRE_FILE\""), "{last}");
}

/// Asserts that both validators reject the signature of `pdf`.
pub fn assert_invalid(pdf: &Path) {
    let report = pdfsig(pdf);
    assert!(
        !report.contains("Signature Validation: Signature is Valid."),
        "pdfsig:\n{report}"
    );
    let (ok, pretty) = pyhanko(pdf);
    assert!(!ok, "pyhanko accepted a tampered file:\n{pretty}");
    for status in pyhanko_status(pdf) {
        assert!(status.contains("\"intact\": false"), "{status}");
    }
}

/// A two-page PDF laid out byte for byte the way pdf-writer 0.15 (under krilla and Typst)
/// writes one: `%PDF-1.7` and a binary marker, indented dictionaries, objects numbered in
/// order, a classic xref table with `\r\n` entries and a free entry, a trailer with `/ID`
/// literal strings, and no end-of-line after `%%EOF`.
pub fn pdf_writer_style_pdf() -> Vec<u8> {
    let content = |text: &str| format!("BT\n/F1 18 Tf\n72 760 Td\n({text}) Tj\nET");
    let page = |content: u32| {
        format!(
            "<<\n  /Type /Page\n  /MediaBox [0 0 595.2756 841.8898]\n  /Parent 2 0 R\n  \
             /Resources <<\n    /Font <<\n      /F1 3 0 R\n    >>\n  >>\n  /Contents {content} 0 R\n  \
             /StructParents 0\n>>"
        )
    };
    let stream = |data: String| {
        format!(
            "<<\n  /Length {}\n>>\nstream\n{data}\nendstream",
            data.len()
        )
    };
    let objects = [
        "<<\n  /Type /Catalog\n  /Pages 2 0 R\n  /Lang (vi-VN)\n  /MarkInfo <<\n    /Marked true\n  >>\n>>".to_owned(),
        "<<\n  /Type /Pages\n  /Count 2\n  /Kids [4 0 R 6 0 R]\n>>".to_owned(),
        "<<\n  /Type /Font\n  /Subtype /Type1\n  /BaseFont /Helvetica\n>>".to_owned(),
        page(5),
        stream(content("Bao cao thang 5/2026 - trang 1")),
        page(7),
        stream(content("Noi nhan - trang 2")),
        "<<\n  /Creator (Typst 0.15.1)\n  /Producer (Typst 0.15.1)\n>>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.7\n%\x80\x80\x80\x80\n\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n\r\n").as_bytes());
    }
    let trailer = format!(
        "trailer\n<<\n  /Size {}\n  /Root 1 0 R\n  /Info 8 0 R\n  /ID [(mUOV3fWt+Yq1x/0Ys0a2kg==) (mUOV3fWt+Yq1x/0Ys0a2kg==)]\n>>\nstartxref\n{xref}\n%%EOF",
        objects.len() + 1
    );
    pdf.extend_from_slice(trailer.as_bytes());
    pdf
}

/// A one-page PDF with `objects` numbered from 1 (the catalog first), a classic xref table and
/// a trailer with `/Size`, `/Root 1 0 R` and `trailer_extra`.
pub fn build_pdf(objects: &[String], trailer_extra: &str) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n\r\n"));
    }
    pdf.extend_from_slice(table.as_bytes());
    let trailer = format!(
        "trailer\n<< /Size {} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    pdf.extend_from_slice(trailer.as_bytes());
    pdf
}

/// A content stream object writing `text` in Helvetica (font resource /F1).
pub fn text_stream(text: &str) -> String {
    let data = format!("BT\n/F1 18 Tf\n72 760 Td\n({text}) Tj\nET");
    format!("<< /Length {} >>\nstream\n{data}\nendstream", data.len())
}

/// The objects of a one-page document: catalog (1) with `catalog_extra`, pages (2), page (3)
/// with `page_extra`, font (4), content (5). Objects from 6 on are the caller's.
pub fn one_page_objects(catalog_extra: &str, page_extra: &str) -> Vec<String> {
    vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>"),
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>".to_owned(),
        format!(
            "<< /Type /Page /MediaBox [0 0 595 842] /Parent 2 0 R \
             /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R {page_extra} >>"
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        text_stream("Bao cao thang 5/2026"),
    ]
}

/// A document whose interactive form (`/AcroForm 6 0 R`, with a text field) and page
/// annotations (`/Annots 7 0 R`, with a link) are objects of their own, as some producers
/// write them.
pub fn indirect_form_and_annots_pdf() -> Vec<u8> {
    let mut objects = one_page_objects("/AcroForm 6 0 R", "/Annots 7 0 R");
    objects.extend([
        "<< /Fields [9 0 R] /DA (/Helv 0 Tf 0 g) >>".to_owned(),
        "[8 0 R 9 0 R]".to_owned(),
        "<< /Type /Annot /Subtype /Link /Rect [72 700 300 720] /Border [0 0 0] \
         /A << /S /URI /URI (https://baocao.example/) >> >>"
            .to_owned(),
        "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Note) /Rect [72 600 300 620] /P 3 0 R \
         /F 4 >>"
            .to_owned(),
    ]);
    build_pdf(&objects, "")
}

/// How [`object_stream_pdf`] lays out its object stream and cross-reference stream; the
/// default is a well-formed file, each field a way to damage it.
#[derive(Debug, Clone)]
pub struct ObjectStreamLayout {
    /// The object numbers the object stream's header names (well-formed: 1 and 2).
    pub header: [u32; 2],
    /// The index of objects 1 and 2 in the object stream, as the xref stream gives them.
    pub indices: [u64; 2],
    /// The object stream's `/Length` as written; `None` for the right, direct one.
    pub length: Option<String>,
    /// Entries added to the cross-reference stream's dictionary (e.g. `/DecodeParms`).
    pub xref_extra: String,
}

impl Default for ObjectStreamLayout {
    fn default() -> Self {
        Self {
            header: [1, 2],
            indices: [0, 1],
            length: None,
            xref_extra: String::new(),
        }
    }
}

/// A PDF 1.5 file, the way qpdf and office suites write them: the catalog (1) and the page
/// tree (2) inside an object stream (6), the rest as plain objects, and a Flate-compressed
/// cross-reference stream (7) with no predictor.
pub fn object_stream_pdf(layout: &ObjectStreamLayout) -> Vec<u8> {
    use std::io::Write as _;
    let objects = one_page_objects("", "");
    let (catalog, pages) = (&objects[0], &objects[1]);
    let header = format!(
        "{} 0 {} {} ",
        layout.header[0],
        layout.header[1],
        catalog.len() + 1
    );
    let body = format!("{header}{catalog}\n{pages}");
    let length = layout
        .length
        .clone()
        .unwrap_or_else(|| body.len().to_string());
    let object_stream = format!(
        "<< /Type /ObjStm /N 2 /First {} /Length {length} >>\nstream\n{body}\nendstream",
        header.len()
    );
    let mut pdf = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (num, object) in [(3, &objects[2]), (4, &objects[3]), (5, &objects[4])]
        .into_iter()
        .chain([(6, &object_stream)])
    {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{num} 0 obj\n{object}\nendobj\n").as_bytes());
    }
    let xref = pdf.len();
    // Rows of /W [1 4 2]: type, offset or object stream, generation or index.
    let mut rows = vec![0u8, 0, 0, 0, 0, 0xff, 0xff];
    for index in layout.indices {
        rows.push(2);
        rows.extend_from_slice(&6u32.to_be_bytes());
        rows.extend_from_slice(&(index as u16).to_be_bytes());
    }
    for offset in offsets.iter().copied().chain([xref]) {
        rows.push(1);
        rows.extend_from_slice(&(offset as u32).to_be_bytes());
        rows.extend_from_slice(&[0, 0]);
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&rows).unwrap();
    let data = encoder.finish().unwrap();
    let dict = format!(
        "<< /Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length {} {} >>",
        data.len(),
        layout.xref_extra
    );
    pdf.extend_from_slice(format!("7 0 obj\n{dict}\nstream\n").as_bytes());
    pdf.extend_from_slice(&data);
    pdf.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    pdf
}

/// The object numbers of the objects in `bytes` (`N 0 obj` at a line start).
pub fn object_numbers(bytes: &[u8]) -> Vec<u32> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| line.strip_suffix(" 0 obj"))
        .filter_map(|num| num.parse().ok())
        .collect()
}
