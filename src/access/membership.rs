//! A caller's membership of one workspace, and what it allows.

use entity::enums::MemberStatus;
use entity::{member, workspace};

use super::{Access, Area, Capability, Requirement, role_default};
use crate::error::{AppError, AppResult};

/// The caller's membership, loaded from the database for this request.
#[derive(Clone, Debug)]
pub struct Membership {
    pub workspace: workspace::Model,
    pub member: member::Model,
}

impl Membership {
    pub fn workspace_id(&self) -> &str {
        &self.workspace.id
    }

    pub fn user_id(&self) -> &str {
        &self.member.user_id
    }

    /// Effective access to an area.
    pub fn access(&self, area: Area) -> Access {
        role_default(self.member.role, area)
    }

    pub fn allows(&self, capability: Capability) -> bool {
        if self.member.status != MemberStatus::Active {
            return false;
        }
        match capability.requirement() {
            Requirement::Member => true,
            Requirement::Area(area, level) => self.access(area) >= level,
            Requirement::Role(role) => self.member.role == role,
        }
    }

    /// Fails with FORBIDDEN unless the membership allows the capability, and
    /// with WORKSPACE_DELETED for a write to a deleted workspace.
    pub fn require(&self, capability: Capability) -> AppResult<()> {
        if !self.allows(capability) {
            return Err(AppError::Forbidden("your role does not allow this"));
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
    use entity::enums::Role;
    matches!(viewer.member.role, Role::Owner | Role::Admin)
        || created_by.is_some_and(|author| author == viewer.user_id())
}
