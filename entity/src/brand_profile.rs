use sea_orm::entity::prelude::*;

/// A workspace's brand profile.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "brand_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: String,
    pub industry: Option<String>,
    pub website: Option<String>,
    /// A JSON array of "#rrggbb" colors.
    pub colors: Json,
    /// A JSON array of voice descriptors.
    pub voice: Json,
    pub audience: Option<String>,
    pub goals: Option<String>,
    pub main_offer: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
