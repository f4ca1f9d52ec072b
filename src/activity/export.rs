//! Exporting the activity log: a signed link, valid 10 minutes, to a CSV or
//! NDJSON file of the events the caller may see, streamed in pages so that
//! memory stays bounded whatever the log's size.

use async_graphql::{Context, Enum, ID, Object};
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use entity::{activity_event, api_key};
use futures_util::Stream;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Action, Changes, NewEvent};
use crate::access::{Audience, Capability, Membership, Principal, Redaction, requires};
use crate::auth::jwt::Keys;
use crate::context::{ContextExt, id_arg};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};

/// How long a link works.
pub const LINK_TTL_SECS: i64 = 600;
/// The audience of export links: no access token passes for one.
pub const AUDIENCE: &str = "atrium-activity-export";
/// Events read from the database at a time while streaming.
const PAGE: u64 = 1000;

/// The file an activity export is written as.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ActivityExportFormat {
    /// Comma-separated values with a header row (RFC 4180).
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl ActivityExportFormat {
    pub fn media(self) -> (&'static str, &'static str) {
        match self {
            Self::Csv => ("text/csv; charset=utf-8", "csv"),
            Self::Ndjson => ("application/x-ndjson", "ndjson"),
        }
    }
}

/// What an export link says: who asked (checked again when it is used),
/// of which workspace, in which format and period.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkClaims {
    /// `user:<id>` or `key:<id>`.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub ws: String,
    pub format: ActivityExportFormat,
    /// Microseconds since the epoch.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// The CSV header, the column order of every row.
pub const CSV_HEADER: &str = "id,cursor,createdAt,action,actorKind,actorId,actorName,targetType,targetId,workroomId,changes\n";

/// A CSV field: quoted when it holds a comma, quote or line break; a text
/// a spreadsheet would run as a formula starts with `'`.
fn csv_field(out: &mut String, raw: &str) {
    let formula = raw.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = formula || raw.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in raw.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

/// One event as the reader may see it, in the export's columns.
struct Row {
    id: String,
    cursor: String,
    created_at: String,
    action: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: Option<String>,
    target_type: String,
    target_id: Option<String>,
    workroom_id: Option<String>,
    changes: Option<Value>,
}

impl Row {
    fn write(&self, format: ActivityExportFormat, out: &mut String) {
        match format {
            ActivityExportFormat::Ndjson => {
                let line = json!({
                    "id": self.id, "cursor": self.cursor, "createdAt": self.created_at,
                    "action": self.action, "actorKind": self.actor_kind, "actorId": self.actor_id,
                    "actorName": self.actor_name, "targetType": self.target_type,
                    "targetId": self.target_id, "workroomId": self.workroom_id,
                    "changes": self.changes,
                });
                out.push_str(&line.to_string());
                out.push('\n');
            }
            ActivityExportFormat::Csv => {
                let changes = self.changes.as_ref().map(Value::to_string);
                let fields = [
                    Some(self.id.as_str()),
                    Some(self.cursor.as_str()),
                    Some(self.created_at.as_str()),
                    Some(self.action.as_str()),
                    Some(self.actor_kind.as_str()),
                    self.actor_id.as_deref(),
                    self.actor_name.as_deref(),
                    Some(self.target_type.as_str()),
                    self.target_id.as_deref(),
                    self.workroom_id.as_deref(),
                    changes.as_deref(),
                ];
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_field(out, field.unwrap_or(""));
                }
                out.push('\n');
            }
        }
    }
}

/// The reader's view of one page of events: actor names loaded at once,
/// `changes` redacted as the feed redacts them.
async fn page(
    db: &DatabaseConnection,
    condition: Condition,
    after_seq: i64,
    redaction: Redaction,
) -> AppResult<Vec<Row>> {
    let events = activity_event::Entity::find()
        .filter(condition)
        .filter(activity_event::Column::Seq.gt(after_seq))
        .order_by_asc(activity_event::Column::Seq)
        .limit(PAGE)
        .all(db)
        .await?;
    let names = super::service::actor_names(db, &events).await?;
    Ok(events
        .into_iter()
        .map(|e| {
            let actor_id = e.actor_id.clone().or_else(|| {
                redaction
                    .shows_keys()
                    .then(|| e.api_key_id.clone())
                    .flatten()
            });
            Row {
                cursor: super::service::cursor(&e),
                created_at: e.created_at.to_rfc3339(),
                actor_name: e.actor_id.as_ref().and_then(|id| names.get(id).cloned()),
                changes: redaction.changes(&e.action, e.changes.as_ref()),
                id: e.id,
                action: e.action,
                actor_kind: e.actor_kind,
                actor_id,
                target_type: e.target_type,
                target_id: e.target_id,
                workroom_id: e.workroom_id,
            }
        })
        .collect())
}

