//! Checks on free text from clients. Every text is NFC-normalised. A
//! single-line text (names, titles, slugs, e-mails, ids, cursors) is trimmed
//! and carries no control character at all; a multi-line text
//! (descriptions) may carry line feeds and tabs, and no other control
//! character. A NUL or any other control character is refused at the
//! boundary for every string argument (see `graphql::input`).

use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, AppResult};

/// Whether a character may stand in a multi-line text.
pub fn allowed_in_multi_line(c: char) -> bool {
    !c.is_control() || c == '\n' || c == '\t'
}

/// The trimmed, NFC-normalised form of a single-line text, or BAD_USER_INPUT
/// when it carries a control character (CR and LF included).
pub fn single_line(field: &'static str, raw: &str) -> AppResult<String> {
    if raw.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be one line without control characters"),
        ));
    }
    Ok(raw.trim().nfc().collect())
}

/// A required single-line text: 1 to `max` characters.
pub fn required(field: &'static str, raw: &str, max: usize) -> AppResult<String> {
    let value = single_line(field, raw)?;
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} has 1 to {max} characters"),
        ));
    }
    Ok(value)
}

/// An optional single-line text: at most `max` characters; empty clears it.
pub fn optional(field: &'static str, raw: &str, max: usize) -> AppResult<Option<String>> {
    let value = single_line(field, raw)?;
    bounded(field, value, max)
}

/// An optional multi-line text: line feeds and tabs are kept, surrounding
/// white space is trimmed; at most `max` characters; empty clears it.
pub fn multi_line(field: &'static str, raw: &str, max: usize) -> AppResult<Option<String>> {
    if !raw.chars().all(allowed_in_multi_line) {
        return Err(AppError::bad_input(
            field,
            format!("{field} may hold line feeds and tabs, and no other control character"),
        ));
    }
    let value: String = raw.trim().nfc().collect();
    bounded(field, value, max)
}

/// Longest web address.
pub const WEBSITE_MAX: usize = 2048;

/// An optional web address: `http://` or `https://`, at most 2,048
/// characters; empty clears it.
pub fn website(field: &'static str, raw: &str) -> AppResult<Option<String>> {
    let value = optional(field, raw, WEBSITE_MAX)?;
    if value
        .as_deref()
        .is_some_and(|v| !(v.starts_with("https://") || v.starts_with("http://")))
    {
        return Err(AppError::bad_input(
            field,
            "a website starts with http:// or https://",
        ));
    }
    Ok(value)
}

fn bounded(field: &'static str, value: String, max: usize) -> AppResult<Option<String>> {
    if value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} has at most {max} characters"),
        ));
    }
    Ok((!value.is_empty()).then_some(value))
}

/// The longest start of `text` that fits in `max` bytes without splitting a
/// character.
pub fn prefix_within(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
