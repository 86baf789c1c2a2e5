//! `provider::primus::setup_password_valid(string) -> bool`: the format
//! check the resources make at validation ([`ppin::check_setup_password`]),
//! for variable `validation` blocks. Pure and local: it needs no provider
//! configuration and contacts no HSM.

use secrets_cfg::Password;
use tfplug::{
    async_trait,
    function::{Function, FunctionCall, FunctionDefinition, FunctionError, Parameter},
    value::Type,
};

pub(crate) const NAME: &str = "setup_password_valid";

pub(crate) struct SetupPasswordValid;

#[async_trait]
impl Function for SetupPasswordValid {
    type Return = bool;

    fn name(&self) -> &str {
        NAME
    }

    fn definition(&self) -> FunctionDefinition {
        FunctionDefinition::returns(Type::Bool)
            .summary("Whether a string is a well-formed setup password")
            .markdown_description(
                "True when the argument has the vendor's setup password format: five groups of five `A-Z`/`0-9` \
                 characters joined by `-` (`XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`), the same check \
                 `primus_permanent_secret` makes before anything is sent to the HSM. Meant for a variable's \
                 `validation` block, so a mistyped password fails the plan at the variable. It checks the format \
                 only: whether the HSM accepts the password (and whether it has expired) is known only at apply.",
            )
            .parameter(
                Parameter::new("setup_password", Type::String)
                    // Null is answered here, with a message naming what to pass.
                    .allow_null()
                    .markdown_description("The setup password to check, e.g. `var.setup_password`."),
            )
    }

    async fn call(&self, call: FunctionCall) -> Result<bool, FunctionError> {
        let password: Option<Password> = call.argument(0)?;
        let password = password.ok_or_else(|| {
            FunctionError::argument(
                0,
                "setup_password is null: pass the setup password to check (a variable without a value is null; \
                 give it a value or test it with `var.x != null &&` first)",
            )
        })?;
        Ok(ppin::check_setup_password(&password).is_ok())
    }
}
