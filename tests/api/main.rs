//! Integration tests: each starts the real server on an ephemeral port with a
//! fresh database and speaks GraphQL over HTTP. Every test runs on SQLite and,
//! when `TEST_DATABASE_URL` names a PostgreSQL server, on PostgreSQL too.

#![allow(clippy::unwrap_used)]

mod helpers;

mod accounts;
mod activity;
mod activity_export;
mod agents;
mod analytics;
mod api_keys;
mod brand;
mod browser;
mod concurrency;
mod credits;
mod deletion;
mod hostile_documents;
mod hostile_edge;
mod http_protocol;
mod http_surface;
mod idempotency;
mod images;
mod invitations;
mod layers;
mod live;
mod logs;
mod mail;
mod members;
mod nodes;
mod notifications;
mod permissions;
mod pool;
mod process;
mod prompts;
mod providers;
mod rate_limits;
mod retention;
mod runs;
mod schema_file;
mod scopes;
mod startup;
mod statements;
mod tasks;
mod telemetry;
mod tenancy;
mod tokens;
mod workrooms;
mod workspaces;
mod ws_client;
