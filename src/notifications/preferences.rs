//! Reading and writing preferences: a member's own choice, else the
//! workspace's default, else the built-in one.

use std::collections::HashMap;

use entity::{notification_default, notification_preference};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::json;

use super::{
    NotificationCategory, NotificationMode, NotificationPreference, NotificationPreferenceInput,
};
use crate::access::{Capability, Membership, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};

/// Category → mode, as stored.
pub type Choices = HashMap<NotificationCategory, NotificationMode>;

fn choices(rows: impl Iterator<Item = (String, String)>) -> Choices {
    rows.filter_map(|(category, mode)| {
        Some((
            NotificationCategory::parse(&category)?,
            NotificationMode::parse(&mode)?,
        ))
    })
    .collect()
}

pub async fn defaults(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<Choices> {
    let rows = notification_default::Entity::find()
        .filter(notification_default::Column::WorkspaceId.eq(workspace_id))
        .all(db)
        .await?;
    Ok(choices(rows.into_iter().map(|r| (r.category, r.mode))))
}

pub async fn own(db: &impl ConnectionTrait, member_id: &str) -> AppResult<Choices> {
    let rows = notification_preference::Entity::find()
        .filter(notification_preference::Column::MemberId.eq(member_id))
        .all(db)
        .await?;
    Ok(choices(rows.into_iter().map(|r| (r.category, r.mode))))
}

/// The mode that applies to a category.
pub fn resolve(
    own: &Choices,
    defaults: &Choices,
    category: NotificationCategory,
) -> NotificationMode {
    own.get(&category)
        .or_else(|| defaults.get(&category))
        .copied()
        .unwrap_or_else(|| category.built_in())
}

fn listed(own: &Choices, defaults: &Choices) -> Vec<NotificationPreference> {
    NotificationCategory::ALL
        .into_iter()
        .map(|category| NotificationPreference {
            category,
            mode: resolve(own, defaults, category),
        })
        .collect()
}

/// The viewer's own preferences after defaults (a workspace key: the defaults).
pub async fn effective(
    db: &impl ConnectionTrait,
    viewer: &Membership,
) -> AppResult<Vec<NotificationPreference>> {
    let defaults = defaults(db, viewer.workspace_id()).await?;
    let own = match &viewer.member {
        Some(member) => own(db, &member.id).await?,
        None => Choices::new(),
    };
    Ok(listed(&own, &defaults))
}

fn checked(input: &[NotificationPreferenceInput]) -> AppResult<Choices> {
    let mut out = Choices::new();
    for item in input {
        if out.insert(item.category, item.mode).is_some() {
            return Err(AppError::bad_input(
                "preferences",
                format!("{} is given twice", item.category.name()),
            ));
        }
    }
    Ok(out)
}

pub async fn set_own(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    input: &[NotificationPreferenceInput],
) -> AppResult<Vec<NotificationPreference>> {
    let wanted = checked(input)?;
    if caller.person_id().is_none() {
        return Err(AppError::Unauthenticated(
            "a workspace API key acts for no person; sign in",
        ));
    }
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ReadWorkspace)?;
    let member = viewer.own_member()?.clone();
    if !wanted.is_empty() {
        notification_preference::Entity::insert_many(wanted.iter().map(|(category, mode)| {
            notification_preference::ActiveModel {
                member_id: Set(member.id.clone()),
                category: Set(category.name().to_owned()),
                mode: Set(mode.name().to_owned()),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                notification_preference::Column::MemberId,
                notification_preference::Column::Category,
            ])
            .update_column(notification_preference::Column::Mode)
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    let result = listed(
        &own(&txn, &member.id).await?,
        &defaults(&txn, workspace_id).await?,
    );
    txn.commit().await?;
    Ok(result)
}

pub async fn set_defaults(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    input: &[NotificationPreferenceInput],
) -> AppResult<Vec<NotificationPreference>> {
    let wanted = checked(input)?;
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManageNotificationDefaults)?;
    let before = defaults(&txn, workspace_id).await?;
    let mut changes = Changes::default();
    for (category, mode) in &wanted {
        let old = resolve(&Choices::new(), &before, *category);
        if old != *mode {
            changes = changes.field(category.name(), json!(old.name()), json!(mode.name()));
        }
    }
    if !wanted.is_empty() {
        notification_default::Entity::insert_many(wanted.iter().map(|(category, mode)| {
            notification_default::ActiveModel {
                workspace_id: Set(workspace_id.to_owned()),
                category: Set(category.name().to_owned()),
                mode: Set(mode.name().to_owned()),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                notification_default::Column::WorkspaceId,
                notification_default::Column::Category,
            ])
            .update_column(notification_default::Column::Mode)
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    if !changes.is_empty() {
        activity::service::record(
            &txn,
            NewEvent::by(&viewer, Action::NotificationDefaultsChanged, workspace_id).with(changes),
        )
        .await?;
    }
    let result = listed(&Choices::new(), &defaults(&txn, workspace_id).await?);
    txn.commit().await?;
    Ok(result)
}
