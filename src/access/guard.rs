//! The one guard type for fields: it checks a capability against the
//! caller's membership.

use async_graphql::{Context, Guard};

use super::{Capability, Membership};

/// Guards a field of an object that was loaded for a membership (a workspace
/// or workroom node): the field needs `capability`.
pub struct Require<'a> {
    capability: Capability,
    membership: &'a Membership,
}

impl<'a> Require<'a> {
    pub fn new(capability: Capability, membership: &'a Membership) -> Self {
        Self {
            capability,
            membership,
        }
    }
}

impl Guard for Require<'_> {
    async fn check(&self, _ctx: &Context<'_>) -> async_graphql::Result<()> {
        self.membership.require(self.capability).map_err(Into::into)
    }
}
