//! Writing events (always inside the transaction of the change) and reading
//! them back in pages that stay stable while new events arrive.

use std::sync::LazyLock;

use chrono::Utc;
use entity::{activity_event, member, user, workspace};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, JoinType, NotSet, QueryFilter, QueryOrder, QueryResult, QuerySelect, RelationDef,
    Statement,
};
use serde_json::{Map, Value, json};

use super::action::Action;
use super::{ActivityConnection, ActivityEvent, ActivityFilter};
use crate::access::{Audience, Membership, Principal, Redaction};
use crate::context::PageInfo;
use crate::error::{AppError, AppResult};
use crate::events::{ACTIVITY_CHANNEL, FeedEvent};
use crate::tokens::new_id;

/// An event about to be written.
pub struct NewEvent<'a> {
    pub workspace_id: &'a str,
    /// The person acting (for a personal key, its owner).
    pub actor_id: Option<&'a str>,
    /// USER, API_KEY, AGENT or SYSTEM.
    pub actor_kind: &'static str,
    /// The key acting, for API_KEY.
    pub api_key_id: Option<&'a str>,
    /// What happened; it names the area a reader needs and the target's kind.
    pub action: Action,
    pub target_id: Option<&'a str>,
    pub workroom_id: Option<&'a str>,
    pub changes: Changes,
}

impl<'a> NewEvent<'a> {
    /// An event a member caused, about one target of its workspace.
    pub fn by(actor: &'a Membership, action: Action, target_id: &'a str) -> Self {
        Self {
            workspace_id: actor.workspace_id(),
            actor_id: actor.user_id(),
            actor_kind: actor.principal.kind(),
            api_key_id: actor.key().map(|k| k.id.as_str()),
            action,
            target_id: Some(target_id),
            workroom_id: None,
            changes: Changes::default(),
        }
    }

    /// An event a person caused outside any membership (joining, making a
    /// workspace), or with no person, the system's.
    pub fn of_person(
        workspace_id: &'a str,
        person: Option<&'a str>,
        action: Action,
        target_id: Option<&'a str>,
    ) -> Self {
        Self {
            workspace_id,
            actor_id: person,
            actor_kind: if person.is_some() { "USER" } else { "SYSTEM" },
            api_key_id: None,
            action,
            target_id,
            workroom_id: None,
            changes: Changes::default(),
        }
    }

    pub fn in_workroom(mut self, workroom_id: &'a str) -> Self {
        self.workroom_id = Some(workroom_id);
        self
    }

    pub fn with(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }
}

/// The before/after of the fields a change touched.
#[derive(Default, Debug, Clone)]
pub struct Changes(Map<String, Value>);

impl Changes {
    /// Records a field if its value changed.
    pub fn field<T: Into<Value> + PartialEq>(mut self, name: &str, before: T, after: T) -> Self {
        if before != after {
            self.0.insert(
                name.to_owned(),
                json!({ "before": before.into(), "after": after.into() }),
            );
        }
        self
    }

    /// Records the value of a field that was set from nothing.
    pub fn created<T: Into<Value>>(self, name: &str, after: T) -> Self {
        let mut this = self;
        this.0.insert(
            name.to_owned(),
            json!({ "before": Value::Null, "after": after.into() }),
        );
        this
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes an event. Call it with the transaction of the change it records.
pub async fn record(
    db: &impl ConnectionTrait,
    event: NewEvent<'_>,
) -> AppResult<activity_event::Model> {
    let changes = (!event.changes.is_empty()).then_some(Value::Object(event.changes.0));
    let row = activity_event::ActiveModel {
        seq: NotSet,
        id: Set(new_id()),
        workspace_id: Set(event.workspace_id.to_owned()),
        actor_id: Set(event.actor_id.map(str::to_owned)),
        actor_kind: Set(event.actor_kind.to_owned()),
        api_key_id: Set(event.api_key_id.map(str::to_owned)),
        action: Set(event.action.name().to_owned()),
        area: Set(event.action.area().as_str().to_owned()),
        target_type: Set(event.action.target_type().to_owned()),
        target_id: Set(event.target_id.map(str::to_owned)),
        workroom_id: Set(event.workroom_id.map(str::to_owned)),
        changes: Set(changes),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    super::rollup::count(
        db,
        &row.workspace_id,
        row.actor_id.as_deref(),
        row.created_at,
    )
    .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // Delivered to the listeners of every server on commit, never on
        // rollback.
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [ACTIVITY_CHANNEL.into(), event.workspace_id.into()],
        ))
        .await?;
    }
    Ok(row)
}

