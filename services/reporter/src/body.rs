//! The report's body as a list of blocks, parsed from what the body template printed.
//!
//! The body template writes plain paragraphs separated by blank lines, with two marks a ward's
//! editor can learn in a minute: `# ` starts a section heading ("I. KẾT QUẢ ĐẠT ĐƯỢC") and
//! `## ` a subsection heading ("1. Về công tác tuyên truyền"). A summary's body places its
//! members' table with a line of its own, `@members`; a directive the report does not draw
//! (any in a unit's report, which has no table) is printed as the text it is ([`drawable`]), so
//! that text stored before directives were checked cannot fail a report. Every format is rendered
//! from the same blocks, so the report reads the same in the terminal, the email, Word and the
//! PDF.
//! Blank lines and indentation in the template do not matter; a paragraph written over several
//! lines is joined with spaces.

use domain::profile::{IssuerKind, directive, draws};
use serde::Serialize;

/// What a block is, which decides its typography.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// "I. KẾT QUẢ ĐẠT ĐƯỢC": bold.
    Section,
    /// "1. Về công tác tuyên truyền": bold.
    Subsection,
    /// Body text, justified with a first-line indent (bullets are paragraphs starting "- ").
    Paragraph,
    /// A table the page draws from the content, named by the block's text: `members`, a
    /// summary's table of the national form's columns.
    Table,
}

/// One paragraph of the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    /// Its typography.
    pub kind: BlockKind,
    /// Its text, without the heading mark.
    pub text: String,
}

/// Splits the body template's output into blocks.
pub fn parse(rendered: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    for line in rendered.lines().map(str::trim).chain(std::iter::once("")) {
        if line.is_empty() {
            if !lines.is_empty() {
                blocks.push(block(&lines.join(" ")));
                lines.clear();
            }
        } else {
            lines.push(line);
        }
    }
    blocks
}

/// `blocks` with every table a `kind`'s report does not draw turned back into the paragraph it
/// was written as (`@name`), and the names of those tables.
pub fn drawable(blocks: Vec<Block>, kind: IssuerKind) -> (Vec<Block>, Vec<String>) {
    let mut strays = Vec::new();
    let blocks = blocks
        .into_iter()
        .map(|block| match block.kind {
            BlockKind::Table if !draws(kind, &block.text) => {
                strays.push(block.text.clone());
                Block {
                    kind: BlockKind::Paragraph,
                    text: format!("@{}", block.text),
                }
            }
            _ => block,
        })
        .collect();
    (blocks, strays)
}

fn block(text: &str) -> Block {
    let (kind, text) = if let Some(rest) = text.strip_prefix("## ") {
        (BlockKind::Subsection, rest)
    } else if let Some(rest) = text.strip_prefix("# ") {
        (BlockKind::Section, rest)
    } else if let Some(name) = directive(text) {
        (BlockKind::Table, name)
    } else {
        (BlockKind::Paragraph, text)
    };
    Block {
        kind,
        text: text.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_separate_blocks_and_marks_set_their_kind() {
        let blocks = parse(
            "\n  # I. KẾT QUẢ\n\n\n## 1. Về công tác\n\nMột đoạn\n   viết hai dòng.\n\n- Gạch đầu dòng\n\n@members\n\nThư gửi @members\n",
        );
        let expected = [
            (BlockKind::Section, "I. KẾT QUẢ"),
            (BlockKind::Subsection, "1. Về công tác"),
            (BlockKind::Paragraph, "Một đoạn viết hai dòng."),
            (BlockKind::Paragraph, "- Gạch đầu dòng"),
            (BlockKind::Table, "members"),
            (BlockKind::Paragraph, "Thư gửi @members"),
        ];
        let found: Vec<(BlockKind, &str)> = blocks
            .iter()
            .map(|block| (block.kind, block.text.as_str()))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_table_the_report_does_not_draw_is_printed_as_its_text() {
        let blocks = parse("Mở đầu\n\n@members\n\n@weather\n");
        let (unit, strays) = drawable(blocks.clone(), IssuerKind::Unit);
        assert_eq!(strays, ["members", "weather"]);
        assert!(unit.iter().all(|b| b.kind == BlockKind::Paragraph));
        assert_eq!(unit[1].text, "@members");
        let (summary, strays) = drawable(blocks, IssuerKind::Summary);
        assert_eq!(strays, ["weather"]);
        assert_eq!(
            (summary[1].kind, summary[2].kind),
            (BlockKind::Table, BlockKind::Paragraph)
        );
    }

    #[test]
    fn an_empty_body_has_no_blocks() {
        assert!(parse("\n \n\t\n").is_empty());
    }
}
