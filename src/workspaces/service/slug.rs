//! Slugs: what a valid one is, one made from a name, and a free one chosen.

use super::*;

/// Whether a slug has the allowed shape.
pub fn is_valid_slug(slug: &str) -> bool {
    (SLUG_MIN..=SLUG_MAX).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
}

/// A slug made from a name: ASCII letters and digits (common accented letters
/// folded, other letters dropped), words joined by single hyphens.
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if let Some(folded) = fold_accent(c) {
            slug.push_str(folded);
        } else if c.is_alphanumeric() || c == '\'' || c == '\u{2019}' {
            continue;
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(SLUG_MAX);
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.len() < SLUG_MIN {
        "workspace".to_owned()
    } else {
        slug
    }
}

fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
        'æ' => "ae",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'œ' => "oe",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        _ => return None,
    })
}

async fn slug_taken(db: &impl ConnectionTrait, slug: &str) -> AppResult<bool> {
    Ok(workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(slug))
        .one(db)
        .await?
        .is_some())
}

/// The given slug if free (CONFLICT if taken), or a free one derived from the name.
pub(super) async fn choose_slug(
    db: &impl ConnectionTrait,
    given: Option<&str>,
    name: &str,
) -> AppResult<String> {
    if let Some(given) = given {
        let slug = given.trim().to_lowercase();
        if !is_valid_slug(&slug) {
            return Err(AppError::bad_input(
                "slug",
                format!(
                    "a slug has {SLUG_MIN} to {SLUG_MAX} lower-case letters, digits and single hyphens"
                ),
            ));
        }
        if slug_taken(db, &slug).await? {
            return Err(AppError::Conflict("this slug is taken".into()));
        }
        return Ok(slug);
    }
    let base = slug_from_name(name);
    if !slug_taken(db, &base).await? {
        return Ok(base);
    }
    let stem = base[..base.len().min(SLUG_MAX - 9)]
        .trim_end_matches('-')
        .to_owned();
    for _ in 0..5 {
        let candidate = format!("{stem}-{}", &random_token()[..8]);
        if !slug_taken(db, &candidate).await? {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict(
        "could not find a free slug; give one".into(),
    ))
}
