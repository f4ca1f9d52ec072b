//! Every kind of activity event, each with its name, the area whose VIEW a
//! reader needs, and the kind of thing it happens to — declared once.

use crate::access::Area;

macro_rules! actions {
    ($($variant:ident => $name:literal, $area:ident, $target:literal;)*) => {
        /// What happened.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// As stored and shown: `area.verb`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// The area whose VIEW a reader needs.
            pub fn area(self) -> Area {
                match self {
                    $(Action::$variant => Area::$area,)*
                }
            }

            /// What kind of thing it happens to.
            pub fn target_type(self) -> &'static str {
                match self {
                    $(Action::$variant => $target,)*
                }
            }
        }
    };
}

actions! {
    WorkspaceCreated => "workspace.created", General, "workspace";
    WorkspaceUpdated => "workspace.updated", General, "workspace";
    WorkspacePlanChanged => "workspace.plan_changed", Billing, "workspace";
    WorkspaceDeleted => "workspace.deleted", General, "workspace";
    WorkspaceRestored => "workspace.restored", General, "workspace";
    WorkspaceOwnershipTransferred => "workspace.ownership_transferred", General, "workspace";
    WorkspaceBillingSettingChanged => "workspace.billing_setting_changed", General, "workspace";
    WorkspaceNavigationChanged => "workspace.navigation_changed", General, "workspace";
    WorkspaceModeChanged => "workspace.mode_changed", General, "workspace";
    WorkspaceImageChanged => "workspace.image_changed", General, "workspace";
    MemberInvited => "member.invited", Members, "invitation";
    InvitationResent => "invitation.resent", Members, "invitation";
    InvitationRevoked => "invitation.revoked", Members, "invitation";
    InvitationExpired => "invitation.expired", Members, "invitation";
    MemberJoined => "member.joined", Members, "member";
    MemberRoleChanged => "member.role_changed", Members, "member";
    MemberAccessChanged => "member.access_changed", Members, "member";
    MemberRemoved => "member.removed", Members, "member";
    MemberBanned => "member.banned", Members, "member";
    MemberUnbanned => "member.unbanned", Members, "member";
    MemberLeft => "member.left", Members, "member";
    RoleCreated => "role.created", Members, "role";
    RoleUpdated => "role.updated", Members, "role";
    RoleDeleted => "role.deleted", Members, "role";
    WorkroomCreated => "workroom.created", Projects, "workroom";
    WorkroomUpdated => "workroom.updated", Projects, "workroom";
    ApiKeyCreated => "api_key.created", Integrations, "api_key";
    ApiKeyRotated => "api_key.rotated", Integrations, "api_key";
    ApiKeyRevoked => "api_key.revoked", Integrations, "api_key";
    WorkroomArchived => "workroom.archived", Projects, "workroom";
    WorkroomRestored => "workroom.restored", Projects, "workroom";
    AgentCreated => "agent.created", Projects, "agent";
    AgentUpdated => "agent.updated", Projects, "agent";
    AgentArchived => "agent.archived", Projects, "agent";
    RunStarted => "run.started", Projects, "run";
    RunSucceeded => "run.succeeded", Projects, "run";
    RunFailed => "run.failed", Projects, "run";
    RunCancelled => "run.cancelled", Projects, "run";
    CreditsGranted => "credits.granted", Billing, "workspace";
    CreditsLimitSet => "credits.limit_set", Billing, "member";
    ProviderKeySet => "provider_key.set", Integrations, "workspace";
    ProviderKeyCleared => "provider_key.cleared", Integrations, "workspace";
    TaskCreated => "task.created", Projects, "task";
    TaskUpdated => "task.updated", Projects, "task";
    TaskStarted => "task.started", Projects, "task";
    TaskCompleted => "task.completed", Projects, "task";
    TaskRejected => "task.rejected", Projects, "task";
    TaskCancelled => "task.cancelled", Projects, "task";
    ApprovalRequested => "approval.requested", Projects, "approval";
    ApprovalDecided => "approval.decided", Projects, "approval";
    ApprovalApproved => "approval.approved", Projects, "approval";
    ApprovalRejected => "approval.rejected", Projects, "approval";
    ApprovalExpired => "approval.expired", Projects, "approval";
    ExportRequested => "export.requested", Projects, "export";
    ExportDownloaded => "export.downloaded", Projects, "export";
    ExportProfileUpdated => "export_profile.updated", General, "workspace";
    PromptCreated => "prompt.created", Projects, "prompt";
    PromptUpdated => "prompt.updated", Projects, "prompt";
    PromptDraftSaved => "prompt.draft_saved", Projects, "prompt";
    PromptPublished => "prompt.published", Projects, "prompt";
    PromptArchived => "prompt.archived", Projects, "prompt";
    CollectionCreated => "collection.created", Projects, "collection";
    BrandUpdated => "brand.updated", General, "workspace";
    BrandFactAdded => "brand.fact_added", General, "brand_fact";
    BrandFactRemoved => "brand.fact_removed", General, "brand_fact";
    ActivityRetentionChanged => "activity.retention_changed", General, "workspace";
    ActivityPurged => "activity.purged", General, "workspace";
    ActivityExported => "activity.exported", General, "workspace";
    NotificationDefaultsChanged => "notification.defaults_changed", General, "workspace";
}

impl Action {
    /// The action a stored name stands for.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Whether it changes who may see what: a live subscriber's access is
    /// read again before such an event is judged.
    pub fn changes_access(self) -> bool {
        use Action::*;
        matches!(
            self,
            MemberInvited
                | MemberJoined
                | MemberRoleChanged
                | MemberAccessChanged
                | MemberRemoved
                | MemberBanned
                | MemberUnbanned
                | MemberLeft
                | RoleCreated
                | RoleUpdated
                | RoleDeleted
                | WorkspaceOwnershipTransferred
                | WorkspaceDeleted
                | WorkspaceBillingSettingChanged
                // A key's own subscriptions end before they see it.
                | ApiKeyRevoked
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn names_are_unique_and_parse_back() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.name()), Some(*action));
            let (area, verb) = action.name().split_once('.').expect("area.verb");
            assert!(!area.is_empty() && !verb.is_empty());
        }
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }
}
