//! Checks on free text from clients: trimmed, bounded, and named in errors.

use crate::error::{AppError, AppResult};

/// A required text: trimmed, 1 to `max` characters.
pub fn required(field: &'static str, raw: &str, max: usize) -> AppResult<String> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} has 1 to {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An optional text: trimmed, at most `max` characters; empty clears it.
pub fn optional(field: &'static str, raw: &str, max: usize) -> AppResult<Option<String>> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} has at most {max} characters"),
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}
