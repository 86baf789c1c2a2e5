//! Provider-defined functions (Terraform 1.8+): `provider::NAME::FUNCTION(...)`
//! in configuration. A function is pure: Terraform calls it at validate and
//! plan time, also before (or without) configuring the provider, so it gets
//! no client.

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cty::{from_msgpack, to_msgpack, Type, Value};
use crate::proto::tfplugin6 as pb;
use crate::serde_value::{from_value, to_value};

/// A provider-defined function, registered with
/// [`register`](crate::function::register).
#[async_trait]
pub trait Function: Send + Sync + 'static {
    /// What the function returns, a serde type matching
    /// [`FunctionDefinition::returns`].
    type Return: Serialize + Send + 'static;

    /// The name in `provider::NAME::<name>(...)`.
    fn name(&self) -> &str;

    /// Parameters, return type and documentation.
    fn definition(&self) -> FunctionDefinition;

    /// Computes the result. Read arguments with [`FunctionCall::argument`];
    /// an error about one argument names it with [`FunctionError::argument`].
    async fn call(&self, call: FunctionCall) -> Result<Self::Return, FunctionError>;
}

/// Parameters, return type and documentation of a [`Function`].
#[derive(Clone, Debug)]
pub struct FunctionDefinition {
    pub(crate) parameters: Vec<Parameter>,
    pub(crate) variadic: Option<Parameter>,
    pub(crate) returns: Type,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) deprecation: Option<String>,
}

impl FunctionDefinition {
    /// A function returning a value of type `returns`, with no parameters yet.
    pub fn returns(returns: Type) -> FunctionDefinition {
        FunctionDefinition {
            parameters: Vec::new(),
            variadic: None,
            returns,
            summary: String::new(),
            description: String::new(),
            deprecation: None,
        }
    }

    /// Adds the next positional parameter.
    pub fn parameter(mut self, p: Parameter) -> FunctionDefinition {
        self.parameters.push(p);
        self
    }

    /// Accepts any number of further arguments of `p`'s type.
    pub fn variadic(mut self, p: Parameter) -> FunctionDefinition {
        self.variadic = Some(p);
        self
    }

    /// One line shown by language servers and as the docs' subtitle.
    pub fn summary(mut self, text: impl Into<String>) -> FunctionDefinition {
        self.summary = text.into();
        self
    }

    /// Markdown description (shown in generated docs).
    pub fn markdown_description(mut self, text: impl Into<String>) -> FunctionDefinition {
        self.description = text.into();
        self
    }

    /// Marks the function deprecated; Terraform warns wherever it is called.
    pub fn deprecated(mut self, message: impl Into<String>) -> FunctionDefinition {
        self.deprecation = Some(message.into());
        self
    }

    /// The declaration of argument `index` (a variadic one past the positional ones).
    fn parameter_at(&self, index: usize) -> Option<&Parameter> {
        self.parameters.get(index).or(self.variadic.as_ref())
    }

    pub(crate) fn to_proto(&self) -> pb::Function {
        pb::Function {
            parameters: self.parameters.iter().map(Parameter::to_proto).collect(),
            variadic_parameter: self.variadic.as_ref().map(Parameter::to_proto),
            r#return: Some(pb::function::Return {
                r#type: self.returns.to_json_bytes(),
            }),
            summary: self.summary.clone(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown.into(),
            deprecation_message: self.deprecation.clone().unwrap_or_default(),
        }
    }
}

/// One parameter of a [`Function`].
#[derive(Clone, Debug)]
pub struct Parameter {
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) allow_null: bool,
    pub(crate) allow_unknown: bool,
    pub(crate) description: String,
}

impl Parameter {
    /// A parameter that must be known and not null: Terraform refuses a
    /// null argument itself and returns an unknown result for an unknown
    /// one without calling the provider.
    pub fn new(name: impl Into<String>, ty: Type) -> Parameter {
        Parameter {
            name: name.into(),
            ty,
            allow_null: false,
            allow_unknown: false,
            description: String::new(),
        }
    }

