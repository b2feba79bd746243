//! The figures of SPEC §5, each the count of a list of items (§5.1): its path in the indicators
//! document (`procedures.pending_overdue`), the kind of item it counts, its Vietnamese label and
//! group, and how to read it from a document. The one list of figures: the sheet "Chỉ tiêu",
//! the lists of items and their checks all walk it. Which items each figure counts is decided
//! once, in the database (`migrations/20261206000001_figure_items.sql`), and both the counts
//! and the lists read that.

use crate::indicators::Indicators;

/// What a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// Administrative-procedure dossiers.
    Dossier,
    /// Citizens' petitions.
    Petition,
    /// Documents issued.
    Document,
    /// Articles on the ward's portal.
    Article,
}

impl ItemKind {
    /// The kind as stored and shown: `dossier`, `petition`, `document`, `article`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dossier => "dossier",
            Self::Petition => "petition",
            Self::Document => "document",
            Self::Article => "article",
        }
    }
}

/// One figure of the indicators document.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// Its group's Vietnamese name.
    pub group: &'static str,
    /// Its Vietnamese label.
    pub label: &'static str,
    /// Its path in the JSON document, e.g. `procedures.online`.
    pub path: &'static str,
    /// What it counts.
    pub kind: ItemKind,
    /// Its value in a document.
    pub get: fn(&Indicators) -> i64,
}

/// The group of the documents' figures.
pub const DOCUMENTS: &str = "Văn bản";
/// The group of the petitions' figures.
pub const PETITIONS: &str = "Phản ánh, kiến nghị";
/// The group of the dossiers' figures.
pub const PROCEDURES: &str = "Hồ sơ thủ tục hành chính";
/// The group of the articles' figure.
pub const ARTICLES: &str = "Tin, bài";

/// Every figure of SPEC §5, in the order of the JSON document.
pub const FIGURES: [Figure; 21] = [
    Figure {
        group: DOCUMENTS,
        label: "Đã ban hành",
        path: "documents.issued",
        kind: ItemKind::Document,
        get: |i| i.documents.issued,
    },
    Figure {
        group: DOCUMENTS,
        label: "Ký số",
        path: "documents.digitally_signed",
        kind: ItemKind::Document,
        get: |i| i.documents.digitally_signed,
    },
    Figure {
        group: PETITIONS,
        label: "Kỳ trước chuyển qua",
        path: "petitions.carried_over",
        kind: ItemKind::Petition,
        get: |i| i.petitions.carried_over,
    },
    Figure {
        group: PETITIONS,
        label: "Tiếp nhận trong kỳ",
        path: "petitions.received",
        kind: ItemKind::Petition,
        get: |i| i.petitions.received,
    },
    Figure {
        group: PETITIONS,
        label: "Đã giải quyết",
        path: "petitions.resolved",
        kind: ItemKind::Petition,
        get: |i| i.petitions.resolved,
    },
    Figure {
        group: PETITIONS,
        label: "Đang giải quyết",
        path: "petitions.pending",
        kind: ItemKind::Petition,
        get: |i| i.petitions.pending,
    },
    Figure {
        group: PROCEDURES,
        label: "Kỳ trước chuyển qua",
        path: "procedures.carried_over",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.carried_over,
    },
    Figure {
        group: PROCEDURES,
        label: "Tiếp nhận trong kỳ",
        path: "procedures.received",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.received,
    },
    Figure {
        group: PROCEDURES,
        label: "Trực tuyến",
        path: "procedures.online",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.online,
    },
    Figure {
        group: PROCEDURES,
        label: "Trực tiếp",
        path: "procedures.direct",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.direct,
    },
    Figure {
        group: PROCEDURES,
        label: "Bưu chính",
        path: "procedures.postal",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.postal,
    },
    Figure {
        group: PROCEDURES,
        label: "Số hóa",
        path: "procedures.digitized",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.digitized,
    },
    Figure {
        group: PROCEDURES,
        label: "Đã giải quyết",
        path: "procedures.resolved",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.resolved,
    },
    Figure {
        group: PROCEDURES,
        label: "Giải quyết trước hạn",
        path: "procedures.resolved_early",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.resolved_early,
    },
    Figure {
        group: PROCEDURES,
        label: "Giải quyết đúng hạn",
        path: "procedures.resolved_on_time",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.resolved_on_time,
    },
    Figure {
        group: PROCEDURES,
        label: "Giải quyết quá hạn",
        path: "procedures.resolved_late",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.resolved_late,
    },
    Figure {
        group: PROCEDURES,
        label: "Kết thúc không có kết quả (rút hồ sơ, dừng xử lý)",
        path: "procedures.resolved_without_result",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.resolved_without_result,
    },
    Figure {
        group: PROCEDURES,
        label: "Đang giải quyết",
        path: "procedures.pending",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.pending,
    },
    Figure {
        group: PROCEDURES,
        label: "Đang giải quyết trong hạn",
        path: "procedures.pending_on_time",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.pending_on_time,
    },
    Figure {
        group: PROCEDURES,
        label: "Đang giải quyết quá hạn",
        path: "procedures.pending_overdue",
        kind: ItemKind::Dossier,
        get: |i| i.procedures.pending_overdue,
    },
    Figure {
        group: ARTICLES,
        label: "Đã đăng",
        path: "articles.published",
        kind: ItemKind::Article,
        get: |i| i.articles.published,
    },
];

/// The figure at `path`.
pub fn figure(path: &str) -> Option<Figure> {
    FIGURES.iter().find(|f| f.path == path).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_a_figure_of_the_json_document_once() {
        let json =
            serde_json::json!({"documents": {}, "petitions": {}, "procedures": {}, "articles": {}});
        let mut paths: Vec<&str> = FIGURES.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), FIGURES.len());
        for figure in FIGURES {
            let group = figure.path.split('.').next().unwrap();
            assert!(json.get(group).is_some(), "{}", figure.path);
        }
        assert_eq!(
            figure("procedures.pending_overdue").map(|f| f.kind),
            Some(ItemKind::Dossier)
        );
        assert!(figure("procedures.nothing").is_none());
    }
}
