use sea_orm_migration::prelude::*;

use crate::ddl;

const UP: &[&str] = &[
    // A workspace's defaults per category, and members' own choices.
    "CREATE TABLE notification_defaults (
        workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
        category TEXT NOT NULL,
        mode TEXT NOT NULL,
        PRIMARY KEY (workspace_id, category)
    )",
    "CREATE TABLE notification_preferences (
        member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
        category TEXT NOT NULL,
        mode TEXT NOT NULL,
        PRIMARY KEY (member_id, category)
    )",
    // How far the instant notifier has read the activity log; it starts at
    // the log's end, so that history is never mailed.
    "CREATE TABLE notification_cursors (
        name TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
    )",
    "INSERT INTO notification_cursors (name, seq)
        SELECT 'instant', COALESCE(MAX(seq), 0) FROM activity_events",
    // The last digest of each period sent to a member: up to which event,
    // and when. A digest and its mark are written in one transaction.
    "CREATE TABLE digest_marks (
        member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
        period TEXT NOT NULL,
        last_seq BIGINT NOT NULL,
        sent_at {ts} NOT NULL,
        PRIMARY KEY (member_id, period)
    )",
];

const DOWN: &[&str] = &[
    "DROP TABLE digest_marks",
    "DROP TABLE notification_cursors",
    "DROP TABLE notification_preferences",
    "DROP TABLE notification_defaults",
];

ddl::migration!("m20261206_000004_notifications");
