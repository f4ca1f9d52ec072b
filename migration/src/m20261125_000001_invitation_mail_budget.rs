use sea_orm_migration::prelude::*;

use crate::ddl;

/// Counting a workspace's recent invitation e-mails reads only those events.
const UP: &[&str] = &[
    "CREATE INDEX activity_workspace_action_time ON activity_events (workspace_id, action, created_at)",
];

const DOWN: &[&str] = &["DROP INDEX activity_workspace_action_time"];

ddl::migration!("m20261125_000001_invitation_mail_budget");
