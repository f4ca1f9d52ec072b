use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What others see of an account: read without its password hash.
#[derive(Clone, Debug, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "Entity")]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
}

impl From<Model> for Person {
    fn from(model: Model) -> Self {
        Self {
            id: model.id,
            email: model.email,
            name: model.name,
        }
    }
}

impl Person {
    /// One account as others see it.
    pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id)
            .into_partial_model::<Self>()
            .one(db)
            .await
    }

    /// Accounts by id, in one statement; none asked, none read.
    pub async fn by_id(
        db: &impl ConnectionTrait,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<std::collections::HashMap<String, Self>, DbErr> {
        let ids: Vec<String> = ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(Entity::find()
            .filter(Column::Id.is_in(ids))
            .into_partial_model::<Self>()
            .all(db)
            .await?
            .into_iter()
            .map(|person| (person.id.clone(), person))
            .collect())
    }
}
