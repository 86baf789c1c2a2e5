//! The schema as Terraform receives it: every attribute described, every
//! password sensitive, the `_wo` twins write-only.

use acceptance_tests::provider_schema;
use tfplug::testing::target_binary;

#[test]
fn every_attribute_is_described_and_passwords_are_protected() {
    let schemas = provider_schema(&target_binary("terraform-provider-primus").unwrap()).unwrap();
    let mut blocks = vec![("provider".to_owned(), schemas.provider.clone().unwrap())];
    blocks.extend(schemas.resource_schemas.clone());
    blocks.extend(schemas.data_source_schemas.clone());
    let mut names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "primus_connection_test",
            "primus_permanent_secret",
            "primus_secrets",
            "primus_service_proxy_password",
            "provider"
        ]
    );
    let mut passwords = 0;
    for (name, schema) in &blocks {
        let block = schema.block.as_ref().unwrap();
        assert!(block.description.len() > 40, "{name} has no description");
        for a in &block.attributes {
            assert!(
                a.description.len() > 10,
                "{name}.{} has no description",
                a.name
            );
            if a.name.contains("password") && !a.name.ends_with("_version") {
                passwords += 1;
                assert!(a.sensitive, "{name}.{} must be sensitive", a.name);
                assert_eq!(
                    a.write_only,
                    a.name.ends_with("_wo"),
                    "{name}.{} write-only",
                    a.name
                );
            }
        }
    }
    assert_eq!(
        passwords, 6,
        "setup/pkcs11 and their twins, proxy password and its twin"
    );
}
