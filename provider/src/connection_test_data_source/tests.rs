use super::*;

#[test]
fn schema_matches_state_struct() {
    ConnectionTestDataSource
        .schema()
        .check_against::<ConnectionTestState>(TYPE_NAME)
        .unwrap();
}