/// The names of the people who caused these events, by user id, in one
/// statement.
pub async fn actor_names(
    db: &impl ConnectionTrait,
    events: &[activity_event::Model],
) -> AppResult<std::collections::HashMap<String, String>> {
    let ids: Vec<String> = events.iter().filter_map(|e| e.actor_id.clone()).collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

pub fn cursor(event: &activity_event::Model) -> String {
    event.seq.to_string()
}

pub fn parse_cursor(cursor: &str) -> AppResult<i64> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| AppError::bad_input("after", "not a valid activity cursor"))
}

const MAX_ACTIONS: usize = 50;

/// A page of the workspace's events the viewer may see, newest first, after
/// the cursor `after` (older events). Scoped in SQL by the areas the viewer
/// can read, so pages are full and hidden events leave no trace.
pub async fn page(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    filter: ActivityFilter,
    first: u64,
    after: Option<String>,
) -> AppResult<ActivityConnection> {
    let mut query = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(viewer.workspace_id()))
        .filter(Audience::of(viewer).condition());
    let after_given = after.is_some();
    if let Some(after) = after {
        let seq = parse_cursor(&after)?;
        super::retention::check_cursor(&viewer.workspace, seq)?;
        query = query.filter(activity_event::Column::Seq.lt(seq));
    }
    if let Some(actions) = filter.actions {
        if actions.len() > MAX_ACTIONS {
            return Err(AppError::bad_input(
                "filter.actions",
                format!("at most {MAX_ACTIONS} actions"),
            ));
        }
        query = query.filter(activity_event::Column::Action.is_in(actions));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(activity_event::Column::ActorId.eq(actor.0));
    }
    if let Some(workroom) = filter.workroom_id {
        query = query.filter(activity_event::Column::WorkroomId.eq(workroom.0));
    }
    let actor: RelationDef = activity_event::Entity::belongs_to(user::Entity)
        .from(activity_event::Column::ActorId)
        .to(user::Column::Id)
        .into();
    let query = query
        .join(JoinType::LeftJoin, actor)
        .column_as(user::Column::Id, "actor_user_id")
        .column_as(user::Column::Email, "actor_email")
        .column_as(user::Column::Name, "actor_name")
        .order_by_desc(activity_event::Column::Seq)
        .limit(first + 1);
    let rows = crate::db::read_rows(db, &query, with_actor).await?;
    Ok(connection(viewer, rows, first, after_given))
}

/// A page of `first` events from the rows read for it (one more than
/// `first` when more follow).
fn connection(
    viewer: &Membership,
    mut rows: Vec<WithActor>,
    first: u64,
    after_given: bool,
) -> ActivityConnection {
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let cursors: Vec<String> = rows.iter().map(|row| cursor(&row.0)).collect();
    let redaction = Redaction::for_reader(viewer);
    ActivityConnection {
        page_info: PageInfo::of(&cursors, has_next_page, after_given),
        nodes: rows
            .into_iter()
            .map(|WithActor(model, actor)| {
                ActivityEvent::new(std::sync::Arc::new(FeedEvent::new(model, actor)), redaction)
            })
            .collect(),
    }
}

