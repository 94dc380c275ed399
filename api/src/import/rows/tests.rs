use super::*;

fn ok(row: &Result<Row, BadRow>) -> &Row {
    row.as_ref().unwrap_or_else(|bad| panic!("{bad:?}"))
}

fn bad(row: &Result<Row, BadRow>) -> &BadRow {
    row.as_ref()
        .err()
        .unwrap_or_else(|| panic!("refused: {row:?}"))
}

#[test]
fn a_header_names_the_columns_in_any_order() {
    let csv = "\u{feff}Photos,Name,Employee ID,Role\n\
               a.jpg; b.jpg ;a.jpg,Ann Lee,E1,Engineer\n\
               ,\"Budi, Jr.\",E2,\n";
    let rows = parse(csv.as_bytes()).unwrap();
    assert_eq!(rows.len(), 2);
    let ann = ok(&rows[0]);
    assert_eq!(
        (ann.line, ann.employee_id.as_str(), ann.name.as_str()),
        (2, "E1", "Ann Lee")
    );
    assert_eq!(ann.photos, ["a.jpg", "b.jpg"]);
    // No department column: left as it is; a blank role: cleared.
    assert_eq!(ann.department, None);
    assert_eq!(ann.role, Some(Some("Engineer".into())));
    let budi = ok(&rows[1]);
    assert_eq!(budi.name, "Budi, Jr.");
    assert_eq!(budi.role, Some(None));
    assert!(budi.photos.is_empty());
}

#[test]
fn without_a_header_the_columns_are_in_the_documented_order() {
    let rows = parse(b"E1,Ann,Sales,Lead,ann.jpg\nE2,Budi\n\n,,,\n").unwrap();
    assert_eq!(rows.len(), 2, "blank lines are skipped: {rows:?}");
    let ann = ok(&rows[0]);
    assert_eq!(ann.line, 1);
    assert_eq!(ann.department, Some(Some("Sales".into())));
    assert_eq!(ann.photos, ["ann.jpg"]);
    assert_eq!(ok(&rows[1]).department, Some(None));
}

#[test]
fn bad_rows_are_refused_alone_and_say_why() {
    let csv = "employee_id,name\nE1,Ann\nbad id,Budi\nE3,\nE4,Dewi,extra\nE5,\"a\u{7}b\"\n";
    let rows = parse(csv.as_bytes()).unwrap();
    assert_eq!(ok(&rows[0]).employee_id, "E1");
    let messages: Vec<(u64, &str)> = rows[1..]
        .iter()
        .map(|r| (bad(r).line, bad(r).message.as_str()))
        .collect();
    assert!(
        messages[0].1.starts_with("employee_id: ' ' is not allowed"),
        "{messages:?}"
    );
    assert_eq!(messages[1], (4, "name: must not be empty"));
    assert!(
        messages[2].1.contains("3 cells; the CSV has 2 columns"),
        "{messages:?}"
    );
    assert!(messages[3].1.contains("control characters"), "{messages:?}");
    assert_eq!(bad(&rows[1]).employee_id.as_deref(), Some("bad id"));
}

#[test]
fn every_row_of_a_duplicated_id_is_refused() {
    let rows = parse(b"id,name\nE1,Ann\nE2,Budi\nE1,Another Ann\n").unwrap();
    assert_eq!(ok(&rows[1]).employee_id, "E2");
    for row in [&rows[0], &rows[2]] {
        let refused = bad(row);
        assert!(refused.duplicate);
        assert!(
            refused.message.contains("is on lines 2, 4"),
            "{}",
            refused.message
        );
    }
}

#[test]
fn a_file_that_is_no_directory_is_refused_whole() {
    let refused = |csv: &[u8]| parse(csv).unwrap_err().to_string();
    assert!(refused(b"id,name,salary\nE1,Ann,9\n").contains("\"salary\""));
    assert!(refused(b"id,department\nE1,Sales\n").contains("no name column"));
    assert!(refused(b"id,name,id\n").contains("twice"));
    let big = vec![b'x'; MAX_CSV_BYTES + 1];
    assert!(refused(&big).contains("at most"));
    let mut many = String::from("id,name\n");
    for n in 0..=MAX_ROWS {
        many.push_str(&format!("E{n},N\n"));
    }
    assert!(refused(many.as_bytes()).contains(&format!("more than {MAX_ROWS} rows")));
}

#[test]
fn non_utf8_cells_and_too_many_photos_refuse_the_row() {
    let rows = parse(b"id,name\nE1,Ann \xff\n").unwrap();
    assert!(bad(&rows[0]).message.contains("not UTF-8"));
    let photos: Vec<String> = (0..=MAX_PHOTOS_PER_ROW)
        .map(|n| format!("{n}.jpg"))
        .collect();
    let csv = format!("id,name,photos\nE1,Ann,{}\n", photos.join(";"));
    let rows = parse(csv.as_bytes()).unwrap();
    assert!(bad(&rows[0]).message.contains("at most 20"));
}

#[test]
fn a_header_may_start_with_a_blank_column() {
    let rows = parse(b",name,id\nignored,Ann,E1\n").unwrap();
    let ann = ok(&rows[0]);
    assert_eq!((ann.employee_id.as_str(), ann.name.as_str()), ("E1", "Ann"));
}
