//! SeaORM entities, one module per table. They know nothing of GraphQL.

pub mod activity_event;
pub mod api_key;
pub mod api_key_usage;
pub mod custom_role;
pub mod enums;
pub mod invitation;
pub mod mail_outbox;
pub mod member;
pub mod refresh_token;
pub mod user;
pub mod workroom;
pub mod workroom_viewer;
pub mod workspace;
