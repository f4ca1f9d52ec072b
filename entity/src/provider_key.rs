use sea_orm::entity::prelude::*;

/// A workspace's own model provider key, sealed; never returned.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: String,
    pub provider: String,
    /// Nonce and ciphertext, base64.
    pub sealed: String,
    pub last4: String,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKey")
            .field("workspace_id", &self.workspace_id)
            .field("provider", &self.provider)
            .field("last4", &self.last4)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
