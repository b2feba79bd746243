//! The national form "Tình hình, kết quả giải quyết thủ tục hành chính" (Biểu II.06a): its
//! figure columns, how each comes from the indicators, and their two-level header. The
//! department's summary report prints it as a table, and the XLSX sheet "II.06a" lays it out
//! as the paper form does.

use crate::indicators::Procedures;

/// What a figure column holds.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    /// A figure of the unit's procedures.
    Figure(fn(&Procedures) -> i64),
    /// The sum of other figure columns (indices into [`COLUMNS`]): a formula in a spreadsheet.
    Sum(&'static [usize]),
}

/// One figure column: its label under its group, and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The lowest header level's label.
    pub label: &'static str,
    /// The column's content.
    pub cell: Cell,
}

/// The figure columns, (3) to (13) on the paper form (after TT and the unit's name). The
/// invariants hold by construction: received = online + direct and postal + carried over;
/// resolved = early + on time + late; pending = on time + overdue.
pub const COLUMNS: [Column; 11] = [
    Column {
        label: "Tổng số",
        cell: Cell::Sum(&[1, 2, 3]),
    },
    Column {
        label: "Trực tuyến",
        cell: Cell::Figure(|p| p.online),
    },
    Column {
        label: "Trực tiếp và bưu chính",
        cell: Cell::Figure(|p| p.direct + p.postal),
    },
    Column {
        label: "Kỳ trước chuyển qua",
        cell: Cell::Figure(|p| p.carried_over),
    },
    Column {
        label: "Tổng số",
        cell: Cell::Sum(&[5, 6, 7]),
    },
    Column {
        label: "Trả trước hạn",
        cell: Cell::Figure(|p| p.resolved_early),
    },
    Column {
        label: "Trả đúng hạn",
        cell: Cell::Figure(|p| p.resolved_on_time),
    },
    Column {
        label: "Trả quá hạn",
        cell: Cell::Figure(|p| p.resolved_late),
    },
    Column {
        label: "Tổng số",
        cell: Cell::Sum(&[9, 10]),
    },
    Column {
        label: "Trong hạn",
        cell: Cell::Figure(|p| p.pending_on_time),
    },
    Column {
        label: "Quá hạn",
        cell: Cell::Figure(|p| p.pending_overdue),
    },
];

/// The header's upper level: each group's label and the columns it spans (indices into
/// [`COLUMNS`], inclusive).
pub const GROUPS: [(&str, usize, usize); 3] = [
    ("Số hồ sơ nhận giải quyết", 0, 3),
    ("Số hồ sơ đã giải quyết", 4, 7),
    ("Số hồ sơ đang giải quyết", 8, 10),
];

/// The values of the figure columns for one unit; a sum column holds the sum of its parts.
pub fn values(p: &Procedures) -> [i64; 11] {
    let mut values = [0_i64; 11];
    for (i, column) in COLUMNS.iter().enumerate() {
        if let Cell::Figure(get) = column.cell {
            values[i] = get(p);
        }
    }
    for (i, column) in COLUMNS.iter().enumerate() {
        if let Cell::Sum(parts) = column.cell {
            values[i] = parts.iter().map(|&part| values[part]).sum();
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sums_are_the_indicators_totals() {
        let p = Procedures {
            carried_over: 4,
            received: 30,
            online: 20,
            direct: 8,
            postal: 2,
            digitized: 29,
            resolved: 25,
            resolved_early: 20,
            resolved_on_time: 4,
            resolved_late: 1,
            resolved_without_result: 2,
            pending: 9,
            pending_on_time: 8,
            pending_overdue: 1,
        };
        let v = values(&p);
        assert_eq!(v[0], p.carried_over + p.received);
        assert_eq!(v[4], p.resolved);
        assert_eq!(v[8], p.pending);
        assert_eq!(v, [34, 20, 10, 4, 25, 20, 4, 1, 9, 8, 1]);
    }

    #[test]
    fn the_groups_span_every_column_once() {
        let spanned: Vec<usize> = GROUPS.iter().flat_map(|(_, a, b)| *a..=*b).collect();
        assert_eq!(spanned, (0..COLUMNS.len()).collect::<Vec<_>>());
    }
}
