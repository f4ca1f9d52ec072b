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
    ReadWorkroom,
    UpdateWorkroom,
    ReadActivity,
    InviteMembers,
    ManageInvitations,
    ChangeMemberRole,
    SetMemberAccess,
    RemoveMember,
    BanMember,
    LeaveWorkspace,
    ReadRoles,
    ManageRoles,
    AssignRole,
    ReadNavigation,
    ManageNavigation,
    ManageBillingSetting,
    TransferOwnership,
    DeleteWorkspace,
    RestoreWorkspace,
    ReadApiKeys,
    ManageApiKeys,
    ReadAgents,
    ManageAgents,
    StartRun,
    CancelRun,
    GrantCredits,
    SetCreditLimit,
    ArchiveWorkroom,
    ReadProviderKey,
    ManageProviderKey,
    ManageTasks,
    RequestApproval,
    DecideApproval,
    SetApprovalPolicy,
    RequestExport,
    DownloadExport,
    UpdateExportProfile,
    SetWorkspaceMode,
    ReadPrompts,
    ManagePrompts,
    ManageBrand,
    SetActivityRetention,
    ReadAnalytics,
    ExportActivity,
    ManageNotificationDefaults,
}

/// What a capability needs from the caller's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Any active member of the workspace.
    Member,
    /// At least this access to this area.
    Area(Area, Access),
    /// At least this access to the workroom in question (per-workroom
    /// scopes, else the PROJECTS level).
    Workroom(Access),
    /// A role at least this high (OWNER: the owner alone).
    Role(DbRole),
}

impl Capability {
    pub fn requirement(self) -> Requirement {
        use Capability::*;
        use Requirement::Area as A;
        match self {
            ReadWorkspace | ReadActivity | LeaveWorkspace | ReadRoles | ExportActivity => {
                Requirement::Member
            }
            ReadApiKeys | ReadProviderKey => A(Area::Integrations, Access::View),
            ReadAnalytics => A(Area::General, Access::View),
            ManageApiKeys | ManageProviderKey => A(Area::Integrations, Access::Full),
            UpdateWorkspace => A(Area::General, Access::Full),
            ChangePlan => A(Area::Billing, Access::Full),
            ReadSeats | ReadMembers | ReadInvitations => A(Area::Members, Access::View),
            InviteMembers | ManageInvitations | ChangeMemberRole | SetMemberAccess
            | RemoveMember | BanMember | AssignRole => A(Area::Members, Access::Full),
            ReadCredits => A(Area::Billing, Access::View),
            ReadWorkrooms | ReadAgents | ReadPrompts => A(Area::Projects, Access::View),
            ManageAgents | ManagePrompts => A(Area::Projects, Access::Full),
            StartRun | CancelRun | ArchiveWorkroom | ManageTasks | RequestApproval
            | RequestExport => Requirement::Workroom(Access::Full),
            DecideApproval | DownloadExport => Requirement::Workroom(Access::View),
            SetApprovalPolicy => Requirement::Role(DbRole::Admin),
            UpdateExportProfile | ManageBrand | ManageNotificationDefaults => {
                A(Area::General, Access::Full)
            }
            GrantCredits | SetCreditLimit => A(Area::Billing, Access::Full),
            CreateWorkroom => A(Area::Projects, Access::Full),
            ReadWorkroom => Requirement::Workroom(Access::View),
            UpdateWorkroom => Requirement::Workroom(Access::Full),
            ManageRoles | ReadNavigation | ManageNavigation => Requirement::Role(DbRole::Admin),
            ManageBillingSetting | TransferOwnership | DeleteWorkspace | RestoreWorkspace
            | SetWorkspaceMode | SetActivityRetention => Requirement::Role(DbRole::Owner),
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
            ReadWorkroom => "workroom.read",
            UpdateWorkroom => "workroom.update",
            ReadActivity => "activity.read",
            InviteMembers => "members.invite",
            ManageInvitations => "invitations.manage",
            ChangeMemberRole => "member.change_role",
            SetMemberAccess => "member.set_access",
            RemoveMember => "member.remove",
            BanMember => "member.ban",
            LeaveWorkspace => "workspace.leave",
            ReadRoles => "roles.read",
            ManageRoles => "roles.manage",
            AssignRole => "role.assign",
            ReadNavigation => "navigation.read",
            ManageNavigation => "navigation.manage",
            ManageBillingSetting => "billing.setting",
            TransferOwnership => "workspace.transfer_ownership",
            DeleteWorkspace => "workspace.delete",
            RestoreWorkspace => "workspace.restore",
            ReadApiKeys => "api_keys.read",
            ManageApiKeys => "api_keys.manage",
            ReadAgents => "agents.read",
            ManageAgents => "agents.manage",
            StartRun => "run.start",
            CancelRun => "run.cancel",
            GrantCredits => "credits.grant",
            SetCreditLimit => "credits.set_limit",
            ArchiveWorkroom => "workroom.archive",
            ReadProviderKey => "provider_key.read",
            ManageProviderKey => "provider_key.manage",
            ManageTasks => "tasks.manage",
            RequestApproval => "approval.request",
            DecideApproval => "approval.decide",
            SetApprovalPolicy => "approval.set_policy",
            RequestExport => "export.request",
            DownloadExport => "export.download",
            UpdateExportProfile => "export_profile.update",
            SetWorkspaceMode => "workspace.set_mode",
            ReadPrompts => "prompts.read",
            ManagePrompts => "prompts.manage",
            ManageBrand => "brand.manage",
            SetActivityRetention => "activity.set_retention",
            ReadAnalytics => "analytics.read",
            ExportActivity => "activity.export",
            ManageNotificationDefaults => "notifications.set_defaults",
        }
    }