    /// The function receives null arguments (to answer them itself).
    pub fn allow_null(mut self) -> Parameter {
        self.allow_null = true;
        self
    }

    /// The function receives unknown values, also nested ones.
    pub fn allow_unknown(mut self) -> Parameter {
        self.allow_unknown = true;
        self
    }

    /// Markdown description (shown in generated docs).
    pub fn markdown_description(mut self, text: impl Into<String>) -> Parameter {
        self.description = text.into();
        self
    }

    fn to_proto(&self) -> pb::function::Parameter {
        pb::function::Parameter {
            name: self.name.clone(),
            r#type: self.ty.to_json_bytes(),
            allow_null_value: self.allow_null,
            allow_unknown_values: self.allow_unknown,
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown.into(),
        }
    }
}

/// The arguments of one call, decoded by their parameters' types.
#[derive(Debug)]
#[non_exhaustive]
pub struct FunctionCall {
    /// One value per argument, variadic ones after the positional ones.
    pub arguments: Vec<Value>,
}

impl FunctionCall {
    /// Argument `index` as `T`; an error names the argument.
    pub fn argument<T: DeserializeOwned>(&self, index: usize) -> Result<T, FunctionError> {
        let value = self
            .arguments
            .get(index)
            .ok_or_else(|| FunctionError::new(format!("argument {} is missing", index + 1)))?;
        from_value(value).map_err(|e| {
            FunctionError::argument(index, format!("argument {} is invalid: {e}", index + 1))
        })
    }
}

/// Why a call failed. Terraform shows `text` at the call, pointing at the
/// argument when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    text: String,
    argument: Option<usize>,
}

impl FunctionError {
    /// A failure of the call as a whole.
    pub fn new(text: impl Into<String>) -> FunctionError {
        FunctionError {
            text: text.into(),
            argument: None,
        }
    }

    /// A failure caused by argument `index` (0-based).
    pub fn argument(index: usize, text: impl Into<String>) -> FunctionError {
        FunctionError {
            text: text.into(),
            argument: Some(index),
        }
    }

    pub(crate) fn to_proto(&self) -> pb::FunctionError {
        pb::FunctionError {
            text: self.text.clone(),
            function_argument: self.argument.and_then(|i| i64::try_from(i).ok()),
        }
    }
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What the server needs from a function, on wire values.
#[async_trait]
pub(crate) trait ErasedFunction: Send + Sync {
    fn name(&self) -> String;
    fn definition(&self) -> &FunctionDefinition;
    async fn call(&self, arguments: &[pb::DynamicValue]) -> Result<Vec<u8>, FunctionError>;
}

/// A registered function, built by [`register`](crate::function::register).
pub struct FunctionEntry(pub(crate) Arc<dyn ErasedFunction>);

/// Registers a function: `vec![function::register(Repeat)]` in
/// [`Provider::functions`](crate::provider::Provider::functions).
pub fn register_function<F: Function>(function: F) -> FunctionEntry {
    let definition = function.definition();
    FunctionEntry(Arc::new(Registered {
        function,
        definition,
    }))
}

struct Registered<F> {
    function: F,
    definition: FunctionDefinition,
}

impl<F: Function> Registered<F> {
    /// Decodes the arguments by their parameters' types, with Terraform's
    /// own checks: the count, and no null where a parameter refuses it.
    fn decode(&self, arguments: &[pb::DynamicValue]) -> Result<Vec<Value>, FunctionError> {
        let def = &self.definition;
        let expected = def.parameters.len();
        if arguments.len() < expected || (def.variadic.is_none() && arguments.len() > expected) {
            return Err(FunctionError::new(format!(
                "{} takes {expected} argument(s), not {}",
                self.function.name(),
                arguments.len()
            )));
        }
        arguments
            .iter()
            .enumerate()
            .map(|(index, dv)| {
                // Present by the count check above.
                let Some(param) = def.parameter_at(index) else {
                    return Err(FunctionError::new("too many arguments"));
                };
                let value = from_msgpack(&dv.msgpack, &param.ty).map_err(|e| {
                    FunctionError::argument(index, format!("{}: invalid value: {e}", param.name))
                })?;
                if value.is_null() && !param.allow_null {
                    return Err(FunctionError::argument(
                        index,
                        format!("{} must not be null", param.name),
                    ));
                }
                Ok(value)
            })
            .collect()
    }

