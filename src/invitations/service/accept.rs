//! Following an invitation link: its preview, and accepting it (joining,
//! with a new account when the address has none).

use super::*;
use crate::accounts::service::{self as auth, Session};
use crate::auth::password;
use crate::invitations::{AcceptInvitationInput, AcceptInvitationPayload, InvitationPreview};
use crate::members::{self, service::join};
use crate::workspaces::{self, Workspace};

async fn by_token(db: &impl ConnectionTrait, token: &str) -> AppResult<invitation::Model> {
    if token.len() > 128 {
        return Err(AppError::NotFound("invitation"));
    }
    invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(tokens::hash_token(token.trim())))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("invitation"))
}

pub async fn preview(db: &impl ConnectionTrait, token: &str) -> AppResult<InvitationPreview> {
    let found = by_token(db, token).await?;
    let workspace = workspace::Entity::find_by_id(&found.workspace_id)
        .one(db)
        .await?
        .filter(|w| w.deleted_at.is_none())
        .ok_or(AppError::NotFound("invitation"))?;
    let account_exists = user::Entity::find()
        .filter(user::Column::Email.eq(&found.email))
        .count(db)
        .await?
        > 0;
    Ok(InvitationPreview {
        workspace_name: workspace.name,
        email: found.email.clone(),
        role: found.role.into(),
        status: status(&found, Utc::now()).into(),
        expires_at: found.expires_at,
        account_exists,
    })
}

/// Who accepts: the signed-in account, or a new one made from the link.
enum Acceptor {
    Existing(user::Model),
    New { name: String, password_hash: String },
}

pub async fn accept(
    state: &AppState,
    signed_in: Option<&str>,
    input: AcceptInvitationInput,
) -> AppResult<AcceptInvitationPayload> {
    let found = by_token(&state.db, &input.token).await?;
    let acceptor = match signed_in {
        Some(user_id) => {
            let user = user::Entity::find_by_id(user_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Unauthenticated("this account no longer exists"))?;
            if user.email != found.email {
                return Err(AppError::EmailMismatch);
            }
            Acceptor::Existing(user)
        }
        None => {
            let exists = user::Entity::find()
                .filter(user::Column::Email.eq(&found.email))
                .count(&state.db)
                .await?
                > 0;
            if exists {
                return Err(AppError::Unauthenticated(
                    "an account with this e-mail exists: sign in, then accept",
                ));
            }
            let name = auth::validate_name(input.name.as_deref().unwrap_or_default())?;
            let raw = input
                .password
                .ok_or_else(|| AppError::bad_input("password", "a new account needs a password"))?;
            password::validate(&raw)?;
            Acceptor::New {
                name,
                password_hash: state.passwords.hash(raw).await?,
            }
        }
    };

    let txn = begin_write(&state.db).await?;
    let workspace = crate::access::load::lock_workspace(&txn, &found.workspace_id).await?;
    let found = invitation::Entity::find_by_id(&found.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    match status(&found, Utc::now()) {
        Status::Revoked => return Err(AppError::InvitationRevoked),
        Status::Accepted => {
            return Err(AppError::Conflict(
                "this invitation was already used".into(),
            ));
        }
        Status::Expired => {
            sweep_expired(&txn, &workspace.id).await?;
            txn.commit().await?;
            return Err(AppError::InvitationExpired);
        }
        Status::Pending => {}
    }
    if workspace.deleted_at.is_some() {
        return Err(AppError::WorkspaceDeleted);
    }
    let user = match acceptor {
        Acceptor::Existing(user) => user,
        Acceptor::New {
            name,
            password_hash,
        } => {
            let user = auth::create_user(&txn, found.email.clone(), name, password_hash).await?;
            workspaces::service::create_personal(&txn, &user).await?;
            user
        }
    };
    let how = JoinAs {
        role: found.role,
        custom_role_id: found.custom_role_id.clone(),
        area_access: found.area_access.clone(),
        all_workrooms: found.all_workrooms,
        workroom_access: found.workroom_access.clone(),
    };
    let joined = join(&txn, &workspace, &user.id, how, 1).await?;
    let mut row = found.into_active_model();
    row.status = Set(Status::Accepted);
    row.accepted_at = Set(Some(Utc::now()));
    row.update(&txn).await?;
    let session = match signed_in {
        Some(_) => None,
        None => Some(auth::issue_refresh_token(&txn, state, &user.id, None).await?),
    };
    let member = members::service::one(&txn, &workspace, joined.clone()).await?;
    let custom = member.custom_role.clone();
    txn.commit().await?;
    let session: Option<Session> = session
        .map(|refresh| auth::session(state, user, refresh))
        .transpose()?;
    Ok(AcceptInvitationPayload {
        workspace: Workspace::new(Membership::new(workspace, joined, custom)),
        member,
        session: session.map(Into::into),
    })
}
