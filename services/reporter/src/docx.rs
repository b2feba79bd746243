//! The DOCX: the report as an editable Word document in the layout of Nghị định 30/2020/NĐ-CP,
//! Phụ lục I (A4; margins 20, 20, 30 and 15 mm; Times New Roman 14 pt; header and closing as
//! borderless two-column tables).
//!
//! Word measures in twentieths of a point (twips) and font sizes in half-points; the constants
//! below are the layout's millimetres and points converted once.

use docx_rs::{
    AlignmentType, BorderType, Docx, Header, LineSpacing, PageMargin, PageNum, Paragraph,
    ParagraphBorder, ParagraphBorderPosition, ParagraphBorders, Run, RunFonts, SpecialIndentType,
    Table, TableCell, TableLayoutType, TableRow, VAlignType, VMergeType, WidthType,
};

use crate::body::{Block, BlockKind};
use crate::content::{FormTable, ReportContent};

const A4: (u32, u32) = (11_906, 16_838);
const MARGIN_TOP: i32 = 1_134; // 20 mm
const MARGIN_BOTTOM: i32 = 1_134; // 20 mm
const MARGIN_LEFT: i32 = 1_701; // 30 mm
const MARGIN_RIGHT: i32 = 850; // 15 mm
const TEXT_WIDTH: usize = 9_355; // 165 mm
const FIRST_LINE_INDENT: i32 = 567; // 1 cm
const AFTER_PARAGRAPH: u32 = 120; // 6 pt
const FONT: &str = "Times New Roman";

/// Font sizes in half-points.
const BODY_SIZE: usize = 28; // 14 pt
const SIZE_13: usize = 26;
const SIZE_12: usize = 24;
const SIZE_11: usize = 22;
const SIZE_8: usize = 16;

/// Builds the DOCX package of a report.
pub fn build(content: &ReportContent, body: &[Block]) -> Result<Vec<u8>, String> {
    // The package's dates are the report's, so the same report gives the same bytes.
    let stamp = format!("{}T00:00:00Z", content.issued_on);
    let fonts = RunFonts::new()
        .ascii(FONT)
        .hi_ansi(FONT)
        .cs(FONT)
        .east_asia(FONT);
    let mut docx = Docx::new()
        .page_size(A4.0, A4.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TOP)
                .bottom(MARGIN_BOTTOM)
                .left(MARGIN_LEFT)
                .right(MARGIN_RIGHT),
        )
        .default_fonts(fonts)
        .default_size(BODY_SIZE)
        // Page numbers top centre from the second page on (Decree 30); the first page has none.
        .header(
            Header::new().add_paragraph(
                Paragraph::new()
                    .add_page_num(PageNum::new())
                    .align(AlignmentType::Center),
            ),
        )
        .first_header(Header::new())
        .title_pg()
        .created_at(&stamp)
        .updated_at(&stamp);
    let notice = if !content.is_final {
        Some(format!(
            "DỰ THẢO: số liệu tạm tính đến {}, kỳ báo cáo chưa kết thúc.",
            content.as_of
        ))
    } else {
        content.replaces.as_ref().map(|earlier| {
            format!(
                "Báo cáo này thay thế Báo cáo số {} đã gửi trước đây, với số liệu được cập nhật.",
                earlier.trim()
            )
        })
    };
    if let Some(notice) = notice {
        docx = docx.add_paragraph(centred(vec![
            Run::new().add_text(notice).size(SIZE_12).color("B00000"),
        ]));
    }
    docx = docx
        .add_table(header(content))
        .add_paragraph(title(content))
        .add_paragraph(rule(3_540))
        .add_paragraph(tight(Paragraph::new().size(SIZE_11)));
    for block in body {
        docx = match (block.kind, &content.summary) {
            (BlockKind::Table, Some(summary)) => docx.add_table(members_table(&summary.table)),
            (BlockKind::Table, None) => docx,
            _ => docx.add_paragraph(body_paragraph(block)),
        };
    }
    docx = docx.add_table(closing(content));
    let mut out = std::io::Cursor::new(Vec::new());
    docx.build()
        .pack(&mut out)
        .map_err(|error| format!("cannot write the DOCX package: {error}"))?;
    Ok(out.into_inner())
}

