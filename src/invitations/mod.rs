//! Invitations: bringing people into a workspace by e-mail.

pub mod service;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{invitation, user};

use crate::access::{Capability, Principal, Role, requires};
use crate::accounts::AuthPayload;
use crate::auth::User;
use crate::context::ContextExt;
use crate::error::{AppError, AppResult};
use crate::members::{AreaAccessInput, Member, WorkroomAccessInput};
use crate::workspaces::Workspace;

/// Where an invitation stands. EXPIRED shows as soon as its time is up.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::InvitationStatus")]
pub enum InvitationStatus {
    /// Sent and still valid.
    Pending,
    /// Used to join.
    Accepted,
    /// Voided for good.
    Revoked,
    /// Its time ran out.
    Expired,
}

/// What happened to one address of an `inviteMembers` call.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InviteOutcome {
    /// An invitation was sent.
    Invited,
    /// The address already belongs to a member.
    AlreadyMember,
    /// A pending invitation exists for the address.
    AlreadyInvited,
    /// Not a valid e-mail address.
    InvalidEmail,
    /// The address belongs to a banned member.
    Banned,
}

/// An invitation to join a workspace.
pub struct Invitation(pub invitation::Model);

/// An invitation for one e-mail address to join a workspace.
#[Object]
impl Invitation {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The invited address, lower-case.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The role given on accepting.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// The custom role given on accepting, if any.
    async fn custom_role_id(&self) -> Option<ID> {
        self.0.custom_role_id.clone().map(ID)
    }

    /// Where it stands; EXPIRED as soon as `expiresAt` has passed.
    async fn status(&self) -> InvitationStatus {
        service::status(&self.0, Utc::now()).into()
    }

    /// When the link stops working; `resendInvitation` sets a new one.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who sent it; null once that account is gone.
    async fn invited_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = &self.0.invited_by else {
            return Ok(None);
        };
        Ok(user::Person::find(ctx.db(), id).await?.map(User))
    }
}

/// What the link shows before anyone signs in.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { InvitationPreview: { merge: true } }`).
#[derive(SimpleObject)]
pub struct InvitationPreview {
    /// The name of the workspace it invites to.
    pub workspace_name: String,
    /// The invited address; only an account with it can accept.
    pub email: String,
    /// The role given on accepting.
    pub role: Role,
    /// Where it stands; only a PENDING invitation can be accepted.
    pub status: InvitationStatus,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether an account with this e-mail exists (sign in to accept) or
    /// not (give a name and a password to accept).
    pub account_exists: bool,
}

/// What happened to one address of an invitation batch.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { InviteResult: { merge: true } }`).
#[derive(SimpleObject)]
pub struct InviteResult {
    /// The address as given (trimmed), or as normalized when valid.
    pub email: String,
    /// What happened to this address.
    pub outcome: InviteOutcome,
    /// The new invitation, or the pending one for ALREADY_INVITED.
    pub invitation: Option<Invitation>,
}

/// One result per address given, in the order given.
#[derive(SimpleObject)]
pub struct InviteMembersPayload {
    /// One per distinct address, in the order given; a duplicate is reported once.
    pub results: Vec<InviteResult>,
}

/// Addresses to invite to a workspace, and what they get on joining.
#[derive(InputObject)]
pub struct InviteMembersInput {
    /// The workspace's id.
    pub workspace_id: ID,
    /// Addresses; an element may hold several separated by commas, semicolons
    /// or line breaks. At most 100 in all.
    pub emails: Vec<String>,
    /// MEMBER when absent.
    pub role: Option<Role>,
    /// A custom role to give instead (its base role applies).
    pub role_id: Option<ID>,
    /// Area overrides applied on accepting.
    pub areas: Option<Vec<AreaAccessInput>>,
    /// Workroom access applied on accepting. True: every workroom; false:
    /// only `workrooms`.
    pub all_workrooms: Option<bool>,
    /// Workrooms and levels applied on accepting (at most 500); listing them
    /// without `allWorkrooms` means only these.
    pub workrooms: Option<Vec<WorkroomAccessInput>>,
}

/// The token from an invitation link; a new person also gives a name and password.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The token at the end of the invitation link (`…/invite/<token>`).
    pub token: String,
    /// For a new account.
    pub name: Option<String>,
    /// For a new account.
    pub password: Option<String>,
}

/// The membership made, and a session when the invitation made the account.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The workspace joined.
    pub workspace: Workspace,
    /// The new membership.
    pub member: Member,
    /// A session, when a new account was made.
    pub session: Option<AuthPayload>,
}

#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// Previews an invitation by the token of its link; no sign-in needed.
    async fn invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The token at the end of the invitation link (`…/invite/<token>`); NOT_FOUND when it matches no invitation."
        )]
        token: String,
    ) -> AppResult<Option<InvitationPreview>> {
        service::preview(ctx.db(), &token).await.map(Some)
    }
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites one or many addresses; each gets its own outcome. A batch
    /// that does not fit the plan's seats is refused whole.
    #[graphql(directive = requires::apply(Capability::InviteMembers))]
    async fn invite_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id, the addresses and what they get on joining.")]
        input: InviteMembersInput,
    ) -> AppResult<InviteMembersPayload> {
        service::invite(ctx.state(), &ctx.caller().await?, input).await
    }

    /// Sends a fresh link with a fresh expiry; the old link stops working.
    #[graphql(directive = requires::apply(Capability::ManageInvitations))]
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The id of a pending or expired invitation; an accepted or revoked one is CONFLICT."
        )]
        id: ID,
    ) -> AppResult<Invitation> {
        service::resend(ctx.state(), &ctx.caller().await?, &id)
            .await
            .map(Invitation)
    }

    /// Voids an invitation for good.
    #[graphql(directive = requires::apply(Capability::ManageInvitations))]
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The invitation's id; an accepted one is CONFLICT, a revoked one is returned unchanged."
        )]
        id: ID,
    ) -> AppResult<Invitation> {
        service::revoke(ctx.state(), &ctx.caller().await?, &id)
            .await
            .map(Invitation)
    }

    /// Joins the workspace of an invitation: signed in with the invited
    /// address, or as a new account with a name and a password.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link's token, and a name and a password for a new account.")]
        input: AcceptInvitationInput,
    ) -> AppResult<AcceptInvitationPayload> {
        // A signed-in person joins as themselves; no API key joins anything.
        let presented = ctx
            .data_opt::<crate::auth::Identity>()
            .is_some_and(|i| i.principal.is_some() || i.key_secret.is_some());
        let user_id = match ctx.caller().await {
            Ok(Principal::Person { user_id }) => Some(user_id),
            Ok(_) => return Err(AppError::Forbidden("only a person accepts invitations")),
            // A credential that fails is an error, never anonymous.
            Err(err) if presented => return Err(err),
            Err(_) => None,
        };
        service::accept(ctx.state(), user_id.as_deref(), input).await
    }
}