    /// The area a capability belongs to: an API key needs its scope there
    /// (VIEW to read, FULL to write) on top of the requirement.
    pub fn area(self) -> Area {
        use Capability::*;
        match self {
            ReadWorkspace
            | UpdateWorkspace
            | ReadActivity
            | ReadNavigation
            | ManageNavigation
            | TransferOwnership
            | DeleteWorkspace
            | RestoreWorkspace
            | UpdateExportProfile
            | SetWorkspaceMode
            | ManageBrand
            | SetActivityRetention
            | ReadAnalytics
            | ExportActivity
            | ManageNotificationDefaults => Area::General,
            ReadSeats | ReadMembers | ReadInvitations | InviteMembers | ManageInvitations
            | ChangeMemberRole | SetMemberAccess | RemoveMember | BanMember | AssignRole
            | LeaveWorkspace | ReadRoles | ManageRoles => Area::Members,
            ChangePlan | ReadCredits | ManageBillingSetting | GrantCredits | SetCreditLimit => {
                Area::Billing
            }
            ReadWorkrooms | CreateWorkroom | ReadWorkroom | UpdateWorkroom | ReadAgents
            | ManageAgents | StartRun | CancelRun | ArchiveWorkroom | ManageTasks
            | RequestApproval | DecideApproval | SetApprovalPolicy | RequestExport
            | DownloadExport | ReadPrompts | ManagePrompts => Area::Projects,
            ReadApiKeys | ManageApiKeys | ReadProviderKey | ManageProviderKey => Area::Integrations,
        }
    }

    /// Whether only a person may do it: what only the owner does, leaving,
    /// and minting or ending keys. No API key ever reaches these.
    pub fn person_only(self) -> bool {
        matches!(self.requirement(), Requirement::Role(DbRole::Owner))
            || matches!(self, Capability::LeaveWorkspace | Capability::ManageApiKeys)
    }

    /// Whether the capability changes data, and so is refused on a deleted
    /// workspace (restoring it is how one gets out of that state).
    pub fn writes(self) -> bool {
        use Capability::*;
        match self {
            UpdateWorkspace
            | ChangePlan
            | CreateWorkroom
            | UpdateWorkroom
            | InviteMembers
            | ManageInvitations
            | ChangeMemberRole
            | SetMemberAccess
            | RemoveMember
            | BanMember
            | LeaveWorkspace
            | ManageRoles
            | AssignRole
            | ManageNavigation
            | ManageBillingSetting
            | TransferOwnership
            | DeleteWorkspace
            | ManageApiKeys
            | ManageAgents
            | StartRun
            | CancelRun
            | GrantCredits
            | SetCreditLimit
            | ArchiveWorkroom
            | ManageProviderKey
            | ManageTasks
            | RequestApproval
            | DecideApproval
            | SetApprovalPolicy
            | RequestExport
            | UpdateExportProfile
            | SetWorkspaceMode
            | ManagePrompts
            | ManageBrand
            | SetActivityRetention
            | ManageNotificationDefaults => true,
            ReadWorkspace | ReadSeats | ReadMembers | ReadInvitations | ReadCredits
            | ReadWorkrooms | ReadWorkroom | ReadActivity | ReadRoles | ReadNavigation
            | RestoreWorkspace | ReadApiKeys | ReadAgents | ReadProviderKey | DownloadExport
            | ReadPrompts | ReadAnalytics | ExportActivity => false,
        }
    }
}
