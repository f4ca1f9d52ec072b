//! Shared payloads for the activity feed. What an `ActivityEvent` selection
//! yields depends on the event and the operation, never on who receives it;
//! so each event is rendered once per distinct operation (query, variables,
//! operation name) and every subscriber running that operation sends the
//! same bytes after checking its own access.
//!
//! The `activity` resolver still runs once per subscription (validation,
//! authentication, membership, cursor); over a WebSocket it then hands its
//! [`Watch`] to the connection instead of streaming through the executor.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use async_graphql::{Context, EmptyMutation, ID, Object, Request, Schema, Subscription, Variables};
use futures_util::{Stream, StreamExt, stream};

use super::watch::Watch;
use crate::access::Redaction;
use crate::activity::ActivityEvent;
use crate::document::Checked;
use crate::document::ensure_codes;
use crate::error::{AppError, AppResult};
use crate::events::FeedEvent;

/// Put in a request's data by the WebSocket endpoint: the `activity`
/// resolver leaves its watch here and returns an empty stream.
#[derive(Clone, Default)]
pub struct Handoff(Arc<Mutex<Option<Watch>>>);

impl Handoff {
    /// Takes the watch, or gives it back when one was handed over already.
    pub fn offer(&self, watch: Watch) -> Option<Watch> {
        let mut slot = self.lock();
        if slot.is_some() {
            return Some(watch);
        }
        *slot = Some(watch);
        None
    }

    pub fn take(&self) -> Option<Watch> {
        self.lock().take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Watch>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The parts of a subscribe request that decide its payloads.
pub struct Operation {
    /// Equal for equal operations.
    key: Arc<str>,
    /// The key of an event's shared payload for each redaction class in
    /// use: equal operations whose readers see equal `changes`.
    class_keys: Mutex<Vec<(Redaction, Arc<str>)>>,
    query: String,
    variables: Variables,
    operation_name: Option<String>,
}

/// Whether a subscribe request's payloads can be shared: a document of one
/// subscription selecting only `activity`, whose fragments are on the feed's
/// own types (the renderer knows no others).
pub fn shareable(request: &mut Request) -> bool {
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    let DocumentOperations::Single(operation) = &document.operations else {
        return false;
    };
    let fragments_known = document.fragments.values().all(|fragment| {
        matches!(
            fragment.node.type_condition.node.on.node.as_str(),
            "ActivityEvent" | "User"
        )
    });
    let items = &operation.node.selection_set.node.items;
    operation.node.ty == OperationType::Subscription
        && fragments_known
        && items.len() == 1
        && matches!(&items[0].node, Selection::Field(field) if field.node.name.node == "activity")
}

/// Operations in use, so subscribers sending the same one hold one copy.
static OPERATIONS: LazyLock<Mutex<HashMap<Arc<str>, Weak<Operation>>>> =
    LazyLock::new(Mutex::default);

fn operations() -> std::sync::MutexGuard<'static, HashMap<Arc<str>, Weak<Operation>>> {
    OPERATIONS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Operation {
    /// The operation of a subscribe request.
    pub fn of(request: &Request) -> Arc<Self> {
        let key: Arc<str> =
            serde_json::to_string(&(&request.query, &request.variables, &request.operation_name))
                .unwrap_or_default()
                .into();
        let mut known = operations();
        if let Some(operation) = known.get(&key).and_then(Weak::upgrade) {
            return operation;
        }
        let operation = Arc::new(Self {
            key: key.clone(),
            class_keys: Mutex::default(),
            query: request.query.clone(),
            variables: request.variables.clone(),
            operation_name: request.operation_name.clone(),
        });
        known.insert(key, Arc::downgrade(&operation));
        operation
    }

    fn class_key(&self, redaction: Redaction) -> Arc<str> {
        let mut keys = self
            .class_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, key)) = keys.iter().find(|(r, _)| *r == redaction) {
            return key.clone();
        }
        let key: Arc<str> = format!("{}#{}", self.key, redaction.key()).into();
        keys.push((redaction, key.clone()));
        key
    }

    /// The `payload` of a `next` message carrying this event, shared by
    /// every subscriber of this operation whose access hides the same.
    pub async fn payload(&self, event: &Arc<FeedEvent>, redaction: Redaction) -> Arc<str> {
        let render = || self.render(Delivery::Event(event.clone(), redaction));
        let key = self.class_key(redaction);
        match event.renders.slot(&key) {
            Some(slot) => slot
                .get_or_init(|| async {
                    let payload = render().await;
                    event.renders.kept(&key, payload.len());
                    payload
                })
                .await
                .clone(),
            None => render().await,
        }
    }

    /// The `payload` of the `next` message that ends a stream with an error.
    pub async fn error_payload(&self, err: AppError) -> Arc<str> {
        self.render(Delivery::Failed(err)).await
    }

    async fn render(&self, delivery: Delivery) -> Arc<str> {
        let mut request = Request::new(self.query.clone())
            .variables(self.variables.clone())
            .data(delivery);
        request.operation_name = self.operation_name.clone();
        let checked = Checked::parse(&mut request);
        let mut response = schema()
            .execute_stream(request)
            .next()
            .await
            .unwrap_or_default();
        if let Ok(checked) = checked {
            checked.order(&mut response);
        }
        result_payload(response)
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        let mut known = operations();
        // Unless a new subscriber has registered the same operation since.
        if known
            .get(&self.key)
            .is_some_and(|operation| operation.strong_count() == 0)
        {
            known.remove(&self.key);
        }
    }
}

/// What one rendering delivers.
enum Delivery {
    Event(Arc<FeedEvent>, Redaction),
    Failed(AppError),
}

impl Delivery {
    fn item(&self) -> AppResult<ActivityEvent> {
        match self {
            Self::Event(event, redaction) => Ok(ActivityEvent::new(event.clone(), *redaction)),
            Self::Failed(err) => Err(err.clone()),
        }
    }
}

type RenderSchema = Schema<RenderQuery, EmptyMutation, RenderSubscription>;

/// Renders operations written against the public schema's `activity`
/// subscription, so its arguments mirror that field's.
fn schema() -> &'static RenderSchema {
    static SCHEMA: OnceLock<RenderSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::build(RenderQuery, EmptyMutation, RenderSubscription).finish())
}

struct RenderQuery;

#[Object(name = "Query")]
impl RenderQuery {
    /// The event being rendered.
    async fn event(&self, ctx: &Context<'_>) -> Option<ActivityEvent> {
        ctx.data_opt::<Delivery>()
            .and_then(|delivery| delivery.item().ok())
    }
}

struct RenderSubscription;

#[Subscription(name = "Subscription")]
impl RenderSubscription {
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "workspaceId")] _workspace_id: ID,
        #[graphql(name = "after")] _after: Option<String>,
    ) -> impl Stream<Item = async_graphql::Result<ActivityEvent>> + use<> {
        let item = ctx
            .data_opt::<Delivery>()
            .map_or(Err(AppError::NotFound("event")), Delivery::item)
            .map_err(async_graphql::Error::from);
        stream::once(async move { item })
    }
}

/// A response as the `payload` of a `next` message, every error with a code.
pub fn result_payload(mut response: async_graphql::Response) -> Arc<str> {
    ensure_codes(&mut response);
    let json = serde_json::to_string(&response).unwrap_or_else(|err| {
        tracing::error!(error = %err, "a response could not be serialised");
        r#"{"data":null,"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
            .to_owned()
    });
    json.into()
}