/// Issuing body and national motto, number and place and date.
fn header(content: &ReportContent) -> Table {
    let left = TEXT_WIDTH * 38 / 100;
    let right = TEXT_WIDTH - left;
    let mut body = TableCell::new().width(left, WidthType::Dxa);
    for line in &content.unit.issuing_body {
        let run = Run::new()
            .add_text(line.to_uppercase())
            .bold()
            .size(SIZE_13);
        body = body.add_paragraph(tight(centred(vec![run])));
    }
    let body = body.add_paragraph(rule(1_150));
    let motto = TableCell::new()
        .width(right, WidthType::Dxa)
        .add_paragraph(tight(centred(vec![
            Run::new()
                .add_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
                .bold()
                .size(SIZE_12),
        ])))
        .add_paragraph(tight(centred(vec![
            Run::new()
                .add_text("Độc lập - Tự do - Hạnh phúc")
                .bold()
                .size(SIZE_13),
        ])))
        .add_paragraph(rule(1_250));
    let number = TableCell::new()
        .width(left, WidthType::Dxa)
        .add_paragraph(spaced_before(centred(vec![
            Run::new()
                .add_text(format!("Số: {}", content.number))
                .size(SIZE_13),
        ])));
    let date = TableCell::new()
        .width(right, WidthType::Dxa)
        .add_paragraph(spaced_before(centred(vec![
            Run::new()
                .add_text(&content.place_and_date)
                .italic()
                .size(BODY_SIZE),
        ])));
    borderless(
        vec![
            TableRow::new(vec![body, motto]),
            TableRow::new(vec![number, date]),
        ],
        vec![left, right],
    )
}

/// "BÁO CÁO" and the subject.
fn title(content: &ReportContent) -> Paragraph {
    centred(vec![
        Run::new().add_text("BÁO CÁO").bold(),
        Run::new().add_break(docx_rs::BreakType::TextWrapping),
        Run::new().add_text(&content.subject).bold(),
    ])
    .line_spacing(LineSpacing::new().before(360).after(0))
}

fn body_paragraph(block: &Block) -> Paragraph {
    let run = Run::new().add_text(&block.text);
    let run = match block.kind {
        BlockKind::Paragraph => run,
        BlockKind::Section | BlockKind::Subsection | BlockKind::Table => run.bold(),
    };
    Paragraph::new()
        .add_run(run)
        .align(AlignmentType::Both)
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(FIRST_LINE_INDENT)),
            None,
            None,
        )
        .line_spacing(LineSpacing::new().after(AFTER_PARAGRAPH))
}

