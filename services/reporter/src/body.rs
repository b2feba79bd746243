//! The report's body as a list of blocks, parsed from what the body template printed.
//!
//! The body template writes plain paragraphs separated by blank lines, with two marks a ward's
//! editor can learn in a minute: `# ` starts a section heading ("I. KẾT QUẢ ĐẠT ĐƯỢC") and
//! `## ` a subsection heading ("1. Về công tác tuyên truyền"). A summary's body places its
//! members' table with a line of its own, `@members`. Every format is rendered from the
//! same blocks, so the report reads the same in the terminal, the email, Word and the PDF.
//! Blank lines and indentation in the template do not matter; a paragraph written over several
//! lines is joined with spaces.

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

fn block(text: &str) -> Block {
    let (kind, text) = if let Some(rest) = text.strip_prefix("## ") {
        (BlockKind::Subsection, rest)
    } else if let Some(rest) = text.strip_prefix("# ") {
        (BlockKind::Section, rest)
    } else if let Some(name) = text
        .strip_prefix('@')
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
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
    fn an_empty_body_has_no_blocks() {
        assert!(parse("\n \n\t\n").is_empty());
    }
}
