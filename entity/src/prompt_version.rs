use sea_orm::entity::prelude::*;

/// One version of a prompt: the open draft (no number, not published) or a
/// published, immutable one.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "prompt_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub prompt_id: String,
    pub major: Option<i32>,
    pub minor: Option<i32>,
    pub patch: Option<i32>,
    pub body: String,
    /// A JSON array of the placeholder names in the body, in order.
    pub variables: Json,
    pub notes: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
