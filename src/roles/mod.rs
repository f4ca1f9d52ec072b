//! Custom roles: named presets of area and workroom access, assigned to
//! members like a built-in role.

pub mod service;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::custom_role;

use crate::access::{Area, Capability, Role, area_map, requires, role_default};
use crate::error::AppResult;
use crate::graphql::ContextExt;
use crate::members::{AreaAccess, AreaAccessInput, WorkroomAccess, WorkroomAccessInput};

/// A named preset of access.
#[derive(Clone)]
pub struct CustomRole(pub custom_role::Model);

/// A named preset of area scopes and workroom access that can be assigned like a built-in role.
#[Object]
impl CustomRole {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

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

    async fn all_workrooms(&self) -> bool {
        self.0.all_workrooms
    }

    async fn workrooms(&self) -> Vec<WorkroomAccess> {
        WorkroomAccess::list(&self.0.workroom_access)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new custom role of a workspace.
#[derive(InputObject)]
pub struct CreateRoleInput {
    pub workspace_id: ID,
    pub name: String,
    /// MEMBER (the default) or VIEWER.
    pub base_role: Option<Role>,
    /// Levels that differ from the base role's defaults.
    pub areas: Option<Vec<AreaAccessInput>>,
    /// True (the default): every workroom; false: only `workrooms`.
    pub all_workrooms: Option<bool>,
    pub workrooms: Option<Vec<WorkroomAccessInput>>,
}

/// Absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub id: ID,
    pub name: Option<String>,
    pub areas: Option<Vec<AreaAccessInput>>,
    pub all_workrooms: Option<bool>,
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
        input: CreateRoleInput,
    ) -> AppResult<CustomRole> {
        service::create(ctx.db(), ctx.user_id()?, input)
            .await
            .map(CustomRole)
    }

    /// Renames a custom role or changes its preset; members holding it get the new access at once.
    #[graphql(directive = requires::apply(Capability::ManageRoles))]
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateRoleInput,
    ) -> AppResult<CustomRole> {
        service::update(ctx.db(), ctx.user_id()?, input)
            .await
            .map(CustomRole)
    }

    /// Deletes a custom role; its holders keep their base role's defaults.
    #[graphql(directive = requires::apply(Capability::ManageRoles))]
    async fn delete_role(&self, ctx: &Context<'_>, id: ID) -> AppResult<CustomRole> {
        service::delete(ctx.db(), ctx.user_id()?, &id)
            .await
            .map(CustomRole)
    }
}
