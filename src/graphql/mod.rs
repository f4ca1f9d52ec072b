//! The schema root: the merged Query, Mutation and Subscription roots and
//! the limits every operation runs under.

mod activity_event;
mod credits;
mod export;
mod member;
pub mod node;
mod run;
mod task;
mod workroom;
mod workspace;

use async_graphql::{MergedObject, SDLExportOptions, Schema};

use crate::live::LiveSubscription;
use crate::state::AppState;
use crate::{
    accounts, agents, brand, exports, invitations, keys, prompts, provider_keys, roles, runs,
    tasks, workrooms, workspaces,
};

/// The entry points for reading. Every field needs a signed-in caller
/// (`Authorization: Bearer <accessToken>`) except `invitation`; `node` is
/// null without one. An API key (`Authorization: Bearer atr_…`) may stand
/// for the caller. What the caller may not see reads as not existing.
#[derive(MergedObject, Default)]
pub struct Query(
    accounts::AuthQuery,
    workspaces::WorkspaceQuery,
    workrooms::WorkroomQuery,
    invitations::InvitationQuery,
    node::NodeQuery,
    keys::KeyQuery,
    runs::RunQuery,
    tasks::TaskQuery,
    prompts::PromptQuery,
);

/// The entry points for writing. Each mutation runs in one transaction; a
/// change to a workspace records its activity event in the same transaction.
/// All but `signUp`, `logIn`, `refreshSession`, `logOut` and
/// `acceptInvitation` need a signed-in caller. An id of something the caller
/// may not see is NOT_FOUND, like an id that does not exist.
#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AuthMutation,
    workspaces::WorkspaceMutation,
    workrooms::WorkroomMutation,
    invitations::InvitationMutation,
    member::MemberMutation,
    roles::RoleMutation,
    keys::KeyMutation,
    agents::AgentMutation,
    runs::RunMutation,
    credits::CreditMutation,
    provider_keys::ProviderKeyMutation,
    tasks::TaskMutation,
    exports::ExportMutation,
    workroom::WorkroomArchiveMutation,
    prompts::PromptMutation,
    brand::BrandMutation,
    crate::activity::export::ActivityExportMutation,
    crate::notifications::NotificationMutation,
    crate::files::ImageMutation,
);

pub type AtriumSchema = Schema<Query, Mutation, LiveSubscription>;

/// Deepest selection accepted (GraphiQL's introspection needs 13).
pub const MAX_DEPTH: usize = 16;
/// Most fields one operation may select, counting every alias.
pub const MAX_COMPLEXITY: usize = 1000;
/// Most nodes (selections, arguments, directives, variables) in one
/// document as written.
pub const MAX_NODES: u64 = 10_000;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 5;

/// What every client document is held to before it runs (over HTTP and
/// WebSocket alike). The schema has no extensions: each would wrap the
/// resolution of every field.
pub const LIMITS: crate::document::DocumentLimits = crate::document::DocumentLimits {
    fields: MAX_COMPLEXITY as u64,
    depth: MAX_DEPTH as u64,
    nodes: MAX_NODES,
};

pub fn build_schema(state: Option<AppState>) -> AtriumSchema {
    let builder = Schema::build(Query::default(), Mutation::default(), LiveSubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_directives(MAX_DIRECTIVES)
        .limit_recursive_depth(MAX_DEPTH * 2);
    match state {
        Some(state) => builder.data(state).finish(),
        None => builder.finish(),
    }
}

/// The schema in SDL: types by name, fields, arguments and enum values in
/// declaration order.
pub fn sdl() -> String {
    build_schema(None).sdl_with_options(SDLExportOptions::new().include_specified_by())
}
