//! Who acts: a person, an API key (a workspace's, or a person's narrowed by
//! its scopes), or the system. Every caller is authorized through the
//! `Membership` its principal resolves to in a workspace.

use super::{Access, Area, AreaMap};

/// The caller of one request, resolved and verified.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// A signed-in person (an access token).
    Person { user_id: String },
    /// An API key.
    Key(KeyGrant),
    /// Atrium itself: purges, expiry sweeps.
    System,
}

/// What a verified API key may do.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyGrant {
    pub id: String,
    /// The id part of its secret.
    pub lookup: String,
    pub name: String,
    /// A personal key acts as this person, never above their access.
    pub owner_id: Option<String>,
    /// A workspace key acts in this workspace only, at most as an admin.
    pub workspace_id: Option<String>,
    /// The most it may do, per area; absent areas are NONE.
    pub scopes: AreaMap,
    /// When the presented secret stops working: the key's expiry, or the
    /// end of a rotation's grace for a replaced secret.
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl KeyGrant {
    pub fn scope(&self, area: Area) -> Access {
        self.scopes.get(&area).copied().unwrap_or(Access::None)
    }
}

impl Principal {
    /// The person acting: the signed-in person, or a personal key's owner.
    pub fn person_id(&self) -> Option<&str> {
        match self {
            Principal::Person { user_id } => Some(user_id),
            Principal::Key(key) => key.owner_id.as_deref(),
            Principal::System => None,
        }
    }

    pub fn key(&self) -> Option<&KeyGrant> {
        match self {
            Principal::Key(key) => Some(key),
            _ => None,
        }
    }

    /// As recorded on activity: `USER`, `API_KEY` or `SYSTEM`.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Person { .. } => "USER",
            Principal::Key(_) => "API_KEY",
            Principal::System => "SYSTEM",
        }
    }
}
