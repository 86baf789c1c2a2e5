use std::path::Path;

use super::*;
use crate::external::parse::{lines, parse};

/// The cluster of the vendor's `ppin -l` sample: three slots on each of two HSMs.
const PRIMUS_CFG: &str = include_str!("../../../tests/fixtures/vendor/ppin-tool-list.primus.cfg");

const SAMPLE: &str = include_str!("../../../tests/fixtures/vendor/ppin-tool-list.txt");

fn config() -> PrimusConfig {
    PrimusConfig::parse(PRIMUS_CFG, Path::new("primus.cfg")).unwrap()
}

fn folded(text: &str, config: Option<&PrimusConfig>) -> Result<Cluster, Disagreement> {
    fold(&parse(&lines(text.as_bytes())).unwrap(), config)
}

#[test]
fn the_documented_cluster_folds_to_one_state_per_name() {
    let cluster = folded(SAMPLE, Some(&config())).unwrap();
    let users: Vec<(&str, u32, bool)> = cluster
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.slot_id, u.configured))
        .collect();
    assert_eq!(
        users,
        [
            ("Partition-1", 0, true),
            ("Partition-2", 1, true),
            ("CLOUDHSMPAR", 5, false)
        ]
    );
    assert_eq!(cluster.proxies.len(), 1);
    assert!(!cluster.proxy("eqabxrfnqqos").unwrap().configured);
}

#[test]
fn disagreeing_lines_name_the_hsms_from_primus_cfg() {
    let text = SAMPLE.replacen(
        "[04] slot-id 0:    user 'Partition-1'   permanent secret: Configured",
        "[04] slot-id 0:    user 'Partition-1'   permanent secret: MISSING",
        1,
    );
    assert_eq!(
        folded(&text, Some(&config())),
        Err(Disagreement {
            role: "user",
            name: "Partition-1".into(),
            configured_on: vec!["hsm0".into()],
            missing_on: vec!["hsm1".into()],
        })
    );
    // Without primus.cfg the lines are named by their number in the output.
    assert_eq!(folded(&text, None).unwrap_err().missing_on, ["line 7"]);
    let proxy = SAMPLE.replacen(
        "[02] service/proxy user 'eqabxrfnqqos'  permanent secret: MISSING",
        "[02] service/proxy user 'eqabxrfnqqos'  permanent secret: Configured",
        1,
    );
    let disagreement = folded(&proxy, Some(&config())).unwrap_err();
    assert_eq!(disagreement.role, "service proxy user");
    assert_eq!(
        (disagreement.configured_on, disagreement.missing_on),
        (vec!["hsm1".to_owned()], vec!["hsm0".to_owned()])
    );
}

#[test]
fn lines_out_of_the_file_order_are_named_by_number_not_guessed() {
    // hsm1's lines first: primus.cfg cannot tell which HSM each is, so no HSM is named.
    let text = "[01] slot-id 0: user 'Partition-1' permanent secret: MISSING\n\
                [02] slot-id 1: user 'Partition-2' permanent secret: Configured\n\
                [03] slot-id 1: user 'Partition-2' permanent secret: Configured\n\
                [04] slot-id 0: user 'Partition-1' permanent secret: Configured\n";
    let disagreement = folded(text, Some(&config())).unwrap_err();
    assert_eq!(disagreement.configured_on, ["line 4"]);
    assert_eq!(disagreement.missing_on, ["line 1"]);
}

#[test]
fn a_run_that_prints_only_its_target_is_still_mapped() {
    let text = "[01] slot-id 5: user 'CLOUDHSMPAR' permanent secret: Configured\n\
                [04] slot-id 5: user 'CLOUDHSMPAR' permanent secret: MISSING\n";
    let disagreement = folded(text, Some(&config())).unwrap_err();
    assert_eq!(
        (disagreement.configured_on, disagreement.missing_on),
        (vec!["hsm0".to_owned()], vec!["hsm1".to_owned()])
    );
}
