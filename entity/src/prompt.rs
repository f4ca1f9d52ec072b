use sea_orm::entity::prelude::*;

/// A prompt of a workspace's library. Its versions are `prompt_version`s.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "prompts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The row's stable number, set by the database (the search index keys
    /// on it); never set on insert.
    pub seq: i64,
    pub workspace_id: String,
    /// URL-safe, unique in the workspace.
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    /// A JSON array of lower-case tags.
    pub tags: Json,
    /// The highest published version, "1.4.0"; null until one is published.
    pub published_version: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
