//! A caller's membership of one workspace, and what it allows.

use entity::{custom_role, member, workspace};

use super::{
    Access, Area, Capability, DbRole, Effective, KeyGrant, Principal, Requirement, WorkroomScope,
    role_rank,
};
use crate::error::{AppError, AppResult};

/// What a caller may do in one workspace, loaded for this request: a
/// person's membership, a personal key's owner's membership narrowed by the
/// key's scopes, or a workspace key's grant (an admin's reach, narrowed).
#[derive(Clone, Debug)]
pub struct Membership {
    pub workspace: workspace::Model,
    /// The person's member row; None for a workspace key.
    pub member: Option<member::Model>,
    pub custom_role: Option<custom_role::Model>,
    pub effective: Effective,
    pub principal: Principal,
}

impl Membership {
    /// A person's own membership.
    pub fn new(
        workspace: workspace::Model,
        member: member::Model,
        custom_role: Option<custom_role::Model>,
    ) -> Self {
        let effective = Effective::compute(&workspace, &member, custom_role.as_ref());
        Self {
            principal: Principal::Person {
                user_id: member.user_id.clone(),
            },
            workspace,
            member: Some(member),
            custom_role,
            effective,
        }
    }

    /// A workspace key's reach in its workspace.
    pub fn for_workspace_key(workspace: workspace::Model, key: KeyGrant) -> Self {
        let effective = Effective::admin(&workspace).narrowed(&key.scopes);
        Self {
            workspace,
            member: None,
            custom_role: None,
            effective,
            principal: Principal::Key(key),
        }
    }

    /// The membership as the given principal holds it: a personal key's
    /// owner's membership, narrowed by the key.
    pub fn held_by(mut self, principal: &Principal) -> Self {
        if let Principal::Key(key) = principal {
            self.effective = self.effective.narrowed(&key.scopes);
            self.principal = principal.clone();
        }
        self
    }

    /// The same membership of the workspace as just written.
    pub fn with_workspace(self, workspace: workspace::Model) -> Self {
        let principal = self.principal.clone();
        match self.member {
            Some(member) => Self::new(workspace, member, self.custom_role).held_by(&principal),
            None => match principal {
                Principal::Key(key) => Self::for_workspace_key(workspace, key),
                _ => Self { workspace, ..self },
            },
        }
    }

    pub fn workspace_id(&self) -> &str {
        &self.workspace.id
    }

    /// The person acting: the member, or None for a workspace key.
    pub fn user_id(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.user_id.as_str())
    }

    /// The member's role; a workspace key counts as an admin.
    pub fn role(&self) -> DbRole {
        self.member.as_ref().map_or(DbRole::Admin, |m| m.role)
    }

    /// The member row of a person's membership; FORBIDDEN for a workspace
    /// key, which is no member.
    pub fn own_member(&self) -> AppResult<&member::Model> {
        self.member
            .as_ref()
            .ok_or(AppError::Forbidden("a workspace API key is no member"))
    }

    /// The key acting, if any.
    pub fn key(&self) -> Option<&KeyGrant> {
        self.principal.key()
    }

    /// Effective access to an area.
    pub fn access(&self, area: Area) -> Access {
        self.effective.area(area)
    }

    /// Effective access to one workroom.
    pub fn workroom_access(&self, workroom_id: &str) -> Access {
        self.effective.workroom(workroom_id)
    }

    pub(super) fn meets(&self, capability: Capability, workroom_id: Option<&str>) -> bool {
        if let Some(key) = self.key() {
            let needed = if capability.writes() {
                Access::Full
            } else {
                Access::View
            };
            // Reading the workspace itself, its activity (filtered by area)
            // and its roles needs no particular scope.
            let scoped = capability.requirement() != Requirement::Member;
            if capability.person_only() || (scoped && key.scope(capability.area()) < needed) {
                return false;
            }
        }
        match capability.requirement() {
            Requirement::Member => true,
            Requirement::Area(area, level) => self.access(area) >= level,
            Requirement::Workroom(level) => match workroom_id {
                Some(id) => self.workroom_access(id) >= level,
                None => self.access(Area::Projects) >= level,
            },
            Requirement::Role(role) => role_rank(self.role()) >= role_rank(role),
        }
    }

    pub fn allows(&self, capability: Capability) -> bool {
        self.meets(capability, None)
    }

    /// Fails with FORBIDDEN unless the membership allows the capability, and
    /// with WORKSPACE_DELETED for a write to a deleted workspace.
    pub fn require(&self, capability: Capability) -> AppResult<()> {
        self.check(capability, None)
    }

    /// Like `require`, for a capability on one workroom.
    pub fn require_in_workroom(&self, capability: Capability, workroom_id: &str) -> AppResult<()> {
        self.check(capability, Some(workroom_id))
    }

    fn check(&self, capability: Capability, workroom_id: Option<&str>) -> AppResult<()> {
        if !self.meets(capability, workroom_id) {
            return Err(AppError::Forbidden(match self.key() {
                Some(_) => "this API key does not allow this",
                None => "your role does not allow this",
            }));
        }
        if capability.writes() && self.workspace.deleted_at.is_some() {
            return Err(AppError::WorkspaceDeleted);
        }
        Ok(())
    }
}

/// May the viewer change a thing another member created? Owners and admins
/// edit anything; others edit only what they created themselves.
pub fn can_edit_created_by(viewer: &Membership, created_by: Option<&str>) -> bool {
    matches!(viewer.role(), DbRole::Owner | DbRole::Admin)
        || created_by.is_some_and(|author| Some(author) == viewer.user_id())
}

/// May the actor give `target_role` to someone, or act on a member holding
/// `current_role`? Nobody reaches above their own role, and only the owner
/// touches the owner.
pub fn can_manage_role(actor: &Membership, current_role: DbRole, target_role: DbRole) -> bool {
    let mine = role_rank(actor.role());
    current_role != DbRole::Owner
        && role_rank(current_role) <= mine
        && role_rank(target_role) <= mine
}

/// Does the access someone ends up with stay within what the actor holds?
/// Every area at most the actor's level; every workroom at most the actor's
/// level there; "every workroom" only from an actor who reaches every
/// workroom. Checked on the result, so defaults that an override or a preset
/// leaves in place count too.
pub fn within_reach(actor: &Membership, result: &Effective) -> bool {
    let areas_ok = result
        .areas()
        .all(|(area, level)| level <= actor.access(area));
    let rooms_ok = match result.scope() {
        WorkroomScope::All => matches!(actor.effective.scope(), WorkroomScope::All),
        WorkroomScope::Selected(list) => list
            .iter()
            .all(|(id, level)| *level <= actor.workroom_access(id)),
    };
    areas_ok && rooms_ok
}

/// Does a set of area levels stay within what the actor holds itself?
pub fn within_own_access<'a>(
    actor: &Membership,
    levels: impl IntoIterator<Item = (&'a Area, &'a Access)>,
) -> bool {
    levels
        .into_iter()
        .all(|(area, level)| *level <= actor.access(*area))
}
