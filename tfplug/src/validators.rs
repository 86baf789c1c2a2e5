//! Ready-made [`Validator`]s. Each reports an error naming the attribute
//! and what it accepts.

use crate::cty::Value;
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::schema::Validator;

fn reject(diags: &mut Diagnostics, path: &AttributePath, v: &dyn Validator, found: &str) {
    diags.push(
        Diagnostic::error(
            "Invalid Attribute Value",
            format!("{path} must be {}, got {found}.", v.description()),
        )
        .at(path.clone()),
    );
}

/// Accepts a string of `min..=max` characters.
pub fn string_length(min: usize, max: usize) -> impl Validator {
    StringLength { min, max }
}

struct StringLength {
    min: usize,
    max: usize,
}

impl Validator for StringLength {
    fn description(&self) -> String {
        format!("a string of {} to {} characters", self.min, self.max)
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Value::String(s) = value {
            let n = s.chars().count();
            if n < self.min || n > self.max {
                reject(diags, path, self, &format!("{n} characters"));
            }
        }
    }
}

/// Accepts one of the given strings.
pub fn one_of<I: IntoIterator<Item = S>, S: Into<String>>(allowed: I) -> impl Validator {
    OneOf(allowed.into_iter().map(Into::into).collect())
}

struct OneOf(Vec<String>);

impl Validator for OneOf {
    fn description(&self) -> String {
        format!(
            "one of {}",
            self.0
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Value::String(s) = value {
            if !self.0.contains(s) {
                reject(diags, path, self, &format!("{s:?}"));
            }
        }
    }
}

/// Accepts an integer in `min..=max`.
pub fn int_between(min: i64, max: i64) -> impl Validator {
    IntBetween { min, max }
}

struct IntBetween {
    min: i64,
    max: i64,
}

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!("an integer from {} to {}", self.min, self.max)
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Value::Number(n) = value {
            if !n
                .as_i64()
                .is_some_and(|i| (self.min..=self.max).contains(&i))
            {
                reject(diags, path, self, n.as_str());
            }
        }
    }
}

/// A validator from a description and a check returning `Err(what is wrong)`.
pub fn custom<F>(description: impl Into<String>, check: F) -> impl Validator
where
    F: Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
{
    Custom {
        description: description.into(),
        check,
    }
}

struct Custom<F> {
    description: String,
    check: F,
}

impl<F: Fn(&Value) -> Result<(), String> + Send + Sync> Validator for Custom<F> {
    fn description(&self) -> String {
        self.description.clone()
    }
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Err(found) = (self.check)(value) {
            reject(diags, path, self, &found);
        }
    }
}
