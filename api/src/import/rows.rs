//! The staff directory as CSV (RFC 4180: commas, double quotes around cells that hold
//! commas, quotes or line breaks; UTF-8, a byte-order mark allowed), read whole and checked
//! before anything is changed.
//!
//! The first line names the columns, in any order: `employee_id` (or `id`), `name`,
//! `department`, `role`, `photos` (case, spaces, `_` and `-` ignored: `Employee ID` is
//! `employee_id`). Only `employee_id` and `name` are required; a column left out leaves
//! that field of existing employees as it is, a blank cell clears it. Without such a line the
//! columns are `employee_id,name,department,role,photos` in that order. `photos` holds file
//! names separated by `;`, relative to the photo folder.

use std::collections::HashMap;

use crate::{
    error::{AppError, AppResult},
    validate,
};

/// The largest CSV read.
pub const MAX_CSV_BYTES: usize = 4 * 1024 * 1024;
/// The most rows (employees) one CSV may hold.
pub const MAX_ROWS: usize = 10_000;
/// The most photos one row may name.
pub const MAX_PHOTOS_PER_ROW: usize = 20;
/// Between the file names of the `photos` cell.
pub const PHOTO_SEPARATOR: char = ';';

/// A column of the CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    EmployeeId,
    Name,
    Department,
    Role,
    Photos,
}

impl Column {
    /// The columns of a CSV without a header line, in order.
    pub const IN_ORDER: [Column; 5] = [
        Column::EmployeeId,
        Column::Name,
        Column::Department,
        Column::Role,
        Column::Photos,
    ];

    /// The column a header cell names, if any.
    pub fn from_header(cell: &str) -> Option<Self> {
        let key: String = cell
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "employeeid" | "id" => Self::EmployeeId,
            "name" => Self::Name,
            "department" => Self::Department,
            "role" => Self::Role,
            "photos" | "photo" => Self::Photos,
            _ => return None,
        })
    }

    fn header(self) -> &'static str {
        match self {
            Self::EmployeeId => "employee_id",
            Self::Name => "name",
            Self::Department => "department",
            Self::Role => "role",
            Self::Photos => "photos",
        }
    }
}

/// A field of a row whose column may be absent: absent leaves it, blank clears it.
pub type Optional = Option<Option<String>>;

/// One row, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The line of the CSV it starts on (the header is line 1).
    pub line: u64,
    pub employee_id: String,
    pub name: String,
    pub department: Optional,
    pub role: Optional,
    /// File names as written (checked when read), at most [`MAX_PHOTOS_PER_ROW`], each
    /// once.
    pub photos: Vec<String>,
}

/// A row refused before anything is changed.
#[derive(Clone, Debug, PartialEq)]
pub struct BadRow {
    pub line: u64,
    pub employee_id: Option<String>,
    pub duplicate: bool,
    pub message: String,
}

/// The rows of a CSV, in order, each checked.
pub type Rows = Vec<Result<Row, BadRow>>;

