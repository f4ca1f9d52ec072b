use sea_orm::entity::prelude::*;

use crate::enums::CreditEntryKind;

/// One row of a workspace's credit ledger.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub workspace_id: String,
    pub kind: CreditEntryKind,
    pub amount: i64,
    pub balance_after: i64,
    /// USER, API_KEY or SYSTEM.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub api_key_id: Option<String>,
    pub run_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