    /// Whether an argument is unknown where its parameter does not accept
    /// that: the result is then unknown too, as Terraform itself decides.
    fn has_unexpected_unknown(&self, arguments: &[Value]) -> bool {
        arguments.iter().enumerate().any(|(index, v)| {
            !v.is_wholly_known()
                && self
                    .definition
                    .parameter_at(index)
                    .is_some_and(|p| !p.allow_unknown)
        })
    }
}

#[async_trait]
impl<F: Function> ErasedFunction for Registered<F> {
    fn name(&self) -> String {
        self.function.name().to_owned()
    }

    fn definition(&self) -> &FunctionDefinition {
        &self.definition
    }

    async fn call(&self, arguments: &[pb::DynamicValue]) -> Result<Vec<u8>, FunctionError> {
        let arguments = self.decode(arguments)?;
        let returns = &self.definition.returns;
        let result = if self.has_unexpected_unknown(&arguments) {
            Value::Unknown
        } else {
            let typed = self.function.call(FunctionCall { arguments }).await?;
            to_value(&typed, returns).map_err(|e| {
                FunctionError::new(format!(
                    "{} returned a value of the wrong type ({e}); this is a provider bug",
                    self.function.name()
                ))
            })?
        };
        to_msgpack(&result, returns).map_err(|e| {
            FunctionError::new(format!(
                "{} returned a value that cannot be encoded ({e}); this is a provider bug",
                self.function.name()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Repeat;

    #[async_trait]
    impl Function for Repeat {
        type Return = String;
        fn name(&self) -> &str {
            "repeat"
        }
        fn definition(&self) -> FunctionDefinition {
            FunctionDefinition::returns(Type::String)
                .parameter(Parameter::new("text", Type::String).allow_null())
                .variadic(Parameter::new("times", Type::Number))
        }
        async fn call(&self, call: FunctionCall) -> Result<String, FunctionError> {
            let text: Option<String> = call.argument(0)?;
            let text = text.ok_or_else(|| FunctionError::argument(0, "text is null"))?;
            let times = call.arguments.len() - 1;
            Ok(text.repeat(times))
        }
    }

    fn arg(v: &Value, ty: &Type) -> pb::DynamicValue {
        pb::DynamicValue {
            msgpack: to_msgpack(v, ty).unwrap(),
            json: Vec::new(),
        }
    }

    async fn call(args: &[pb::DynamicValue]) -> Result<Value, FunctionError> {
        let entry = register_function(Repeat);
        let bytes = entry.0.call(args).await?;
        Ok(from_msgpack(&bytes, &Type::String).unwrap())
    }

    #[tokio::test]
    async fn arguments_are_checked_and_decoded_by_their_parameters() {
        let ab = arg(&Value::from("ab"), &Type::String);
        let one = arg(&Value::from(1), &Type::Number);
        assert_eq!(
            call(&[ab.clone(), one.clone(), one.clone()]).await,
            Ok(Value::from("abab"))
        );
        let null_text = call(&[arg(&Value::Null, &Type::String)]).await.unwrap_err();
        assert_eq!(null_text.to_proto().function_argument, Some(0));
        // The variadic parameter refuses null: the framework answers for it.
        let null_times = call(&[ab.clone(), arg(&Value::Null, &Type::Number)])
            .await
            .unwrap_err();
        assert_eq!(null_times.to_proto().function_argument, Some(1));
        assert!(
            null_times.text.contains("times must not be null"),
            "{null_times}"
        );
        let unknown = call(&[ab, arg(&Value::Unknown, &Type::Number)]).await;
        assert_eq!(unknown, Ok(Value::Unknown));
        let none = call(&[]).await.unwrap_err();
        assert_eq!(none.to_proto().function_argument, None);
        assert!(none.text.contains("takes 1 argument(s), not 0"), "{none}");
    }
}
