//! Finding prompts: full text over title, description and tags (FTS5 on
//! SQLite, `tsvector` on PostgreSQL), tags, category, collection and status,
//! one interface over both engines, paged by name.

use entity::prompt;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{PromptSearch, PromptStatus, service};
use crate::access::Membership;
use crate::context::{PageInfo, id_arg};
use crate::error::{AppError, AppResult};

/// Longest search text, and most words of it used.
const TEXT_MAX: usize = 200;
const WORDS_MAX: usize = 8;

/// The words of a search text: runs of letters and digits, lower-cased.
fn words(text: &str) -> AppResult<Vec<String>> {
    let text = crate::text::single_line("search.text", text)?;
    if text.chars().count() > TEXT_MAX {
        return Err(AppError::bad_input(
            "search.text",
            format!("search text has at most {TEXT_MAX} characters"),
        ));
    }
    Ok(text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(WORDS_MAX)
        .map(str::to_lowercase)
        .collect())
}

/// A custom SQL condition with one value, written with `?`; PostgreSQL
/// numbers its placeholders.
fn custom(backend: DbBackend, sql: &'static str, value: String) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(sql.replace('?', "$1"), [value]),
        _ => Expr::cust_with_values(sql, [value]),
    }
}

/// Prompts holding every word (each as a word prefix) in title,
/// description or tags.
fn matches_words(backend: DbBackend, words: &[String]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            let query = words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            custom(backend, "prompts.search @@ to_tsquery('simple', ?)", query)
        }
        _ => {
            let query = words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND ");
            custom(
                backend,
                "prompts.seq IN (SELECT rowid FROM prompt_search WHERE prompt_search MATCH ?)",
                query,
            )
        }
    }
}

/// Prompts carrying this tag.
fn has_tag(backend: DbBackend, tag: &str) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => custom(
            backend,
            "prompts.tags @> CAST(? AS jsonb)",
            serde_json::json!([tag]).to_string(),
        ),
        _ => custom(
            backend,
            "EXISTS (SELECT 1 FROM json_each(prompts.tags) WHERE json_each.value = ?)",
            tag.to_owned(),
        ),
    }
}

/// The condition a search sets, for this viewer.
fn condition(
    backend: DbBackend,
    viewer: &Membership,
    search: PromptSearch,
) -> AppResult<Condition> {
    let mut all = Condition::all().add(prompt::Column::WorkspaceId.eq(viewer.workspace_id()));
    if !service::sees_drafts(viewer) {
        all = all.add(prompt::Column::PublishedVersion.is_not_null());
    }
    all = match search.status {
        None => all.add(prompt::Column::ArchivedAt.is_null()),
        Some(PromptStatus::Draft) => all
            .add(prompt::Column::ArchivedAt.is_null())
            .add(prompt::Column::PublishedVersion.is_null()),
        Some(PromptStatus::Published) => all
            .add(prompt::Column::ArchivedAt.is_null())
            .add(prompt::Column::PublishedVersion.is_not_null()),
        Some(PromptStatus::Archived) => all.add(prompt::Column::ArchivedAt.is_not_null()),
    };
    if let Some(text) = search.text {
        let words = words(&text)?;
        if !words.is_empty() {
            all = all.add(matches_words(backend, &words));
        }
    }
    let tags = search.tags.unwrap_or_default();
    if tags.len() > service::TAGS_MAX {
        return Err(AppError::bad_input(
            "search.tags",
            format!("at most {} tags", service::TAGS_MAX),
        ));
    }
    for tag in tags {
        let tag = crate::text::single_line("search.tags", &tag)?.to_lowercase();
        all = all.add(has_tag(backend, &tag));
    }
    if let Some(category) = search.category {
        all = all.add(
            prompt::Column::Category.eq(crate::text::single_line("search.category", &category)?),
        );
    }
    if let Some(collection) = search.collection_id {
        let collection = id_arg("search.collectionId", &collection)?.to_owned();
        all = all.add(custom(
            backend,
            "prompts.id IN (SELECT prompt_id FROM prompt_collections WHERE collection_id = ?)",
            collection,
        ));
    }
    Ok(all)
}

/// A page of prompts, by name, after the cursor `after` (a name).
pub struct Page {
    pub nodes: Vec<prompt::Model>,
    pub page_info: PageInfo,
    pub total_count: Option<u64>,
}

pub async fn page(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    search: PromptSearch,
    first: u64,
    after: Option<String>,
    count: bool,
) -> AppResult<Page> {
    let condition = condition(db.get_database_backend(), viewer, search)?;
    let total_count = if count {
        Some(
            prompt::Entity::find()
                .filter(condition.clone())
                .count(db)
                .await?,
        )
    } else {
        None
    };
    let mut query = prompt::Entity::find().filter(condition);
    let after_given = after.is_some();
    if let Some(after) = after {
        let name = crate::text::single_line("after", &after)?;
        if !service::is_valid_name(&name) {
            return Err(AppError::bad_input("after", "not a valid prompt cursor"));
        }
        query = query.filter(prompt::Column::Name.gt(name));
    }
    let mut nodes = query
        .order_by_asc(prompt::Column::Name)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = nodes.len() as u64 > first;
    nodes.truncate(first as usize);
    let cursors: Vec<String> = nodes.iter().map(|p| p.name.clone()).collect();
    Ok(Page {
        nodes,
        page_info: PageInfo::of(&cursors, has_next_page, after_given),
        total_count,
    })
}
