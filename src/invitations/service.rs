//! Invitation rules and writes: parsing addresses, seats, tokens, expiry,
//! resend, revoke and accept.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::enums::{InvitationStatus as Status, MemberStatus, Role as DbRole};
use entity::{activity_event, custom_role, invitation, member, user, workspace};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::{Invitation, InviteMembersInput, InviteMembersPayload, InviteOutcome, InviteResult};
use crate::access::Principal;
use crate::access::{
    Access, Area, Capability, Membership, area_map, can_manage_role, to_json, within_own_access,
};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::auth::email;
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::mail;
use crate::members::service::{
    JoinAs, checked_areas, checked_workrooms, ensure_within_reach, would_be,
};
use crate::state::AppState;
use crate::tokens;

mod accept;
pub use accept::{accept, preview};

pub const MAX_ADDRESSES: usize = 100;

/// The status a client sees: a pending invitation past its expiry is EXPIRED.
pub fn status(invitation: &invitation::Model, now: DateTime<Utc>) -> Status {
    if invitation.status == Status::Pending && invitation.expires_at <= now {
        Status::Expired
    } else {
        invitation.status
    }
}

/// Records the expiry of the workspace's invitations whose time is up: each
/// is marked EXPIRED and logged once as `invitation.expired`. Call it
/// holding the workspace lock.
pub async fn sweep_expired(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<u64> {
    let now = Utc::now();
    let due = invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(workspace_id))
        .filter(invitation::Column::Status.eq(Status::Pending))
        .filter(invitation::Column::ExpiresAt.lte(now))
        .all(db)
        .await?;
    let mut swept = 0;
    for invitation in due {
        let marked = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Status,
                Expr::value(Status::Expired.to_value()),
            )
            .filter(invitation::Column::Id.eq(&invitation.id))
            .filter(invitation::Column::Status.eq(Status::Pending))
            .exec(db)
            .await?;
        if marked.rows_affected == 1 {
            swept += 1;
            record(
                db,
                workspace_id,
                None,
                Action::InvitationExpired,
                &invitation.id,
                Changes::default().field("status", "PENDING", "EXPIRED"),
            )
            .await?;
        }
    }
    Ok(swept)
}

