use sea_orm::entity::prelude::*;

/// The last digest of one period sent to a member.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digest_marks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: String,
    /// DAILY or WEEKLY.
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    /// The newest event the digest covered.
    pub last_seq: i64,
    pub sent_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
