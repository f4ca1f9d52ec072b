use sea_orm::entity::prelude::*;

/// A prompt's place in a collection.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "prompt_collections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub prompt_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub collection_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
