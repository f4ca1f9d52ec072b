use sea_orm::entity::prelude::*;

/// An API key: a workspace's (`workspace_id`) or a person's (`owner_id`).
/// Only hashes of its secrets are kept.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The id part of the secret, by which a presented secret is found.
    #[sea_orm(unique)]
    pub lookup: String,
    pub workspace_id: Option<String>,
    pub owner_id: Option<String>,
    pub created_by: Option<String>,
    pub name: String,
    /// `live` or `test`.
    pub environment: String,
    pub prefix: String,
    pub secret_hash: String,
    /// The secret a rotation replaced, valid until `grace_ends_at`.
    pub previous_hash: Option<String>,
    pub grace_ends_at: Option<DateTimeUtc>,
    /// `{"AREA": "LEVEL", …}`: the most the key may do.
    pub scopes: Json,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