/// Reads and checks every row of `csv`. A CSV that cannot be read as a directory at all
/// (too large, too many rows, a header naming unknown columns) is refused whole; a bad row
/// is refused alone, and so is every row of an employee id that appears more than once.
pub fn parse(csv: &[u8]) -> AppResult<Rows> {
    if csv.len() > MAX_CSV_BYTES {
        return Err(AppError::invalid(
            "csv",
            format!(
                "the file is {} bytes; a CSV may be at most {MAX_CSV_BYTES} bytes: split it \
                 (re-running an import is safe)",
                csv.len()
            ),
        ));
    }
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv);
    let mut columns: Option<Vec<Option<Column>>> = None;
    let mut rows = Rows::new();
    for record in reader.byte_records() {
        let record = record.map_err(|e| AppError::invalid("csv", format!("not CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<Result<&str, ()>> = record
            .iter()
            .map(|c| std::str::from_utf8(c).map(str::trim).map_err(|_| ()))
            .collect();
        if cells.iter().all(|c| matches!(c, Ok(""))) {
            continue;
        }
        if columns.is_none() {
            if let Some(header) = header_of(&cells)? {
                columns = Some(header);
                continue;
            }
            columns = Some(Column::IN_ORDER.iter().copied().map(Some).collect());
        }
        if rows.len() == MAX_ROWS {
            return Err(AppError::invalid(
                "csv",
                format!("more than {MAX_ROWS} rows: split the CSV (re-running an import is safe)"),
            ));
        }
        rows.push(row_of(line, &cells, columns.as_deref().unwrap_or_default()));
    }
    refuse_duplicates(&mut rows);
    Ok(rows)
}

/// The columns a header line names; None when the line is data (its first cell that is not
/// blank names no column).
fn header_of(cells: &[Result<&str, ()>]) -> AppResult<Option<Vec<Option<Column>>>> {
    let first = cells
        .iter()
        .find(|c| !matches!(c, Ok("")))
        .and_then(|c| c.ok())
        .unwrap_or_default();
    if Column::from_header(first).is_none() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(cells.len());
    for cell in cells {
        let cell = cell.map_err(|_| AppError::invalid("csv", "the header is not UTF-8 text"))?;
        if cell.is_empty() {
            columns.push(None);
            continue;
        }
        let column = Column::from_header(cell).ok_or_else(|| {
            AppError::invalid(
                "csv",
                format!(
                    "the header names a column {cell:?} hadir does not know: the columns are \
                     employee_id, name, department, role and photos"
                ),
            )
        })?;
        if columns.contains(&Some(column)) {
            return Err(AppError::invalid(
                "csv",
                format!("the header names the column {} twice", column.header()),
            ));
        }
        columns.push(Some(column));
    }
    for required in [Column::EmployeeId, Column::Name] {
        if !columns.contains(&Some(required)) {
            return Err(AppError::invalid(
                "csv",
                format!(
                    "the header has no {} column (employee_id and name are required)",
                    required.header()
                ),
            ));
        }
    }
    Ok(Some(columns))
}

fn row_of(
    line: u64,
    cells: &[Result<&str, ()>],
    columns: &[Option<Column>],
) -> Result<Row, BadRow> {
    let mut values: HashMap<Column, &str> = HashMap::new();
    let bad = |message: String, id: Option<&str>| BadRow {
        line,
        employee_id: id.filter(|i| !i.is_empty()).map(str::to_owned),
        duplicate: false,
        message,
    };
    let id_cell = columns
        .iter()
        .position(|c| *c == Some(Column::EmployeeId))
        .and_then(|i| cells.get(i))
        .and_then(|c| c.ok());
    if cells.len() > columns.len() {
        return Err(bad(
            format!(
                "{} cells; the CSV has {} columns (quote a cell that holds a comma)",
                cells.len(),
                columns.len()
            ),
            id_cell,
        ));
    }
    for (cell, column) in cells.iter().zip(columns) {
        let Some(column) = column else { continue };
        match cell {
            Ok(text) => {
                values.insert(*column, text);
            }
            Err(()) => {
                return Err(bad(
                    format!(
                        "the {} cell is not UTF-8 text: save the CSV as UTF-8",
                        column.header()
                    ),
                    id_cell,
                ));
            }
        }
    }
    let checked = (|| {
        let employee_id = validate::identifier(
            "employee_id",
            values.get(&Column::EmployeeId).unwrap_or(&""),
        )?;
        let name = validate::required_text(
            "name",
            values.get(&Column::Name).unwrap_or(&""),
            validate::MAX_NAME_CHARS,
        )?;
        let optional = |column: Column| -> AppResult<Optional> {
            if !columns.contains(&Some(column)) {
                return Ok(None);
            }
            validate::optional_text(
                column.header(),
                values.get(&column).copied(),
                validate::MAX_NAME_CHARS,
            )
            .map(Some)
        };
        Ok::<_, AppError>((
            employee_id,
            name,
            optional(Column::Department)?,
            optional(Column::Role)?,
        ))
    })();
    let (employee_id, name, department, role) = checked.map_err(|e| bad(e.to_string(), id_cell))?;
    let mut photos: Vec<String> = Vec::new();
    for name in values
        .get(&Column::Photos)
        .unwrap_or(&"")
        .split(PHOTO_SEPARATOR)
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if !photos.iter().any(|p| p == name) {
            photos.push(name.to_owned());
        }
    }
    if photos.len() > MAX_PHOTOS_PER_ROW {
        return Err(bad(
            format!(
                "{} photos; a row may name at most {MAX_PHOTOS_PER_ROW}",
                photos.len()
            ),
            Some(&employee_id),
        ));
    }
    Ok(Row {
        line,
        employee_id,
        name,
        department,
        role,
        photos,
    })
}

/// Refuses every row whose employee id another row has too: which of them is right is
/// the operator's to say.
fn refuse_duplicates(rows: &mut Rows) {
    let mut lines: HashMap<String, Vec<u64>> = HashMap::new();
    for row in rows.iter().flatten() {
        lines
            .entry(row.employee_id.clone())
            .or_default()
            .push(row.line);
    }
    for entry in rows.iter_mut() {
        let Ok(row) = entry else { continue };
        let Some(on) = lines.get(&row.employee_id).filter(|l| l.len() > 1) else {
            continue;
        };
        let listed: Vec<String> = on.iter().map(u64::to_string).collect();
        *entry = Err(BadRow {
            line: row.line,
            employee_id: Some(row.employee_id.clone()),
            duplicate: true,
            message: format!(
                "employee id {} is on lines {}: none of them is imported; keep one",
                row.employee_id,
                listed.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests;
