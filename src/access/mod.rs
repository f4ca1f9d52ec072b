//! The permission model: roles, areas, access levels, the policy table and
//! the guard that enforces it. Every decision about who may do what is made
//! here.

mod audience;
mod directive;
mod effective;
mod guard;
pub mod load;
mod membership;
mod policy;
mod principal;
mod redaction;

use async_graphql::Enum;
pub use audience::Audience;
pub use directive::requires;
pub use effective::{
    AreaMap, Effective, WorkroomMap, WorkroomScope, area_map, cap_for_role, to_json, workroom_map,
};
pub use entity::enums::Role as DbRole;
pub use guard::Require;
pub use membership::{
    Membership, can_edit_created_by, can_manage_role, within_own_access, within_reach,
};
pub use policy::{Capability, Requirement};
pub use principal::{KeyGrant, Principal};
pub use redaction::Redaction;

/// A settings area of a workspace.
#[derive(
    Enum,
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Area {
    /// Workspace settings, brand and export profile.
    General,
    /// API keys and provider keys.
    Integrations,
    /// Members, invitations and seats.
    Members,
    /// Workrooms, agents, runs, tasks and prompts.
    Projects,
    /// The plan and the credit pool.
    Billing,
}

impl Area {
    pub const ALL: [Area; 5] = [
        Area::General,
        Area::Integrations,
        Area::Members,
        Area::Projects,
        Area::Billing,
    ];

    /// The area named by `as_str`.
    pub fn parse(name: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|area| area.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Area::General => "GENERAL",
            Area::Integrations => "INTEGRATIONS",
            Area::Members => "MEMBERS",
            Area::Projects => "PROJECTS",
            Area::Billing => "BILLING",
        }
    }
}

/// How far a member reaches into an area: NONE hides it, VIEW reads it,
/// FULL reads and writes it.
#[derive(
    Enum,
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Access {
    /// The area is hidden: its data reads as absent.
    None,
    /// Reads the area.
    View,
    /// Reads and writes the area.
    Full,
}

/// A built-in role.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::enums::Role")]
pub enum Role {
    /// Everything; exactly one per workspace.
    Owner,
    /// Everything but what only the owner does.
    Admin,
    /// Creates and runs work; reads members and settings.
    Member,
    /// Reads workrooms and deliverables; never above VIEW.
    Viewer,
}

/// What each built-in role may do in each area before any per-member scopes.
pub fn role_default(role: DbRole, area: Area) -> Access {
    use Access::*;
    match (role, area) {
        (DbRole::Owner | DbRole::Admin, _) => Full,
        (DbRole::Member, Area::Projects) => Full,
        (DbRole::Member, Area::General | Area::Integrations | Area::Members) => View,
        (DbRole::Member, Area::Billing) => None,
        (DbRole::Viewer, Area::General | Area::Members | Area::Projects) => View,
        (DbRole::Viewer, Area::Integrations | Area::Billing) => None,
    }
}

/// Orders roles by power, so that nobody grants one above their own.
pub fn role_rank(role: DbRole) -> u8 {
    match role {
        DbRole::Owner => 3,
        DbRole::Admin => 2,
        DbRole::Member => 1,
        DbRole::Viewer => 0,
    }
}