/// The events of the link's workspace the reader may see, oldest first, in
/// the link's period, as the bytes of the file.
pub fn stream(
    db: DatabaseConnection,
    reader: &Membership,
    claims: &LinkClaims,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut condition = Condition::all()
        .add(activity_event::Column::WorkspaceId.eq(reader.workspace_id()))
        .add(Audience::of(reader).condition());
    if let Some(from) = claims.from.and_then(DateTime::<Utc>::from_timestamp_micros) {
        condition = condition.add(activity_event::Column::CreatedAt.gte(from));
    }
    if let Some(to) = claims.to.and_then(DateTime::<Utc>::from_timestamp_micros) {
        condition = condition.add(activity_event::Column::CreatedAt.lt(to));
    }
    let redaction = Redaction::for_reader(reader);
    let format = claims.format;
    let header =
        (format == ActivityExportFormat::Csv).then(|| Bytes::from_static(CSV_HEADER.as_bytes()));
    let start = (Some(0i64), header);
    futures_util::stream::unfold(start, move |(after, header)| {
        let db = db.clone();
        let condition = condition.clone();
        async move {
            if let Some(header) = header {
                return Some((Ok(header), (after, None)));
            }
            let after = after?;
            match page(&db, condition, after, redaction).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().and_then(|r| r.cursor.parse::<i64>().ok());
                    let mut out = String::with_capacity(rows.len() * 256);
                    for row in &rows {
                        row.write(format, &mut out);
                    }
                    let next = if rows.len() as u64 == PAGE {
                        last
                    } else {
                        None
                    };
                    Some((Ok(Bytes::from(out)), (next, None)))
                }
                Err(err) => {
                    tracing::error!(error = %err, "activity export failed midway");
                    Some((
                        Err(std::io::Error::other("the export failed")),
                        (None, None),
                    ))
                }
            }
        }
    })
}

/// The caller a link was made for, as it stands now: a revoked key or a
/// removed member gets nothing.
pub async fn reader(db: &DatabaseConnection, claims: &LinkClaims) -> AppResult<Membership> {
    let principal = match claims.sub.split_once(':') {
        Some(("user", id)) => Principal::Person {
            user_id: id.to_owned(),
        },
        Some(("key", id)) => {
            let key = api_key::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("export"))?;
            Principal::Key(crate::auth::api_key::grant_of(&key))
        }
        _ => return Err(AppError::NotFound("export")),
    };
    let reader = crate::access::load::visible(db, &claims.ws, &principal)
        .await
        .map_err(|err| match err {
            AppError::NotFound(_) => AppError::NotFound("export"),
            other => other,
        })?;
    reader.require(Capability::ExportActivity)?;
    Ok(reader)
}

fn link(
    keys: &Keys,
    caller: &Principal,
    workspace_id: &str,
    format: ActivityExportFormat,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<String> {
    let sub = match caller {
        Principal::Person { user_id } => format!("user:{user_id}"),
        Principal::Key(key) => format!("key:{}", key.id),
        Principal::System => return Err(AppError::Forbidden("the system exports nothing")),
    };
    let now = Utc::now().timestamp();
    keys.sign(&LinkClaims {
        sub,
        iss: crate::auth::jwt::ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: now,
        exp: now + LINK_TTL_SECS,
        ws: workspace_id.to_owned(),
        format,
        from: from.map(|t| t.timestamp_micros()),
        to: to.map(|t| t.timestamp_micros()),
    })
}

#[derive(Default)]
pub struct ActivityExportMutation;

#[Object]
impl ActivityExportMutation {
    /// A signed download URL, valid 10 minutes and usable without the
    /// Authorization header, of the workspace's events the caller may see
    /// (as `Workspace.activity` shows them), oldest first, in `[from, to)`.
    /// CSV columns: `id,cursor,createdAt,action,actorKind,actorId,actorName,
    /// targetType,targetId,workroomId,changes` (changes as JSON). The
    /// caller's access is checked again when the file is fetched.
    #[graphql(directive = requires::apply(Capability::ExportActivity))]
    async fn export_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "CSV or NDJSON.")] format: ActivityExportFormat,
        #[graphql(desc = "Events from this instant on; from the first when absent.")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "Events before this instant; up to now when absent.")] to: Option<
            DateTime<Utc>,
        >,
    ) -> AppResult<String> {
        let workspace_id = id_arg("workspaceId", &workspace_id)?;
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(AppError::bad_input("to", "to must be after from"));
        }
        let caller = ctx.caller().await?;
        let txn = begin_write(ctx.db()).await?;
        let viewer = crate::access::load::locked(&txn, workspace_id, &caller).await?;
        viewer.require(Capability::ExportActivity)?;
        let token = link(&ctx.state().keys, &caller, workspace_id, format, from, to)?;
        super::service::record(
            &txn,
            NewEvent::by(&viewer, Action::ActivityExported, workspace_id).with(
                Changes::default()
                    .created("format", json!(format))
                    .created("from", from.map(|t| t.to_rfc3339()))
                    .created("to", to.map(|t| t.to_rfc3339())),
            ),
        )
        .await?;
        txn.commit().await?;
        let base = ctx.state().config.public_url.clone().unwrap_or_default();
        Ok(format!("{base}/activity-exports/{token}"))
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    fn field(raw: &str) -> String {
        let mut out = String::new();
        csv_field(&mut out, raw);
        out
    }

    #[test]
    fn fields_are_quoted_when_they_must_be_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=SUM(A1)"), "\"'=SUM(A1)\"");
        assert_eq!(field("-1"), "\"'-1\"");
    }
}
