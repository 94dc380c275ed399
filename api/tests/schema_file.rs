//! `schema.graphql` at the top of the repository is the exported SDL: this fails when the
//! file and the code differ (`cargo run -- schema > schema.graphql` brings it up to date).

#[test]
fn schema_file_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let file = std::fs::read_to_string(path).expect("schema.graphql at the repository's top");
    let code = api::graphql::sdl();
    assert!(
        file == code,
        "schema.graphql differs from the schema in the code; run `cargo run -p api -- schema > schema.graphql`"
    );
}
