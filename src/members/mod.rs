//! Memberships: who belongs to a workspace, with which role, and what each
//! member may reach; the member lifecycle.

pub mod service;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, SimpleObject};
use entity::{custom_role, member, user, workspace};

use crate::access::{Access, Area, Effective, workroom_map};
use crate::context::{ContextExt, PageInfo};
use crate::error::AppResult;

/// Whether a member may act.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::MemberStatus")]
pub enum MemberStatus {
    /// Acts in the workspace.
    Active,
    /// Can neither act nor be invited again until unbanned.
    Banned,
}

/// A person's place in a workspace.
#[derive(Clone)]
pub struct Member {
    pub model: member::Model,
    pub user: user::Person,
    pub custom_role: Option<custom_role::Model>,
    pub(crate) effective: Effective,
    pub(crate) hidden_navigation: Vec<String>,
}

impl Member {
    pub fn new(
        workspace: &workspace::Model,
        model: member::Model,
        user: user::Person,
        custom_role: Option<custom_role::Model>,
    ) -> Self {
        let effective = service::effective_of(workspace, &model, custom_role.as_ref());
        let hidden_navigation = service::hidden_navigation(workspace, model.role);
        Self {
            model,
            user,
            custom_role,
            effective,
            hidden_navigation,
        }
    }
}

/// One area and the access held to it.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { AreaAccess: { merge: true } }`).
#[derive(SimpleObject, Clone)]
pub struct AreaAccess {
    /// The settings area.
    pub area: Area,
    /// The level held in it.
    pub access: Access,
}

/// One workroom and the access held to it.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { WorkroomAccess: { merge: true } }`).
#[derive(SimpleObject, Clone)]
pub struct WorkroomAccess {
    /// The workroom's id.
    pub workroom_id: ID,
    /// The level held in it.
    pub access: Access,
}

impl WorkroomAccess {
    pub fn list(json: &serde_json::Value) -> Vec<Self> {
        workroom_map(Some(json))
            .into_iter()
            .map(|(id, access)| Self {
                workroom_id: ID(id),
                access,
            })
            .collect()
    }
}

/// A page of members, oldest first.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct MemberConnection {
    /// The members of this page, in joining order.
    pub nodes: Vec<Member>,
    /// Where the page starts and ends; pass `endCursor` as `after` for the next page.
    pub page_info: PageInfo,
    #[graphql(skip)]
    pub workspace_id: String,
}

#[ComplexObject]
impl MemberConnection {
    /// Members in the whole workspace, across pages; counted only when asked
    /// for.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<u64> {
        service::count(ctx.db(), &self.workspace_id).await
    }

    /// The page as Relay edges: each member with its cursor.
    async fn edges(&self) -> Vec<MemberEdge> {
        self.nodes
            .iter()
            .map(|member| MemberEdge {
                cursor: member.model.id.clone(),
                node: member.clone(),
            })
            .collect()
    }
}

/// A member and the cursor to page on from it.
#[derive(SimpleObject)]
pub struct MemberEdge {
    /// Pass it as `after` to read the members after this one.
    pub cursor: String,
    /// The member.
    pub node: Member,
}

/// The access level of one settings area.
#[derive(InputObject, Clone, Copy)]
pub struct AreaAccessInput {
    /// The settings area; each at most once in a list.
    pub area: Area,
    /// The level to give; never above the caller's own (FORBIDDEN).
    pub access: Access,
}

/// The access level of one workroom.
#[derive(InputObject, Clone)]
pub struct WorkroomAccessInput {
    /// A workroom of the same workspace (NOT_FOUND otherwise); each at most once in a list.
    pub workroom_id: ID,
    /// The level to give; never above the caller's own there (FORBIDDEN).
    pub access: Access,
}

/// Absent fields stay as they are; `areas: []` drops every override.
#[derive(InputObject)]
pub struct SetMemberAccessInput {
    /// The member's id.
    pub member_id: ID,
    /// Overrides of the role's defaults.
    pub areas: Option<Vec<AreaAccessInput>>,
    /// True: every workroom; false: only `workrooms`.
    pub all_workrooms: Option<bool>,
    /// The member's workrooms and levels, replacing its list (at most 500);
    /// listing them without `allWorkrooms` means only these.
    pub workrooms: Option<Vec<WorkroomAccessInput>>,
}