/// A summary's members as the national form's table, with borders: TT and the unit over two
/// header rows, the figure columns under their groups, one row per member and a total row.
fn members_table(table: &FormTable) -> Table {
    const ORDINAL: usize = 397; // 7 mm
    const NAME: usize = 1_814; // 32 mm
    let figure = (TEXT_WIDTH - ORDINAL - NAME) / table.columns.len().max(1);
    let cell = |text: &str, width: usize, bold: bool, align: AlignmentType| {
        let run = Run::new().add_text(text).size(SIZE_8);
        let run = if bold { run.bold() } else { run };
        TableCell::new()
            .width(width, WidthType::Dxa)
            .vertical_align(VAlignType::Center)
            .add_paragraph(tight(Paragraph::new().add_run(run).align(align)))
    };
    let centre = AlignmentType::Center;
    let right = AlignmentType::Right;
    let mut upper = vec![
        cell("TT", ORDINAL, true, centre).vertical_merge(VMergeType::Restart),
        cell("Đơn vị", NAME, true, centre).vertical_merge(VMergeType::Restart),
    ];
    for group in &table.groups {
        upper.push(cell(group.label, figure * group.span, true, centre).grid_span(group.span));
    }
    let mut lower = vec![
        cell("", ORDINAL, true, centre).vertical_merge(VMergeType::Continue),
        cell("", NAME, true, centre).vertical_merge(VMergeType::Continue),
    ];
    lower.extend(
        table
            .columns
            .iter()
            .map(|label| cell(label, figure, true, centre)),
    );
    let mut rows = vec![TableRow::new(upper), TableRow::new(lower)];
    for row in &table.rows {
        let mut cells = vec![
            cell(&row.ordinal.to_string(), ORDINAL, false, centre),
            cell(&row.name, NAME, false, AlignmentType::Left),
        ];
        cells.extend(
            row.values
                .iter()
                .map(|value| cell(&value.to_string(), figure, false, right)),
        );
        rows.push(TableRow::new(cells));
    }
    let mut total = vec![cell("Tổng cộng", ORDINAL + NAME, true, centre).grid_span(2)];
    total.extend(
        table
            .total
            .iter()
            .map(|value| cell(&value.to_string(), figure, true, right)),
    );
    rows.push(TableRow::new(total));
    let mut grid = vec![ORDINAL, NAME];
    grid.extend(std::iter::repeat_n(figure, table.columns.len()));
    Table::new(rows)
        .set_grid(grid)
        .width(TEXT_WIDTH, WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
}

/// "Nơi nhận" on the left, the signer on the right.
fn closing(content: &ReportContent) -> Table {
    let half = TEXT_WIDTH / 2;
    let mut recipients = TableCell::new()
        .width(half, WidthType::Dxa)
        .add_paragraph(tight(
            Paragraph::new().add_run(
                Run::new()
                    .add_text("Nơi nhận:")
                    .bold()
                    .italic()
                    .size(SIZE_12),
            ),
        ));
    let lines = &content.recipients;
    for (i, line) in lines.iter().enumerate() {
        let end = if i + 1 == lines.len() { "." } else { ";" };
        recipients = recipients.add_paragraph(tight(
            Paragraph::new().add_run(Run::new().add_text(format!("- {line}{end}")).size(SIZE_11)),
        ));
    }
    let signer = &content.signer;
    let signature = TableCell::new()
        .width(half, WidthType::Dxa)
        .add_paragraph(tight(centred(vec![
            Run::new().add_text(signer.authority.to_uppercase()).bold(),
        ])))
        .add_paragraph(tight(centred(vec![
            Run::new().add_text(signer.title.to_uppercase()).bold(),
        ])))
        .add_paragraph(
            centred(vec![Run::new().add_text(&signer.name).bold()])
                .line_spacing(LineSpacing::new().before(1_700)),
        );
    borderless(
        vec![TableRow::new(vec![recipients, signature])],
        vec![half, half],
    )
}

fn borderless(rows: Vec<TableRow>, grid: Vec<usize>) -> Table {
    Table::without_borders(rows)
        .set_grid(grid)
        .width(TEXT_WIDTH, WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
}

fn centred(runs: Vec<Run>) -> Paragraph {
    runs.into_iter()
        .fold(Paragraph::new(), Paragraph::add_run)
        .align(AlignmentType::Center)
}

fn tight(paragraph: Paragraph) -> Paragraph {
    paragraph.line_spacing(LineSpacing::new().before(0).after(0))
}

fn spaced_before(paragraph: Paragraph) -> Paragraph {
    paragraph.line_spacing(LineSpacing::new().before(120).after(0))
}

/// A short horizontal rule, `inset` twips in from each side of its cell: an empty, tiny
/// paragraph with a bottom border, so the text above keeps the cell's full width.
fn rule(inset: i32) -> Paragraph {
    tight(Paragraph::new().size(4))
        .indent(Some(inset), None, Some(inset), None)
        .set_borders(
            ParagraphBorders::with_empty().set(
                ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                    .val(BorderType::Single)
                    .size(6)
                    .space(1),
            ),
        )
}
