//! The person behind an account, as clients see them.

use async_graphql::{ID, Object};
use entity::user;

/// A person with an account.
pub struct User(pub user::Person);

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self(model.into())
    }
}

impl From<user::Person> for User {
    fn from(person: user::Person) -> Self {
        Self(person)
    }
}

/// A person with an account.
#[Object]
impl User {
    /// Unique across every type.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The sign-in address, lower-case.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The name shown to others.
    async fn name(&self) -> &str {
        &self.0.name
    }
}
