//! Plain-text tables for the billing commands.

/// Alignment of a column's cells.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Prints a header and rows with each column as wide as its widest cell, two spaces apart.
/// Trailing spaces are trimmed, so an empty or short last cell leaves none.
pub fn print_table(header: &[(&str, Align)], rows: &[Vec<String>], indent: &str) {
    for line in render_table(header, rows) {
        println!("{indent}{line}");
    }
}

fn render_table(header: &[(&str, Align)], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header
        .iter()
        .map(|(title, _)| title.chars().count())
        .collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (index, ((cell, width), (_, align))) in
            cells.iter().zip(&widths).zip(header).enumerate()
        {
            if index > 0 {
                line.push_str("  ");
            }
            let padding = width.saturating_sub(cell.chars().count());
            match align {
                Align::Right => {
                    line.push_str(&" ".repeat(padding));
                    line.push_str(cell);
                }
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(padding));
                }
            }
        }
        line.trim_end().to_owned()
    };
    let mut lines = vec![render_row(header.iter().map(|(title, _)| *title).collect())];
    for row in rows {
        lines.push(render_row(row.iter().map(String::as_str).collect()));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let header = [
            ("code", Align::Left),
            ("amount", Align::Right),
            ("note", Align::Left),
        ];
        let rows = vec![
            vec!["crm".to_owned(), "15.00".to_owned(), "module".to_owned()],
            vec!["gebruikers".to_owned(), "7.50".to_owned(), String::new()],
        ];
        let lines = render_table(&header, &rows);
        assert_eq!(lines[0], "code        amount  note");
        assert_eq!(lines[1], "crm          15.00  module");
        assert_eq!(lines[2], "gebruikers    7.50");
    }
}
