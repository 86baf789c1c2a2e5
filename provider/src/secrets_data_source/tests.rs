use super::*;

#[test]
fn schema_matches_state_struct() {
    SecretsDataSource
        .schema()
        .check_against::<SecretsState>(TYPE_NAME)
        .unwrap();
}
