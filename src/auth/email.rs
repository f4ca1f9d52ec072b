//! E-mail addresses: trimmed, lower-cased, and checked for a plausible shape.

use crate::error::{AppError, AppResult};

const MAX_LEN: usize = 254;

/// The canonical form of an address, or BAD_USER_INPUT.
pub fn normalize(raw: &str) -> AppResult<String> {
    let email = crate::text::single_line("email", raw)?.to_lowercase();
    if is_valid(&email) {
        Ok(email)
    } else {
        Err(AppError::bad_input("email", "not a valid e-mail address"))
    }
}

fn is_valid(email: &str) -> bool {
    if email.len() > MAX_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}
