//! Custom roles: named presets of area and workroom access, assigned to
//! members like a built-in role.

pub mod service;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::custom_role;

use crate::access::{Area, Capability, Role, area_map, requires, role_default};
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::members::{AreaAccess, AreaAccessInput, WorkroomAccess, WorkroomAccessInput};

/// A named preset of access.
#[derive(Clone)]
pub struct CustomRole(pub custom_role::Model);

/// A named preset of area scopes and workroom access that can be assigned like a built-in role.
#[Object]
impl CustomRole {
    /// Unique across every type.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Unique within the workspace.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The built-in role its holders have: MEMBER or VIEWER.
    async fn base_role(&self) -> Role {
        self.0.base_role.into()
    }

    /// The preset level of each area (the base role's default where unset).
    async fn access(&self) -> Vec<AreaAccess> {
        let preset = area_map(Some(&self.0.area_access));
        Area::ALL
            .into_iter()
            .map(|area| AreaAccess {
                area,
                access: preset
                    .get(&area)
                    .copied()
                    .unwrap_or_else(|| role_default(self.0.base_role, area)),
            })
            .collect()
    }

    /// True: holders reach every workroom at their PROJECTS level; false: only `workrooms`.
    async fn all_workrooms(&self) -> bool {
        self.0.all_workrooms
    }

    /// The preset's workrooms and their levels; they apply while `allWorkrooms` is false.
    async fn workrooms(&self) -> Vec<WorkroomAccess> {
        WorkroomAccess::list(&self.0.workroom_access)
    }

    /// When the role was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new custom role of a workspace.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// The workspace's id.
    pub workspace_id: ID,
    /// 1 to 40 characters, unique within the workspace (CONFLICT when taken).
    pub name: String,
    /// MEMBER (the default) or VIEWER.
    pub base_role: Option<Role>,
    /// Levels that differ from the base role's defaults.
    pub areas: Option<Vec<AreaAccessInput>>,
    /// True (the default): every workroom; false: only `workrooms`.
    pub all_workrooms: Option<bool>,
    /// The preset's workrooms and levels (at most 500); they apply while
    /// `allWorkrooms` is false.
    pub workrooms: Option<Vec<WorkroomAccessInput>>,
}

/// Absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    /// The custom role's id.
    pub id: ID,
    /// A new name, 1 to 40 characters, unique within the workspace (CONFLICT when taken).
    pub name: Option<String>,
    /// Levels that differ from the base role's defaults, replacing the current ones.
    pub areas: Option<Vec<AreaAccessInput>>,
    /// True: every workroom; false: only `workrooms`.
    pub all_workrooms: Option<bool>,
    /// The preset's workrooms and levels (at most 500), replacing the current
    /// ones; they apply while `allWorkrooms` is false.
    pub workrooms: Option<Vec<WorkroomAccessInput>>,
}

#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Defines a custom role (at most 20 per workspace).
    #[graphql(directive = requires::apply(Capability::ManageRoles))]
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id, and the new role's name and preset.")]
        input: CreateRoleInput,
    ) -> AppResult<CustomRole> {
        service::create(ctx.db(), &ctx.caller().await?, input)
            .await
            .map(CustomRole)
    }

    /// Renames a custom role or changes its preset; members holding it get the new access at once.
    #[graphql(directive = requires::apply(Capability::ManageRoles))]
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role's id and the fields to change; absent ones stay.")]
        input: UpdateRoleInput,
    ) -> AppResult<CustomRole> {
        service::update(ctx.db(), &ctx.caller().await?, input)
            .await
            .map(CustomRole)
    }

    /// Deletes a custom role; its holders keep their base role's defaults.
    #[graphql(directive = requires::apply(Capability::ManageRoles))]
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The custom role's id.")] id: ID,
    ) -> AppResult<CustomRole> {
        service::delete(ctx.db(), &ctx.caller().await?, &id)
            .await
            .map(CustomRole)
    }
}