/// A person opening a workspace for the first page of its feed: the
/// membership and the workspace's newest `first + 1` events, with their
/// actors, in one statement. The events are read before the membership's
/// audience is known, so they are kept only when the audience admits every
/// one of them: then they are exactly the page `page` would read. Otherwise
/// the page is left to `page` (None), and nothing of the events read here
/// reaches the reader.
pub async fn membership_with_first_page(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    caller: &Principal,
    first: u64,
) -> AppResult<(Membership, Option<ActivityConnection>)> {
    let Principal::Person { user_id } = caller else {
        return Ok((
            crate::access::load::visible(db, workspace_id, caller).await?,
            None,
        ));
    };
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            membership_with_events(backend),
            [
                workspace_id.into(),
                user_id.as_str().into(),
                ((first + 1) as i64).into(),
            ],
        ))
        .await?;
    let at = member::Model::COLUMNS + workspace::Model::COLUMNS;
    let mut membership = None;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        // The membership's row is the one whose member id is there.
        if row.try_get_by_index::<Option<String>>(0)?.is_some() {
            membership = Some(crate::access::load::member_with_workspace(row)?);
        } else {
            events.push(with_actor_at(row, at)?);
        }
    }
    let viewer = crate::access::load::of_rows(db, membership, caller).await?;
    events.sort_by_key(|row| std::cmp::Reverse(row.0.seq));
    let audience = Audience::of(&viewer);
    let page = events
        .iter()
        .all(|WithActor(event, _)| audience.admits(&event.area, event.workroom_id.as_deref()))
        .then(|| connection(&viewer, events, first, false));
    Ok((viewer, page))
}

/// The statement of `membership_with_first_page`, written once per engine
/// (values: the workspace, the person, how many events): one row
/// of the membership with its workspace, then the newest events with their
/// actors, each side null in the other's rows. The events are joined with
/// their actors before the limit, so that PostgreSQL stops after the newest
/// rows and looks their actors up by key.
fn membership_with_events(backend: DbBackend) -> &'static str {
    static POSTGRES: LazyLock<String> =
        LazyLock::new(|| membership_with_events_sql(DbBackend::Postgres));
    static SQLITE: LazyLock<String> =
        LazyLock::new(|| membership_with_events_sql(DbBackend::Sqlite));
    match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE,
    }
}

fn membership_with_events_sql(backend: DbBackend) -> String {
    use sea_orm::{IdenStatic, Iterable};
    let mark = |n| crate::db::placeholder(backend, n);
    // Named as the events' columns, which the result's names follow.
    let null_events: String = activity_event::Column::iter()
        .map(|c| format!(", NULL AS {}", c.as_str()))
        .chain([", NULL, NULL, NULL".to_owned()])
        .collect();
    let null_membership =
        vec!["NULL"; member::Model::COLUMNS + workspace::Model::COLUMNS].join(", ");
    format!(
        "{}
         UNION ALL
         SELECT {null_membership}, e.* FROM (SELECT {}, u.id, u.email, u.name
             FROM activity_events a LEFT JOIN users u ON u.id = a.actor_id
             WHERE a.workspace_id = {}
             ORDER BY a.seq DESC LIMIT {}) e",
        crate::access::load::membership_select_with(backend, &null_events),
        crate::db::column_list::<activity_event::Column>("a"),
        mark(1),
        mark(3),
    )
}

/// An event read with its actor's public columns, in the same statement.
struct WithActor(activity_event::Model, Option<user::Person>);

/// The event's columns, then its actor's id, email and name.
fn with_actor(row: &QueryResult) -> Result<WithActor, DbErr> {
    with_actor_at(row, 0)
}

/// `with_actor` from the columns `start..` of the row.
fn with_actor_at(row: &QueryResult, start: usize) -> Result<WithActor, DbErr> {
    let model = activity_event::Model::at(row, start)?;
    let at = start + activity_event::Model::COLUMNS;
    let id: Option<String> = row.try_get_by_index(at)?;
    let email: Option<String> = row.try_get_by_index(at + 1)?;
    let name: Option<String> = row.try_get_by_index(at + 2)?;
    let actor = match (id, email, name) {
        (Some(id), Some(email), Some(name)) => Some(user::Person { id, email, name }),
        _ => None,
    };
    Ok(WithActor(model, actor))
}