/// Sweeps every workspace with invitations past their expiry.
pub async fn sweep_all(db: &sea_orm::DatabaseConnection) -> AppResult<u64> {
    let due: Vec<String> = invitation::Entity::find()
        .filter(invitation::Column::Status.eq(Status::Pending))
        .filter(invitation::Column::ExpiresAt.lte(Utc::now()))
        .all(db)
        .await?
        .into_iter()
        .map(|i| i.workspace_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut swept = 0;
    for workspace_id in due {
        let txn = begin_write(db).await?;
        crate::access::load::lock_workspace(&txn, &workspace_id).await?;
        swept += sweep_expired(&txn, &workspace_id).await?;
        txn.commit().await?;
    }
    Ok(swept)
}

/// Records an invitation's event: by the actor, or with none by the system
/// (expiry).
async fn record(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    actor: Option<&Membership>,
    action: Action,
    invitation_id: &str,
    changes: Changes,
) -> AppResult<()> {
    let event = match actor {
        Some(actor) => NewEvent::by(actor, action, invitation_id),
        None => NewEvent::of_person(workspace_id, None, action, Some(invitation_id)),
    };
    activity::service::record(db, event.with(changes)).await?;
    Ok(())
}

/// Splits pasted lists: commas, semicolons, whitespace and line breaks.
pub fn split_addresses(given: &[String]) -> AppResult<Vec<String>> {
    let addresses: Vec<String> = given
        .iter()
        .flat_map(|entry| entry.split(|c: char| c == ',' || c == ';' || c.is_whitespace()))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if addresses.is_empty() {
        return Err(AppError::bad_input("emails", "give at least one address"));
    }
    if addresses.len() > MAX_ADDRESSES {
        return Err(AppError::bad_input(
            "emails",
            format!("at most {MAX_ADDRESSES} addresses at once"),
        ));
    }
    Ok(addresses)
}

/// Actions that send an invitation e-mail.
const MAILING_ACTIONS: [Action; 2] = [Action::MemberInvited, Action::InvitationResent];

/// Refuses `count` more invitation e-mails when the workspace has sent its
/// hourly budget. Called with the workspace locked, so concurrent invites
/// cannot both take the last of it.
async fn ensure_mail_budget(
    db: &impl ConnectionTrait,
    state: &AppState,
    workspace_id: &str,
    count: u64,
) -> AppResult<()> {
    if count == 0 {
        return Ok(());
    }
    let since = Utc::now() - chrono::Duration::hours(1);
    let sent = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
        .filter(activity_event::Column::Action.is_in(MAILING_ACTIONS.map(Action::name)))
        .filter(activity_event::Column::CreatedAt.gt(since))
        .count(db)
        .await?;
    if sent + count > state.config.invitation_mails_per_hour {
        return Err(AppError::RateLimited(
            "this workspace has sent as many invitation e-mails as it may this hour; try again later",
        ));
    }
    Ok(())
}

fn link(state: &AppState, token: &str) -> String {
    let base = state.config.public_url.as_deref().unwrap_or("");
    format!("{base}/invite/{token}")
}

async fn queue_mail(
    db: &impl ConnectionTrait,
    state: &AppState,
    workspace: &workspace::Model,
    inviter: &str,
    email: &str,
    token: &str,
    expires_at: DateTime<Utc>,
) -> AppResult<()> {
    let body = format!(
        "{inviter} invited you to join {name} on Atrium.\n\n\
         Accept the invitation here:\n{link}\n\n\
         The link works until {expires} UTC.\n",
        name = workspace.name,
        link = link(state, token),
        expires = expires_at.format("%Y-%m-%d %H:%M"),
    );
    mail::enqueue(
        db,
        email,
        &format!("Join {} on Atrium", workspace.name),
        body,
    )
    .await
}

/// Who the invitation e-mail says invited: the person, or the key's name.
async fn inviter_name(db: &impl ConnectionTrait, actor: &Membership) -> AppResult<String> {
    match (actor.user_id(), actor.key()) {
        (Some(user_id), _) => Ok(user::Entity::find_by_id(user_id)
            .one(db)
            .await?
            .map_or_else(|| "Someone".to_owned(), |u| u.name)),
        (None, Some(key)) => Ok(key.name.clone()),
        (None, None) => Ok("Someone".to_owned()),
    }
}

pub async fn invite(
    state: &AppState,
    caller: &Principal,
    input: InviteMembersInput,
) -> AppResult<InviteMembersPayload> {
    let workspace_id = id_arg("workspaceId", &input.workspace_id)?;
    let addresses = split_addresses(&input.emails)?;
    let db = &state.db;
    let txn = begin_write(db).await?;
    let actor = crate::access::load::locked(&txn, workspace_id, caller).await?;
    actor.require(Capability::InviteMembers)?;

    // What the invitation gives: a built-in role or a custom one, and scopes.
    let custom = match &input.role_id {
        Some(id) => Some(
            custom_role::Entity::find_by_id(id_arg("roleId", id)?)
                .one(&txn)
                .await?
                .filter(|r| r.workspace_id == workspace_id)
                .ok_or(AppError::NotFound("role"))?,
        ),
        None => None,
    };
    let role: DbRole = match (&custom, input.role) {
        (Some(custom), _) => custom.base_role,
        (None, Some(role)) => role.into(),
        (None, None) => DbRole::Member,
    };
    if role == DbRole::Owner {
        return Err(AppError::bad_input(
            "role",
            "OWNER is never invited; transfer ownership",
        ));
    }
    if !can_manage_role(&actor, role, role) {
        return Err(AppError::Forbidden(
            "nobody invites at a role above their own",
        ));
    }
    if let Some(custom) = &custom
        && !within_own_access(&actor, &area_map(Some(&custom.area_access)))
    {
        return Err(AppError::Forbidden("this role grants more than you hold"));
    }
    let areas = match &input.areas {
        Some(areas) => {
            let pairs: Vec<(Area, Access)> = areas.iter().map(|a| (a.area, a.access)).collect();
            Some(to_json(&checked_areas(&actor, &pairs)?))
        }
        None => None,
    };
    let workrooms = match &input.workrooms {
        Some(list) => {
            let pairs: Vec<(String, Access)> = list
                .iter()
                .map(|w| (w.workroom_id.to_string(), w.access))
                .collect();
            Some(to_json(&checked_workrooms(&txn, &actor, &pairs).await?))
        }
        None => None,
    };

    let all_workrooms = input.all_workrooms.or(workrooms.as_ref().map(|_| false));
    let grant = JoinAs {
        role,
        custom_role_id: custom.as_ref().map(|c| c.id.clone()),
        area_access: areas.clone(),
        all_workrooms,
        workroom_access: workrooms.clone(),
    };
    ensure_within_reach(&txn, &actor, &would_be(workspace_id, &grant)).await?;

    sweep_expired(&txn, workspace_id).await?;
    let mut results = Vec::new();
    let mut to_invite = Vec::new();
    let mut seen = HashSet::new();
    for raw in addresses {
        let Ok(address) = email::normalize(&raw) else {
            if seen.insert(raw.to_lowercase()) {
                results.push(InviteResult {
                    email: raw,
                    outcome: InviteOutcome::InvalidEmail,
                    invitation: None,
                });
            }
            continue;
        };
        if !seen.insert(address.clone()) {
            continue;
        }
        if let Some(existing) = member_by_email(&txn, workspace_id, &address).await? {
            let outcome = if existing.status == MemberStatus::Banned {
                InviteOutcome::Banned
            } else {
                InviteOutcome::AlreadyMember
            };
            results.push(InviteResult {
                email: address,
                outcome,
                invitation: None,
            });
            continue;
        }
        let pending = invitation::Entity::find()
            .filter(invitation::Column::WorkspaceId.eq(workspace_id))
            .filter(invitation::Column::Email.eq(&address))
            .filter(invitation::Column::Status.eq(Status::Pending))
            .one(&txn)
            .await?;
        if let Some(pending) = pending {
            results.push(InviteResult {
                email: address,
                outcome: InviteOutcome::AlreadyInvited,
                invitation: Some(Invitation(pending)),
            });
            continue;
        }
        results.push(InviteResult {
            email: address.clone(),
            outcome: InviteOutcome::Invited,
            invitation: None,
        });
        to_invite.push((results.len() - 1, address));
    }

    crate::billing::ensure_seats(&txn, &actor.workspace, to_invite.len() as u64, 0).await?;
    ensure_mail_budget(&txn, state, workspace_id, to_invite.len() as u64).await?;
    let inviter = inviter_name(&txn, &actor).await?;
    let now = Utc::now();
    let expires_at = now + state.config.invitation_ttl;
    for (index, address) in to_invite {
        let token = tokens::random_token();
        let row = invitation::ActiveModel {
            id: Set(tokens::new_id()),
            workspace_id: Set(workspace_id.to_owned()),
            email: Set(address.clone()),
            role: Set(role),
            custom_role_id: Set(custom.as_ref().map(|c| c.id.clone())),
            area_access: Set(areas.clone()),
            all_workrooms: Set(all_workrooms),
            workroom_access: Set(workrooms.clone()),
            token_hash: Set(tokens::hash_token(&token)),
            status: Set(Status::Pending),
            expires_at: Set(expires_at),
            created_at: Set(now),
            invited_by: Set(actor.user_id().map(str::to_owned)),
            accepted_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(&txn)
        .await?;
        queue_mail(
            &txn,
            state,
            &actor.workspace,
            &inviter,
            &address,
            &token,
            expires_at,
        )
        .await?;
        record(
            &txn,
            workspace_id,
            Some(&actor),
            Action::MemberInvited,
            &row.id,
            Changes::default()
                .created("email", address)
                .created("role", role.to_value()),
        )
        .await?;
        results[index].invitation = Some(Invitation(row));
    }
    txn.commit().await?;
    state.mail.wake();
    Ok(InviteMembersPayload { results })
}

async fn member_by_email(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    email: &str,
) -> AppResult<Option<member::Model>> {
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::UserId.eq(&user.id))
        .one(db)
        .await?)
}

