//! The schema as Terraform receives it: every attribute (nested blocks'
//! too) described, every password and SSH key sensitive, the `_wo` twins
//! write-only.

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
            "primus_config",
            "primus_connection_test",
            "primus_partition_log",
            "primus_permanent_secret",
            "primus_secrets",
            "primus_service_proxy_password",
            "provider"
        ]
    );
    let mut passwords = 0;
    let mut private_keys = 0;
    let mut nested_blocks = Vec::new();
    let mut pending: Vec<(String, tfplug::proto::tfplugin6::schema::Block)> = blocks
        .iter()
        .map(|(name, schema)| (name.clone(), schema.block.clone().unwrap()))
        .collect();
    while let Some((name, block)) = pending.pop() {
        for nested in &block.block_types {
            nested_blocks.push(format!("{name}.{}", nested.type_name));
            pending.push((
                format!("{name}.{}", nested.type_name),
                nested.block.clone().unwrap(),
            ));
        }
        assert!(block.description.len() > 40, "{name} has no description");
        for a in &block.attributes {
            assert!(
                a.description.len() > 10,
                "{name}.{} has no description",
                a.name
            );
            if a.name.ends_with("private_key") {
                private_keys += 1;
                assert!(a.sensitive, "{name}.{} must be sensitive", a.name);
            }
            if a.name.contains("password") && !a.name.ends_with("_version") {
                passwords += 1;
                assert_eq!(
                    a.write_only,
                    a.name.ends_with("_wo"),
                    "{name}.{} write-only",
                    a.name
                );
                // A password is either write-only (never in a plan or a
                // state) or sensitive (hidden wherever Terraform shows it).
                assert!(
                    a.sensitive != a.write_only,
                    "{name}.{} must be sensitive or write-only",
                    a.name
                );
            }
        }
    }
    nested_blocks.sort();
    assert_eq!(
        nested_blocks,
        [
            "primus_config.host",
            "primus_config.hsm",
            "primus_config.hsm.slot",
            "primus_connection_test.host",
            "primus_partition_log.host",
            "primus_permanent_secret.host",
            "primus_secrets.host",
            "primus_service_proxy_password.host",
            "provider.ssh",
        ],
        "primus_config's hsm and hsm.slot, the host of every resource and data source, the provider's ssh"
    );
    assert_eq!(
        private_keys, 2,
        "ssh.private_key and ssh.bastion_private_key"
    );
    assert_eq!(
        passwords, 6,
        "setup/pkcs11 and their twins, proxy password and its twin"
    );
}
