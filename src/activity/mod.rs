//! The activity log: every change writes one event in its own transaction;
//! readers page through the events of the areas they may see.

pub mod action;
pub mod export;
pub mod retention;
pub mod rollup;
pub mod service;

use std::sync::Arc;

use async_graphql::{ComplexObject, ID, InputObject, SimpleObject};
use entity::activity_event;

use crate::access::Redaction;
use crate::context::PageInfo;
use crate::events::FeedEvent;

pub use action::Action;
pub use service::{Changes, NewEvent};

/// One thing that happened in a workspace, as one reader may see it.
#[derive(Clone)]
pub struct ActivityEvent {
    pub(crate) event: Arc<FeedEvent>,
    pub(crate) redaction: Redaction,
}

impl ActivityEvent {
    pub fn new(event: Arc<FeedEvent>, redaction: Redaction) -> Self {
        Self { event, redaction }
    }

    pub(crate) fn model(&self) -> &activity_event::Model {
        &self.event.model
    }
}

/// A page of events, newest first.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ActivityConnection {
    /// The events of this page, newest first.
    pub nodes: Vec<ActivityEvent>,
    /// Where the page starts and ends; pass `endCursor` as `after` for older events.
    pub page_info: PageInfo,
}

#[ComplexObject]
impl ActivityConnection {
    /// The page as Relay edges: each event with its cursor.
    async fn edges(&self) -> Vec<ActivityEventEdge> {
        self.nodes
            .iter()
            .map(|event| ActivityEventEdge {
                cursor: service::cursor(event.model()),
                node: event.clone(),
            })
            .collect()
    }
}

/// An event and the cursor to page on from it.
#[derive(SimpleObject)]
pub struct ActivityEventEdge {
    /// The event's `cursor`: pass it as `after` to read older events.
    pub cursor: String,
    /// The event.
    pub node: ActivityEvent,
}

/// Narrows an activity listing; every given condition must hold.
#[derive(InputObject, Default, Clone)]
pub struct ActivityFilter {
    /// Only these actions (at most 50).
    pub actions: Option<Vec<String>>,
    /// Only what this user did.
    pub actor_id: Option<ID>,
    /// Only events about this workroom.
    pub workroom_id: Option<ID>,
}
