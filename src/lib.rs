//! Atrium: a GraphQL backend for team workspaces.

pub mod access;
pub mod accounts;
pub mod activity;
pub mod agents;
pub mod analytics;
pub mod auth;
pub mod billing;
pub mod brand;
pub mod config;
pub mod context;
pub mod db;
pub mod document;
pub mod error;
pub mod events;
pub mod exports;
pub mod files;
pub mod graphql;
pub mod http;
pub mod invitations;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod live;
pub mod llm;
pub mod mail;
pub mod members;
pub mod memory;
pub mod metrics;
pub mod notifications;
pub mod prompts;
pub mod provider_keys;
pub mod roles;
pub mod runs;
pub mod secrets;
pub mod serve;
pub mod state;
pub mod storage;
pub mod tasks;
pub mod telemetry;
pub mod text;
pub mod tokens;
pub mod workrooms;
pub mod workspaces;

/// mimalloc: allocation-heavy work (a response is thousands of small
/// values) spends a quarter of its CPU in glibc's allocator otherwise.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use config::Config;
pub use error::AppError;
pub use state::AppState;
