//! Prompt templates: `{{variable}}` placeholders, found and filled in one
//! pass. Filled values are never expanded again.

use serde_json::Value;

use crate::error::{AppError, AppResult};

/// Longest placeholder name.
const NAME_MAX: usize = 64;

/// A piece of a template: literal text or a placeholder's name.
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= NAME_MAX
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The template cut into text and placeholders. `{{ name }}` (spaces
/// allowed inside the braces) is a placeholder when `name` is a letter or
/// `_` followed by letters, digits and `_`; anything else is text.
fn pieces(body: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut text_start = 0;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            break;
        };
        let name = after_open[..close].trim();
        if is_name(name) {
            let at = offset + open;
            if at > text_start {
                out.push(Piece::Text(&body[text_start..at]));
            }
            out.push(Piece::Variable(name));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
            text_start = offset;
        } else {
            offset += open + 1;
            rest = &rest[open + 1..];
        }
    }
    if text_start < body.len() {
        out.push(Piece::Text(&body[text_start..]));
    }
    out
}

/// The placeholder names of a template, each once, in order of first use.
pub fn variables(body: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for piece in pieces(body) {
        if let Piece::Variable(name) = piece
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// The template with every placeholder filled from `values` (a JSON object
/// of strings, numbers or booleans). A placeholder without a value is
/// BAD_USER_INPUT naming it; so is a result longer than `max_bytes`.
pub fn render(body: &str, values: &Value, max_bytes: usize) -> AppResult<String> {
    let Value::Object(values) = values else {
        return Err(AppError::bad_input(
            "variables",
            "variables must be a JSON object of names and values",
        ));
    };
    let mut out = String::with_capacity(body.len().min(max_bytes));
    for piece in pieces(body) {
        let text = match piece {
            Piece::Text(text) => std::borrow::Cow::Borrowed(text),
            Piece::Variable(name) => match values.get(name) {
                Some(Value::String(text)) => std::borrow::Cow::Borrowed(text.as_str()),
                Some(value @ (Value::Number(_) | Value::Bool(_))) => {
                    std::borrow::Cow::Owned(value.to_string())
                }
                Some(_) => {
                    return Err(AppError::bad_input(
                        "variables",
                        format!("variable `{name}` must be a string, a number or a boolean"),
                    ));
                }
                None => {
                    return Err(AppError::bad_input(
                        "variables",
                        format!("variable `{name}` is missing"),
                    ));
                }
            },
        };
        if out.len() + text.len() > max_bytes {
            return Err(AppError::bad_input(
                "variables",
                format!("the rendered prompt would exceed {max_bytes} bytes"),
            ));
        }
        out.push_str(&text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{render, variables};

    #[test]
    fn finds_each_placeholder_once_in_order() {
        let body = "Hi {{ name }}, {{topic}} and {{name}}; {{ not valid }} {{9x}} {{";
        assert_eq!(variables(body), ["name", "topic"]);
    }

    #[test]
    fn fills_in_one_pass_without_re_expanding() {
        let body = "{{a}} then {{b}}; {{{c}}}";
        let out = render(body, &json!({"a": "{{b}}", "b": 2, "c": true}), 1000).expect("renders");
        assert_eq!(out, "{{b}} then 2; {true}");
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = render("{{a}} {{b}}", &json!({"a": "x"}), 1000).expect_err("refused");
        assert!(err.to_string().contains("`b`"), "{err}");
    }

    #[test]
    fn the_result_is_bounded() {
        let body = "{{a}}{{a}}{{a}}";
        assert!(render(body, &json!({"a": "xxxx"}), 11).is_err());
        assert_eq!(
            render(body, &json!({"a": "xxxx"}), 12).expect("fits").len(),
            12
        );
    }
}
