//! How clients see an activity event, and who caused it.

use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use crate::activity::{ActivityEvent, service};
use crate::auth::User;
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::keys::ApiKey;

/// What kind of principal acted.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in person.
    User,
    /// An API key (a workspace's, or a person's).
    ApiKey,
    /// An agent running in a workroom.
    Agent,
    /// Atrium itself: expiries, purges.
    System,
}

/// Who caused an event. A value object: it has no id, and client caches
/// keep it inside the event that holds it.
#[derive(SimpleObject)]
pub struct Actor {
    /// What kind of principal acted.
    pub kind: ActorKind,
    /// A person's name, a key's name, an agent's name, or `system`.
    pub name: String,
    /// The person: for USER, and the owner of a personal key.
    pub user: Option<User>,
    /// The key that acted; null for readers without INTEGRATIONS VIEW.
    pub api_key: Option<ApiKey>,
}

impl Actor {
    /// The actor as stored (`actor_kind`, the person, the key), shown to a
    /// reader who may (`shows_keys`) or may not see which key acted.
    pub async fn load(
        ctx: &Context<'_>,
        stored_kind: &str,
        person: Option<entity::user::Person>,
        api_key_id: Option<&str>,
        shows_keys: bool,
    ) -> AppResult<Actor> {
        let kind = match stored_kind {
            "API_KEY" => ActorKind::ApiKey,
            "AGENT" => ActorKind::Agent,
            "SYSTEM" => ActorKind::System,
            _ => ActorKind::User,
        };
        let key = match (api_key_id, kind) {
            (Some(id), ActorKind::ApiKey) => {
                entity::api_key::Entity::find_by_id(id)
                    .one(ctx.db())
                    .await?
            }
            _ => None,
        };
        let name = match (kind, &key, &person) {
            (ActorKind::ApiKey, Some(key), _) => key.name.clone(),
            (ActorKind::ApiKey, None, _) => "API key".to_owned(),
            (ActorKind::System, _, _) => "system".to_owned(),
            (_, _, Some(person)) => person.name.clone(),
            (_, _, None) => "someone".to_owned(),
        };
        Ok(Actor {
            kind,
            name,
            user: person.map(User),
            // A personal key's details are its owner's alone.
            api_key: key
                .filter(|k| k.workspace_id.is_some() && shows_keys)
                .map(ApiKey),
        })
    }

    /// The actor of a row that names a person by id.
    pub async fn of_row(
        ctx: &Context<'_>,
        stored_kind: &str,
        person_id: Option<&str>,
        api_key_id: Option<&str>,
        shows_keys: bool,
    ) -> AppResult<Actor> {
        let person = match person_id {
            Some(id) => entity::user::Person::find(ctx.db(), id).await?,
            None => None,
        };
        Self::load(ctx, stored_kind, person, api_key_id, shows_keys).await
    }
}

/// One thing that happened in a workspace: who did what to which target, and what changed.
#[Object]
impl ActivityEvent {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model().id.clone())
    }

    /// Where this event stands in its workspace's log: pass it as `after` to
    /// read on from here.
    async fn cursor(&self) -> String {
        service::cursor(self.model())
    }

    /// `area.verb`, e.g. `workroom.created`, `member.role_changed`.
    async fn action(&self) -> &str {
        &self.model().action
    }

    /// The person who did it (for a personal key, its owner); null for
    /// workspace keys, agents and the system.
    async fn actor(&self) -> Option<User> {
        self.event.actor.clone().map(User)
    }

    /// Who caused it: a person, an API key or the system.
    async fn by(&self, ctx: &Context<'_>) -> AppResult<Actor> {
        let model = self.model();
        Actor::load(
            ctx,
            &model.actor_kind,
            self.event.actor.clone(),
            model.api_key_id.as_deref(),
            self.redaction.shows_keys(),
        )
        .await
    }

    /// What kind of thing it happened to: `workspace`, `workroom`, `member`,
    /// `invitation` or `role`.
    async fn target_type(&self) -> &str {
        &self.model().target_type
    }

    /// The id of what it happened to; that object may since have been removed.
    async fn target_id(&self) -> Option<ID> {
        self.model().target_id.clone().map(ID)
    }

    /// The workroom the target belongs to, if any.
    async fn workroom_id(&self) -> Option<ID> {
        self.model().workroom_id.clone().map(ID)
    }

    /// The changed fields: `{"field": {"before": …, "after": …}}`. A field
    /// the caller could not read on its own object is left out.
    async fn changes(&self) -> Option<Json<serde_json::Value>> {
        let model = self.model();
        self.redaction
            .changes(&model.action, model.changes.as_ref())
            .map(Json)
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model().created_at
    }
}