/// The invitation and the actor's locked membership of its workspace.
async fn manageable(
    db: &impl ConnectionTrait,
    caller: &Principal,
    id: &str,
) -> AppResult<(Membership, invitation::Model)> {
    let id = id_arg("id", id)?;
    let (actor, found) = crate::access::load::locked_target::<invitation::Entity>(
        db,
        caller,
        "invitation",
        id,
        |i| &i.workspace_id,
    )
    .await?;
    actor.require(Capability::ManageInvitations)?;
    // Expiry may have just changed it.
    sweep_expired(db, &found.workspace_id).await?;
    let found = invitation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    Ok((actor, found))
}

pub async fn resend(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> AppResult<invitation::Model> {
    let txn = begin_write(&state.db).await?;
    let (actor, before) = manageable(&txn, caller, id).await?;
    // Reissuing a link grants again what it carries.
    let grant = JoinAs {
        role: before.role,
        custom_role_id: before.custom_role_id.clone(),
        area_access: before.area_access.clone(),
        all_workrooms: before.all_workrooms,
        workroom_access: before.workroom_access.clone(),
    };
    if !can_manage_role(&actor, before.role, before.role) {
        return Err(AppError::Forbidden(
            "nobody invites at a role above their own",
        ));
    }
    ensure_within_reach(&txn, &actor, &would_be(&before.workspace_id, &grant)).await?;
    match before.status {
        Status::Accepted => return Err(AppError::Conflict("this invitation was accepted".into())),
        Status::Revoked => {
            return Err(AppError::Conflict(
                "this invitation was revoked; invite again".into(),
            ));
        }
        // An expired invitation freed its seat: taking it again needs one.
        Status::Expired => crate::billing::ensure_seats(&txn, &actor.workspace, 1, 0).await?,
        Status::Pending => {}
    }
    ensure_mail_budget(&txn, state, actor.workspace_id(), 1).await?;
    let token = tokens::random_token();
    let expires_at = Utc::now() + state.config.invitation_ttl;
    let mut row = before.clone().into_active_model();
    row.token_hash = Set(tokens::hash_token(&token));
    row.expires_at = Set(expires_at);
    row.status = Set(Status::Pending);
    let updated = row.update(&txn).await?;
    let inviter = inviter_name(&txn, &actor).await?;
    queue_mail(
        &txn,
        state,
        &actor.workspace,
        &inviter,
        &updated.email,
        &token,
        expires_at,
    )
    .await?;
    record(
        &txn,
        actor.workspace_id(),
        Some(&actor),
        Action::InvitationResent,
        &updated.id,
        Changes::default()
            .field(
                "expiresAt",
                before.expires_at.to_rfc3339(),
                expires_at.to_rfc3339(),
            )
            .field(
                "status",
                before.status.to_value(),
                Status::Pending.to_value(),
            ),
    )
    .await?;
    txn.commit().await?;
    state.mail.wake();
    Ok(updated)
}

pub async fn revoke(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> AppResult<invitation::Model> {
    let txn = begin_write(&state.db).await?;
    let (actor, before) = manageable(&txn, caller, id).await?;
    let updated = match before.status {
        Status::Accepted => return Err(AppError::Conflict("this invitation was accepted".into())),
        Status::Revoked => before,
        Status::Pending | Status::Expired => {
            let mut row = before.clone().into_active_model();
            row.status = Set(Status::Revoked);
            row.revoked_at = Set(Some(Utc::now()));
            let updated = row.update(&txn).await?;
            record(
                &txn,
                actor.workspace_id(),
                Some(&actor),
                Action::InvitationRevoked,
                &updated.id,
                Changes::default().field(
                    "status",
                    before.status.to_value(),
                    Status::Revoked.to_value(),
                ),
            )
            .await?;
            updated
        }
    };
    txn.commit().await?;
    Ok(updated)
}

/// Invitations of a workspace, newest first, optionally of one status.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    wanted: Option<Status>,
) -> AppResult<Vec<invitation::Model>> {
    let now = Utc::now();
    let mut query =
        invitation::Entity::find().filter(invitation::Column::WorkspaceId.eq(workspace_id));
    query = match wanted {
        Some(Status::Pending) => query
            .filter(invitation::Column::Status.eq(Status::Pending))
            .filter(invitation::Column::ExpiresAt.gt(now)),
        Some(Status::Expired) => query.filter(
            invitation::Column::Status
                .eq(Status::Expired)
                .or(invitation::Column::Status
                    .eq(Status::Pending)
                    .and(invitation::Column::ExpiresAt.lte(now))),
        ),
        Some(other) => query.filter(invitation::Column::Status.eq(other)),
        None => query,
    };
    Ok(query.order_by_desc(invitation::Column::Id).all(db).await?)
}
