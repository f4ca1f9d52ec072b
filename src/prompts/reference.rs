//! References apps fetch prompts by: `@workspace-slug/prompt-name`,
//! optionally `:1.4.0` (exact) or `:1` / `:1.4` (highest published match).

use chrono::{Timelike, Utc};
use entity::{prompt, prompt_fetch, prompt_version};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::access::{Capability, Membership, Principal};
use crate::error::{AppError, AppResult};
use crate::workspaces::service::{SLUG_MAX, is_valid_slug};

/// Longest reference accepted.
const REFERENCE_MAX: usize = 200;

/// Which published versions a reference asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Selector {
    Highest,
    Major(i32),
    Minor(i32, i32),
    Exact(i32, i32, i32),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Reference {
    pub slug: String,
    pub name: String,
    pub selector: Selector,
}

fn bad(message: &str) -> AppError {
    AppError::bad_input(
        "reference",
        format!(
            "{message}: a reference reads @workspace-slug/prompt-name, optionally :1, :1.4 or :1.4.0"
        ),
    )
}

/// Reads a reference; a malformed one is BAD_USER_INPUT (it names nothing,
/// so refusing it tells nothing).
pub fn parse(raw: &str) -> AppResult<Reference> {
    if raw.len() > REFERENCE_MAX {
        return Err(bad("too long"));
    }
    let rest = raw.strip_prefix('@').ok_or_else(|| bad("no leading @"))?;
    let (slug, rest) = rest.split_once('/').ok_or_else(|| bad("no /"))?;
    let (name, version) = match rest.split_once(':') {
        Some((name, version)) => (name, Some(version)),
        None => (rest, None),
    };
    if !is_valid_slug(slug) || slug.len() > SLUG_MAX {
        return Err(bad("not a workspace slug"));
    }
    if !super::service::is_valid_name(name) {
        return Err(bad("not a prompt name"));
    }
    let selector = match version {
        None => Selector::Highest,
        Some(version) => {
            let parts = version
                .split('.')
                .map(|part| {
                    (!part.is_empty()
                        && part.len() <= 9
                        && part.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| part.parse::<i32>().ok())
                    .flatten()
                })
                .collect::<Option<Vec<i32>>>()
                .ok_or_else(|| bad("not a version"))?;
            match parts[..] {
                [major] => Selector::Major(major),
                [major, minor] => Selector::Minor(major, minor),
                [major, minor, patch] => Selector::Exact(major, minor, patch),
                _ => return Err(bad("not a version")),
            }
        }
    };
    Ok(Reference {
        slug: slug.to_owned(),
        name: name.to_owned(),
        selector,
    })
}

/// What a reference resolves to, for a caller who may read it.
pub struct Resolved {
    pub viewer: Membership,
    pub prompt: prompt::Model,
    pub version: prompt_version::Model,
}

/// The published version a reference names, or None when the workspace,
/// the prompt or a matching published version is missing, or the caller
/// may not read the workspace's prompts: all alike. Counts the resolution.
pub async fn resolve(
    db: &DatabaseConnection,
    caller: &Principal,
    raw: &str,
) -> AppResult<Option<Resolved>> {
    let reference = parse(raw)?;
    let Some(workspace_id) = crate::workspaces::service::id_by_slug(db, &reference.slug).await?
    else {
        return Ok(None);
    };
    let viewer = match crate::access::load::visible(db, &workspace_id, caller).await {
        Ok(viewer) => viewer,
        Err(AppError::NotFound(_) | AppError::WorkspaceDeleted) => return Ok(None),
        Err(other) => return Err(other),
    };
    if viewer.workspace.deleted_at.is_some() || !viewer.allows(Capability::ReadPrompts) {
        return Ok(None);
    }
    let Some(found) = prompt::Entity::find()
        .filter(prompt::Column::WorkspaceId.eq(&workspace_id))
        .filter(prompt::Column::Name.eq(&reference.name))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let mut query = prompt_version::Entity::find()
        .filter(prompt_version::Column::PromptId.eq(&found.id))
        .filter(prompt_version::Column::PublishedAt.is_not_null());
    query = match reference.selector {
        Selector::Highest => query,
        Selector::Major(major) => query.filter(prompt_version::Column::Major.eq(major)),
        Selector::Minor(major, minor) => query
            .filter(prompt_version::Column::Major.eq(major))
            .filter(prompt_version::Column::Minor.eq(minor)),
        Selector::Exact(major, minor, patch) => query
            .filter(prompt_version::Column::Major.eq(major))
            .filter(prompt_version::Column::Minor.eq(minor))
            .filter(prompt_version::Column::Patch.eq(patch)),
    };
    let Some(version) = super::service::highest_first(query).one(db).await? else {
        return Ok(None);
    };
    count_fetch(db, &found).await?;
    Ok(Some(Resolved {
        viewer,
        prompt: found,
        version,
    }))
}

/// Adds one to the prompt's fetches of the current UTC day.
async fn count_fetch(db: &impl ConnectionTrait, found: &prompt::Model) -> AppResult<()> {
    let now = Utc::now();
    let day = now
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let row = prompt_fetch::ActiveModel {
        prompt_id: sea_orm::ActiveValue::Set(found.id.clone()),
        day: sea_orm::ActiveValue::Set(day),
        workspace_id: sea_orm::ActiveValue::Set(found.workspace_id.clone()),
        fetches: sea_orm::ActiveValue::Set(1),
    };
    prompt_fetch::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([prompt_fetch::Column::PromptId, prompt_fetch::Column::Day])
                .value(
                    prompt_fetch::Column::Fetches,
                    Expr::col((prompt_fetch::Entity, prompt_fetch::Column::Fetches)).add(1),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Selector, parse};

    #[test]
    fn reads_each_form() {
        let r = parse("@acme/launch-email:1.4.0").expect("valid");
        assert_eq!((r.slug.as_str(), r.name.as_str()), ("acme", "launch-email"));
        assert_eq!(r.selector, Selector::Exact(1, 4, 0));
        assert_eq!(
            parse("@acme/x1:1.4").expect("valid").selector,
            Selector::Minor(1, 4)
        );
        assert_eq!(
            parse("@acme/x1:2").expect("valid").selector,
            Selector::Major(2)
        );
        assert_eq!(
            parse("@acme/x1").expect("valid").selector,
            Selector::Highest
        );
    }

    #[test]
    fn refuses_malformed_ones() {
        for raw in [
            "acme/x",
            "@acme",
            "@acme/",
            "@ACME/x",
            "@acme/x:",
            "@acme/x:1.",
            "@acme/x:1.2.3.4",
            "@acme/x:a",
            "@acme/x:-1",
            "@acme/x:9999999999",
            "@acme/X y",
        ] {
            assert!(parse(raw).is_err(), "{raw}");
        }
    }
}
