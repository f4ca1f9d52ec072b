//! Memberships: who belongs to a workspace, with which role, and what each
//! member may reach.

pub mod service;

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{member, user};

use crate::access::{self, Access, Area, Role};
use crate::auth::User;
use crate::graphql::PageInfo;

/// Whether a member may act.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::MemberStatus")]
pub enum MemberStatus {
    Active,
    Banned,
}

/// A person's place in a workspace.
pub struct Member {
    pub model: member::Model,
    pub user: user::Model,
}

#[Object]
impl Member {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    async fn user(&self) -> User {
        User(self.user.clone())
    }

    async fn role(&self) -> Role {
        self.model.role.into()
    }

    async fn status(&self) -> MemberStatus {
        self.model.status.into()
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.model.joined_at
    }

    /// Effective access per area: the role's defaults.
    async fn access(&self) -> Vec<AreaAccess> {
        Area::ALL
            .into_iter()
            .map(|area| AreaAccess {
                area,
                access: access::role_default(self.model.role, area),
            })
            .collect()
    }
}

/// One area and the access held to it.
#[derive(SimpleObject)]
pub struct AreaAccess {
    pub area: Area,
    pub access: Access,
}

/// A page of members, oldest first.
#[derive(SimpleObject)]
pub struct MemberConnection {
    pub nodes: Vec<Member>,
    pub page_info: PageInfo,
    /// Members in the whole workspace, across pages.
    pub total_count: u64,
}
