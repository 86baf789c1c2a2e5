//! What the plan modification of the secret resources shares: a create or
//! rotation is checked as the apply checks it before contacting the HSM,
//! without contacting it. [`PlanCheck::open`] decides whether there is
//! anything to check; its methods turn what ppin finds into the plan's
//! errors and warnings.

use std::sync::Arc;

use ppin::{Ppin, PpinError, PpinErrorKind};
use secrets_cfg::EntryKind;
use serde::de::DeserializeOwned;
use tfplug::diag::{AttributePath, Diagnostic, Diagnostics};
use tfplug::resource::{ModifyPlanRequest, Plan};
use tfplug::value::from_value;

use crate::client::{config_failure, Client};
use crate::diagnostics::{fail, plan_warning};
use crate::host::{HostConfig, OnHost};

/// A planned change of one resource, with what checking it needs.
pub(crate) struct PlanCheck<'c, S> {
    client: &'c Client,
    /// The ppin door of the resource's host, with a readable `primus.cfg`.
    pub(crate) ppin: Arc<Ppin>,
    /// That host (`None`: this machine).
    host: Option<HostConfig>,
    /// The planned state, every attribute the check looks at known.
    pub(crate) planned: S,
    resource_type: &'static str,
    warnings: Vec<Diagnostic>,
}

impl<'c, S: DeserializeOwned + OnHost> PlanCheck<'c, S> {
    /// The check of `req`'s plan; `Ok(None)` when there is nothing to
    /// check: before the provider is configured, while an attribute of the
    /// plan is still unknown (set from another resource), or while
    /// `primus.cfg` cannot be read but a `primus_config` resource planned in
    /// this run writes it. A host that cannot be reached or whose key is
    /// refused, and a `primus.cfg` that cannot be read and that nothing in
    /// this run writes, fail the plan, as they would fail the apply.
    pub(crate) async fn open(
        req: &ModifyPlanRequest<'c, Client>,
        resource_type: &'static str,
    ) -> Result<Option<Self>, Diagnostics> {
        let Some(client) = req.client else {
            return Ok(None);
        };
        let Ok(planned) = from_value::<S>(req.plan.planned()) else {
            return Ok(None);
        };
        let check = PlanCheck::new(client, planned, resource_type).await?;
        match check.ppin.config() {
            Ok(_) => Ok(Some(check)),
            Err(_)
                if client
                    .config_written_this_run(resource_type, check.host.as_ref())
                    .await =>
            {
                Ok(None)
            }
            Err(e) => Err(config_failure(&e, resource_type, check.host.as_ref())),
        }
    }

    /// The check of `planned`, a change of `resource_type` on `client`.
    pub(crate) async fn new(
        client: &'c Client,
        planned: S,
        resource_type: &'static str,
    ) -> Result<Self, Diagnostics> {
        let host = planned.host().cloned();
        Ok(PlanCheck {
            client,
            ppin: client.door(resource_type, host.as_ref()).await?,
            host,
            planned,
            resource_type,
            warnings: Vec::new(),
        })
    }
}

impl<S> PlanCheck<'_, S> {
    /// What a failed local pre-flight check means for the plan. A user
    /// missing from a `primus.cfg` that no `primus_config` resource of this
    /// run rewrites fails it: nothing can add the user before the apply.
    /// Any other finding (the file, its directory, lock or key) is a
    /// warning, as it may be fixed on the host before the apply.
    pub(crate) async fn preflight(
        &mut self,
        checked: Result<(), PpinError>,
        path: Option<AttributePath>,
    ) -> Result<(), Diagnostics> {
        let Err(error) = checked else {
            return Ok(());
        };
        if error.kind() == PpinErrorKind::UserNotInConfig
            && !self
                .client
                .config_written_this_run(self.resource_type, self.host.as_ref())
                .await
        {
            return Err(fail(&error, self.resource_type, path));
        }
        self.warn(&error, path);
        Ok(())
    }

    /// A create that sets no password can only adopt the entry `name` has
    /// in `.secrets.cfg`: fails with `nothing_to_adopt` when the file tells
    /// it holds none; a file that cannot be read is a warning, and an entry
    /// known only to the vendor's ppin is left to the apply. Reads the entry
    /// names only; contacts no HSM.
    pub(crate) async fn adoptable(
        &mut self,
        kind: EntryKind,
        name: &str,
        path: Option<AttributePath>,
        nothing_to_adopt: impl FnOnce(&Ppin) -> Diagnostics,
    ) -> Result<(), Diagnostics> {
        match self.ppin.stored_locally(kind, name).await {
            Ok(Some(false)) => Err(nothing_to_adopt(&self.ppin)),
            Ok(_) => Ok(()),
            Err(e) => {
                self.warn(&e, path);
                Ok(())
            }
        }
    }

    /// Shows `error` as a warning of the plan, in the words of the apply error.
    fn warn(&mut self, error: &PpinError, path: Option<AttributePath>) {
        self.warnings
            .push(plan_warning(error, self.resource_type, path));
    }

    /// The warnings so far.
    #[cfg(test)]
    pub(crate) fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// `plan` with the warnings of this check.
    pub(crate) fn into_plan(self, mut plan: Plan) -> Plan {
        for warning in self.warnings {
            plan.warn(warning);
        }
        plan
    }
}
