use super::*;

#[test]
fn schema_matches_config_struct() {
    LoginTestAction
        .schema()
        .check_against::<LoginTestConfig>(TYPE_NAME)
        .unwrap();
}
