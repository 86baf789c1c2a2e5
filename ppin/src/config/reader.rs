//! Reading `primus.cfg`: the libconfig tree to a [`PrimusConfig`].

use std::path::Path;

use primus_core::libconfig::{Group, Value};

use super::{ConfigError, Hsm, HsmSlot, PrimusConfig, SlotUser};

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
            Some(Value::Int(n)) => Some(*n),
            Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
            Some(_) => None,
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
        for (position, (name, group)) in self
            .entries("primus.hsms", hsms_value)?
            .into_iter()
            .enumerate()
        {
            hsms.push(self.hsm(position, &name, group, default_ca.as_deref())?);
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
        let mut hsm_slots = Vec::new();
        for (hsm, slots) in hsms.iter().zip(slots_of_hsm) {
            for (name, slot) in slots {
                let user = self.add_slot(&mut users, hsm, &name, slot)?;
                hsm_slots.push(HsmSlot {
                    hsm: hsm.name.clone(),
                    slot: short_name(&name).to_owned(),
                    user_name: user.user_name.clone(),
                    slot_id: user.slot_id,
                });
            }
        }
        for user in &mut users {
            // Stable: equal priorities keep file order.
            user.hsms.sort_by_key(|h| h.priority);
        }
        Ok(PrimusConfig::new(
            self.path.to_owned(),
            hsms,
            users,
            hsm_slots,
        ))
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

    /// The HSM at `position` of `primus.hsms`, setting `name`.
    fn hsm(
        &self,
        position: usize,
        name: &str,
        group: &Group,
        default_ca: Option<&str>,
    ) -> Result<Hsm, ConfigError> {
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
        let priority = self
            .number::<i64>(group, name, "priority")?
            .unwrap_or(position as i64);
        Ok(Hsm {
            name: short_name(name).to_owned(),
            host,
            port,
            ca_file,
            priority,
        })
    }

    /// Adds the slot `name` of `hsm` to `users`: a new user, or one more
    /// redundant HSM of a user already seen. Returns that user.
    fn add_slot<'u>(
        &self,
        users: &'u mut Vec<SlotUser>,
        hsm: &Hsm,
        name: &str,
        slot: &Group,
    ) -> Result<&'u SlotUser, ConfigError> {
        let user_name = self.required_string(slot, name, "user_name")?;
        let slot_id = self.number::<u32>(slot, name, "id")?.ok_or_else(|| {
            self.invalid(&format!("{name}.id"), "missing: every slot needs its id")
        })?;
        let proxy_user = self.string(slot, name, "proxy_user")?;
        let Some(position) = users.iter().position(|u| u.user_name == user_name) else {
            users.push(SlotUser {
                user_name,
                slot_id,
                proxy_user,
                hsms: vec![hsm.clone()],
            });
            return Ok(&users[users.len() - 1]);
        };
        let user = &mut users[position];
        // Redundant HSMs share one credential, so they must describe the same slot.
        if user.hsms.iter().any(|h| h.name == hsm.name) {
            return Err(self.invalid(
                name,
                format!("user '{user_name}' appears twice in this HSM"),
            ));
        }
        if user.slot_id != slot_id || user.proxy_user != proxy_user {
            return Err(self.invalid(
                name,
                format!(
                    "user '{user_name}' is also on HSM {} with a different slot id or proxy_user; \
                     redundant HSMs of one user must use the same id and proxy_user",
                    user.hsms[0].name
                ),
            ));
        }
        user.hsms.push(hsm.clone());
        Ok(user)
    }
}

/// The name a setting goes by in messages and `ppin -t`: `hsm0` for
/// `primus.hsms.hsm0`, `slot0` for `primus.hsms.hsm0.slots.slot0`, and
/// `hsms[0]`/`slots[0]` for list entries.
fn short_name(setting: &str) -> &str {
    setting.rsplit('.').next().unwrap_or(setting)
}
