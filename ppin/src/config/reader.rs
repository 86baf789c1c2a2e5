//! Reading `primus.cfg`: the libconfig tree to a [`PrimusConfig`].

use std::collections::HashMap;
use std::path::Path;

use primus_core::libconfig::{Group, Value};

use super::{ConfigError, Hsm, PrimusConfig, SlotUser};

/// Turns the libconfig tree into a [`PrimusConfig`], naming the setting in errors.
pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
}

impl Reader<'_> {
    fn invalid(&self, setting: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            setting: setting.to_owned(),
            problem: problem.into(),
        }
    }

    /// The entries of a group or list at `setting`, named `setting.name` or `setting[i]`.
    fn entries<'v>(
        &self,
        setting: &str,
        value: &'v Value,
    ) -> Result<Vec<(String, &'v Group)>, ConfigError> {
        let named: Vec<(String, &Value)> = match value {
            Value::Group(group) => group
                .iter()
                .map(|s| (format!("{setting}.{}", s.name), &s.value))
                .collect(),
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{setting}[{i}]"), v))
                .collect(),
            other => {
                return Err(self.invalid(
                    setting,
                    format!("expected a group {{ ... }}, found a {}", other.type_name()),
                ))
            }
        };
        named
            .into_iter()
            .map(|(name, value)| match value.as_group() {
                Some(group) => Ok((name, group)),
                None => Err(self.invalid(
                    &name,
                    format!("expected a group {{ ... }}, found a {}", value.type_name()),
                )),
            })
            .collect()
    }

    fn string(
        &self,
        group: &Group,
        parent: &str,
        key: &str,
    ) -> Result<Option<String>, ConfigError> {
        match group.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
            Some(Value::String(_)) => {
                Err(self.invalid(&format!("{parent}.{key}"), "must not be empty"))
            }
            Some(other) => Err(self.invalid(
                &format!("{parent}.{key}"),
                format!("expected a string, found a {}", other.type_name()),
            )),
        }
    }

    fn required_string(
        &self,
        group: &Group,
        parent: &str,
        key: &str,
    ) -> Result<String, ConfigError> {
        self.string(group, parent, key)?.ok_or_else(|| {
            self.invalid(&format!("{parent}.{key}"), "missing: every entry needs one")
        })
    }

    /// An integer in `range`, written as an integer or (as the vendor writes
    /// `port`) a string of digits.
    fn number<T: TryFrom<i64>>(
        &self,
        group: &Group,
        parent: &str,
        key: &str,
    ) -> Result<Option<T>, ConfigError> {
        let setting = format!("{parent}.{key}");
        let number = match group.get(key) {
            None => return Ok(None),
            Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
            // `int` or `int64` (`2310L`).
            Some(other) => other.as_int(),
        };
        let out_of_range = || {
            self.invalid(
                &setting,
                "expected a whole number in range (e.g. 2310 or \"2310\")",
            )
        };
        let number = number.ok_or_else(out_of_range)?;
        T::try_from(number).map(Some).map_err(|_| out_of_range())
    }

    pub(super) fn config(&self, doc: &Group) -> Result<PrimusConfig, ConfigError> {
        let primus = self.primus(doc)?;
        let default_ca = self.string(primus, "primus", "ca_file")?;
        let hsms_value = primus
            .get("hsms")
            .ok_or_else(|| self.invalid("primus.hsms", "missing: list the HSMs here"))?;
        let mut hsms = Vec::new();
        let mut slots_of_hsm = Vec::new();
        for (name, group) in self.entries("primus.hsms", hsms_value)? {
            hsms.push(self.hsm(&name, group, default_ca.as_deref())?);
            let slots = group.get("slots").ok_or_else(|| {
                self.invalid(
                    &format!("{name}.slots"),
                    "missing: every HSM needs the slots it serves",
                )
            })?;
            slots_of_hsm.push(self.entries(&format!("{name}.slots"), slots)?);
        }
        if hsms.is_empty() {
            return Err(self.invalid("primus.hsms", "no HSM configured"));
        }
        let mut users: Vec<SlotUser> = Vec::new();
        // Each user's slot ids on each of its HSMs, in file order.
        let mut ids_on_hsms: HashMap<String, Vec<(String, Vec<u32>)>> = HashMap::new();
        // Each slot as (HSM, user) positions, in file order: the order of
        // the vendor's `ppin -l` lines.
        let mut layout = Vec::new();
        for (hsm_index, (hsm, slots)) in hsms.iter().zip(slots_of_hsm).enumerate() {
            let mut ids = SlotIds::default();
            for (name, slot) in slots {
                let (user_index, slot_id) =
                    self.add_slot(&mut users, &mut ids, hsm, &name, slot)?;
                layout.push((hsm_index, user_index));
                let user_name = users[user_index].user_name.clone();
                let on_hsms = ids_on_hsms.entry(user_name).or_default();
                match on_hsms.last_mut() {
                    Some((last, ids)) if *last == hsm.name => ids.push(slot_id),
                    _ => on_hsms.push((hsm.name.clone(), vec![slot_id])),
                }
            }
        }
        for user in &mut users {
            let on_hsms = ids_on_hsms.remove(&user.user_name).unwrap_or_default();
            self.check_redundant_slots(&user.user_name, &on_hsms)?;
            user.slot_ids = on_hsms
                .into_iter()
                .next()
                .map(|(_, ids)| ids)
                .unwrap_or_default();
        }
        for user in &mut users {
            // Stable: equal priorities keep file order.
            user.hsms.sort_by_key(|h| h.priority);
        }
        Ok(PrimusConfig::new(self.path.to_owned(), hsms, users, layout))
    }

    /// The `primus` group at the root.
    fn primus<'d>(&self, doc: &'d Group) -> Result<&'d Group, ConfigError> {
        match doc.get("primus") {
            Some(Value::Group(group)) => Ok(group),
            Some(other) => Err(self.invalid(
                "primus",
                format!("expected a group, found a {}", other.type_name()),
            )),
            None => Err(self.invalid(
                "primus",
                "missing: primus.cfg needs a `primus: { hsms: { ... }; };` group",
            )),
        }
    }

    /// The HSM of `primus.hsms` at setting `name`.
    fn hsm(&self, name: &str, group: &Group, default_ca: Option<&str>) -> Result<Hsm, ConfigError> {
        let host = self.required_string(group, name, "host")?;
        let port = self.number::<u16>(group, name, "port")?.ok_or_else(|| {
            self.invalid(&format!("{name}.port"), "missing: every HSM needs a port")
        })?;
        let ca_file = self
            .string(group, name, "ca_file")?
            .or_else(|| default_ca.map(str::to_owned))
            .map(|file| {
                let dir = self.path.parent().unwrap_or(Path::new(""));
                dir.join(file)
            });
        // The vendor's default: 0, the highest priority.
        let priority = self.number::<i64>(group, name, "priority")?.unwrap_or(0);
        // `hsm0` for a group entry, `hsms[0]` for a list entry.
        let short_name = name
            .strip_prefix("primus.hsms.")
            .or_else(|| name.strip_prefix("primus."))
            .unwrap_or(name)
            .to_owned();
        Ok(Hsm {
            name: short_name,
            host,
            port,
            ca_file,
            priority,
        })
    }

    /// Adds the slot `name` of `hsm` to `users`: a new user, one more slot
    /// of a user (the vendor allows one partition in several slots of an HSM,
    /// to parallelize access), or one more redundant HSM of a user.
    fn add_slot(
        &self,
        users: &mut Vec<SlotUser>,
        ids: &mut SlotIds,
        hsm: &Hsm,
        name: &str,
        slot: &Group,
    ) -> Result<(usize, u32), ConfigError> {
        let user_name = self.required_string(slot, name, "user_name")?;
        let slot_id = self.number::<u32>(slot, name, "id")?.ok_or_else(|| {
            self.invalid(&format!("{name}.id"), "missing: every slot needs its id")
        })?;
        let proxy_user = self.string(slot, name, "proxy_user")?;
        // The vendor's rule: the slots of one HSM have distinct ids.
        if let Some((other_user, other_slot)) = ids.get(&slot_id) {
            let problem = if *other_user == user_name {
                format!(
                    "slot id {slot_id} of HSM {} is given to '{user_name}' twice (also in \
                     {other_slot}); give each slot of an HSM its own id",
                    hsm.name
                )
            } else {
                format!(
                    "slot id {slot_id} of HSM {} is given to both '{other_user}' (in {other_slot}) \
                     and '{user_name}'; give each slot of an HSM its own id",
                    hsm.name
                )
            };
            return Err(self.invalid(name, problem));
        }
        ids.insert(slot_id, (user_name.clone(), name.to_owned()));
        let Some(position) = users.iter().position(|u| u.user_name == user_name) else {
            users.push(SlotUser {
                user_name,
                slot_id,
                slot_ids: Vec::new(),
                proxy_user,
                hsms: vec![hsm.clone()],
            });
            return Ok((users.len() - 1, slot_id));
        };
        let user = &mut users[position];
        // Every slot of a user shares its one credential, so one proxy_user.
        if user.proxy_user != proxy_user {
            return Err(self.invalid(
                name,
                format!(
                    "user '{user_name}' is also in a slot of HSM {} with a different proxy_user; \
                     every slot of one user must use the same proxy_user",
                    user.hsms[0].name
                ),
            ));
        }
        if !user.hsms.iter().any(|h| h.name == hsm.name) {
            user.hsms.push(hsm.clone());
        }
        Ok((position, slot_id))
    }

    /// Redundant HSMs of one user serve the same slots, so they must give it
    /// the same slot ids (`on_hsms`: the ids on each HSM, in file order).
    fn check_redundant_slots(
        &self,
        user_name: &str,
        on_hsms: &[(String, Vec<u32>)],
    ) -> Result<(), ConfigError> {
        let Some((first_hsm, first_ids)) = on_hsms.first() else {
            return Ok(());
        };
        let sorted = |ids: &[u32]| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids
        };
        match on_hsms[1..]
            .iter()
            .find(|(_, ids)| sorted(ids) != sorted(first_ids))
        {
            None => Ok(()),
            Some((hsm, ids)) => Err(self.invalid(
                &format!("primus.hsms.{hsm}.slots"),
                format!(
                    "user '{user_name}' has slot ids {ids:?} on HSM {hsm} but {first_ids:?} on \
                     HSM {first_hsm}; redundant HSMs of one user must give it the same slot ids"
                ),
            )),
        }
    }
}

/// The slot ids given so far on one HSM: the user and the setting of each.
type SlotIds = HashMap<u32, (String, String)>;
