//! SeaORM entities, one module per table. They know nothing of GraphQL.

pub mod activity_event;
pub mod enums;
pub mod member;
pub mod refresh_token;
pub mod user;
pub mod workroom;
pub mod workspace;
