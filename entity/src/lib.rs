//! SeaORM entities, one module per table. They know nothing of GraphQL.

pub mod activity_event;
pub mod agent;
pub mod agent_run;
pub mod agent_version;
pub mod api_key;
pub mod api_key_usage;
pub mod credit_entry;
pub mod custom_role;
pub mod enums;
pub mod invitation;
pub mod mail_outbox;
pub mod member;
pub mod member_credit_limit;
pub mod provider_key;
pub mod refresh_token;
pub mod run_event;
pub mod user;
pub mod workroom;
pub mod workroom_viewer;
pub mod workspace;
