//! The policy table: every guarded operation of the API is a capability, and
//! each capability needs exactly one thing. The guard and the `@requires`
//! directive on the schema are both produced from `Capability::requirement`.

use super::{Access, Area, DbRole};

/// A guarded operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    ReadWorkspace,
    UpdateWorkspace,
    ChangePlan,
    ReadSeats,
    ReadMembers,
    ReadInvitations,
    ReadCredits,
    ReadWorkrooms,
    CreateWorkroom,
    UpdateWorkroom,
    ReadActivity,
}

/// What a capability needs from the caller's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Any active member of the workspace.
    Member,
    /// At least this access to this area.
    Area(Area, Access),
    /// A member holding this role exactly.
    Role(DbRole),
}

impl Capability {
    pub fn requirement(self) -> Requirement {
        use Capability::*;
        use Requirement::Area as A;
        match self {
            ReadWorkspace | ReadActivity => Requirement::Member,
            UpdateWorkspace => A(Area::General, Access::Full),
            ChangePlan => A(Area::Billing, Access::Full),
            ReadSeats | ReadMembers | ReadInvitations => A(Area::Members, Access::View),
            ReadCredits => A(Area::Billing, Access::View),
            ReadWorkrooms => A(Area::Projects, Access::View),
            CreateWorkroom | UpdateWorkroom => A(Area::Projects, Access::Full),
        }
    }

    /// The name shown in the schema's `@requires(capability: …)`.
    pub fn name(self) -> &'static str {
        use Capability::*;
        match self {
            ReadWorkspace => "workspace.read",
            UpdateWorkspace => "workspace.update",
            ChangePlan => "workspace.change_plan",
            ReadSeats => "seats.read",
            ReadMembers => "members.read",
            ReadInvitations => "invitations.read",
            ReadCredits => "credits.read",
            ReadWorkrooms => "workrooms.read",
            CreateWorkroom => "workroom.create",
            UpdateWorkroom => "workroom.update",
            ReadActivity => "activity.read",
        }
    }

    /// Whether the capability changes data (refused on a deleted workspace).
    pub fn writes(self) -> bool {
        use Capability::*;
        match self {
            UpdateWorkspace | ChangePlan | CreateWorkroom | UpdateWorkroom => true,
            ReadWorkspace | ReadSeats | ReadMembers | ReadInvitations | ReadCredits
            | ReadWorkrooms | ReadActivity => false,
        }
    }
}
