use sea_orm::entity::prelude::*;

/// How often a prompt's references were resolved on one UTC day.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "prompt_fetches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub prompt_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: DateTimeUtc,
    pub workspace_id: String,
    pub fetches: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
