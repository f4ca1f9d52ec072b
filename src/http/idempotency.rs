//! `Idempotency-Key` on mutations, as Stripe has it: the same key from the
//! same principal within 24 hours replays the stored response without
//! running the mutation again; the same key with another request is
//! CONFLICT; of concurrent requests with one key the first runs and the
//! others wait for its response. Kept in the database, so it holds across
//! servers. Mutations that return a secret are never stored.

use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

use crate::access::Principal;
use crate::document::operation;
use crate::error::{AppError, AppResult};
use crate::tokens::hash_token;

pub const HEADER: &str = "idempotency-key";
/// How long a stored response is replayed.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);
/// A run that has not finished in this long is taken as abandoned (its
/// server stopped) and may be run again.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(5);
/// How long a concurrent request waits for the first one's response.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(25);
const KEY_MAX: usize = 255;

/// Root fields whose response carries a secret: never stored, so an
/// `Idempotency-Key` on them is refused.
const SECRET_FIELDS: [&str; 6] = [
    "signUp",
    "logIn",
    "refreshSession",
    "acceptInvitation",
    "createApiKey",
    "rotateApiKey",
];

/// A request's key, checked; None without the header.
pub fn key_of(headers: &HeaderMap) -> AppResult<Option<String>> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= KEY_MAX && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            AppError::bad_input(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {KEY_MAX} visible ASCII characters"),
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// Whether a request's key applies: to mutations that return no secret.
/// Queries run as usual; a document that does not parse is left to the
/// executor.
pub fn applies(query: &str, operation_name: Option<&str>) -> AppResult<bool> {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Ok(false);
    };
    let Some((ty, _)) = operation(&document, operation_name) else {
        return Ok(false);
    };
    if ty != OperationType::Mutation {
        return Ok(false);
    }
    let chosen = match &document.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => operation_name
            .and_then(|name| ops.get(name))
            .or_else(|| ops.values().next()),
    };
    let Some(chosen) = chosen else {
        return Ok(false);
    };
    let set = &chosen.node.selection_set;
    let mut fields = Vec::new();
    root_fields(&document, &set.node, &mut fields, 0);
    if let Some(field) = fields.iter().find(|f| SECRET_FIELDS.contains(&f.as_str())) {
        return Err(AppError::bad_input(
            "Idempotency-Key",
            format!(
                "`{field}` returns a secret and is never replayed: send it without an Idempotency-Key"
            ),
        ));
    }
    Ok(true)
}

fn root_fields(
    document: &ExecutableDocument,
    set: &SelectionSet,
    out: &mut Vec<String>,
    depth: u8,
) {
    if depth > 16 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => out.push(field.node.name.node.to_string()),
            Selection::InlineFragment(inline) => {
                root_fields(document, &inline.node.selection_set.node, out, depth + 1)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    root_fields(document, &fragment.node.selection_set.node, out, depth + 1);
                }
            }
        }
    }
}

/// Who a key belongs to.
pub fn owner(principal: Option<&Principal>) -> AppResult<String> {
    match principal {
        Some(Principal::Person { user_id }) => Ok(format!("p:{user_id}")),
        Some(Principal::Key(key)) => Ok(format!("k:{}", key.id)),
        _ => Err(AppError::bad_input(
            "Idempotency-Key",
            "an Idempotency-Key needs a signed-in caller or an API key",
        )),
    }
}

/// What a request with a key is to do.
pub enum Claim {
    /// Run it, then `finish` (or `release` if it did not complete), with
    /// this token naming the run.
    Run(String),
    /// Send this stored response again.
    Replay(Response),
}

fn backend_sql(db: &DatabaseConnection, sql: &str) -> String {
    match db.get_database_backend() {
        DbBackend::Postgres => sql.to_owned(),
        _ => {
            // `$n` placeholders become `?`, in order.
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

async fn execute(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> AppResult<u64> {
    let statement =
        Statement::from_sql_and_values(db.get_database_backend(), backend_sql(db, sql), values);
    Ok(db.execute_raw(statement).await?.rows_affected())
}

/// Claims a key for this request, or finds its stored response, waiting
/// while another request with the key runs.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    key: &str,
    request_hash: &str,
) -> AppResult<Claim> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = Utc::now();
        // Forget what is past its retention, and runs that were abandoned.
        execute(
            db,
            "DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2
             AND (created_at < $3 OR (response IS NULL AND created_at < $4))",
            vec![
                owner.into(),
                key.into(),
                (now - RETENTION).into(),
                (now - ABANDONED_AFTER).into(),
            ],
        )
        .await?;
        let token = crate::tokens::random_token();
        let inserted = execute(
            db,
            "INSERT INTO idempotency_keys (owner, key, request_hash, token, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner, key) DO NOTHING",
            vec![
                owner.into(),
                key.into(),
                request_hash.into(),
                token.clone().into(),
                now.into(),
            ],
        )
        .await?;
        if inserted == 1 {
            return Ok(Claim::Run(token));
        }
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                backend_sql(
                    db,
                    "SELECT request_hash, status, media, response FROM idempotency_keys
                     WHERE owner = $1 AND key = $2",
                ),
                [owner.into(), key.into()],
            ))
            .await?;
        if let Some(row) = row {
            let hash: String = row.try_get_by_index(0)?;
            if hash != request_hash {
                return Err(AppError::Conflict(
                    "this Idempotency-Key was used with a different request".into(),
                ));
            }
            let status: Option<i32> = row.try_get_by_index(1)?;
            let media: Option<String> = row.try_get_by_index(2)?;
            let response: Option<String> = row.try_get_by_index(3)?;
            if let (Some(status), Some(body)) = (status, response) {
                return Ok(Claim::Replay(replayed(status, media, body)));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AppError::Conflict(
                "a request with this Idempotency-Key is still running; retry later".into(),
            ));
        }
        tokio::time::sleep(POLL).await;
        // Waiting only reads until the run's row changes or goes.
        while tokio::time::Instant::now() < deadline {
            let pending = db
                .query_one_raw(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    backend_sql(
                        db,
                        "SELECT 1 FROM idempotency_keys
                         WHERE owner = $1 AND key = $2 AND response IS NULL AND created_at >= $3",
                    ),
                    [
                        owner.into(),
                        key.into(),
                        (Utc::now() - ABANDONED_AFTER).into(),
                    ],
                ))
                .await?;
            if pending.is_none() {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn replayed(status: i32, media: Option<String>, body: String) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let media = media
        .and_then(|m| HeaderValue::from_str(&m).ok())
        .unwrap_or(HeaderValue::from_static("application/json"));
    headers.insert(axum::http::header::CONTENT_TYPE, media);
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Whether a response is one to replay: the mutation ran to the end. A
/// request refused before it ran, or one that failed in a way a retry may
/// fix (an internal error, a conflict with a concurrent change, a rate
/// limit), gives the key back instead.
pub fn completed(body: &[u8]) -> bool {
    let Ok(response) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let ran = !response.get("data").is_none_or(serde_json::Value::is_null);
    let retryable = response["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            matches!(
                e["extensions"]["code"].as_str(),
                Some("INTERNAL" | "CONFLICT" | "RATE_LIMITED")
            )
        })
    });
    ran && !retryable
}

/// Stores the response of the run that claimed the key; the token makes
/// sure it is still that run's claim.
pub async fn finish(
    db: &DatabaseConnection,
    owner: &str,
    key: &str,
    token: &str,
    status: StatusCode,
    media: &str,
    body: &[u8],
) -> AppResult<()> {
    let stored = execute(
        db,
        "UPDATE idempotency_keys SET status = $1, media = $2, response = $3
         WHERE owner = $4 AND key = $5 AND token = $6",
        vec![
            i32::from(status.as_u16()).into(),
            media.into(),
            String::from_utf8_lossy(body).into_owned().into(),
            owner.into(),
            key.into(),
            token.into(),
        ],
    )
    .await?;
    if stored == 0 {
        tracing::warn!("an idempotent run's claim was taken over before it finished");
    }
    Ok(())
}

/// Gives a key back when its request did not complete, so that a retry
/// runs it.
pub async fn release(
    db: &DatabaseConnection,
    owner: &str,
    key: &str,
    token: &str,
) -> AppResult<()> {
    execute(
        db,
        "DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND token = $3",
        vec![owner.into(), key.into(), token.into()],
    )
    .await?;
    Ok(())
}

/// What identifies a request: its query, operation name and variables.
pub fn request_hash(request: &async_graphql::Request) -> String {
    // Keys sorted, so that the same variables in another order match.
    let variables = serde_json::to_value(&request.variables)
        .map(|v| canonical(&v))
        .unwrap_or_default();
    hash_token(&format!(
        "{}\u{0}{}\u{0}{variables}",
        request.query,
        request.operation_name.as_deref().unwrap_or_default()
    ))
}

/// A JSON value as text with every object's keys sorted.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::from(k.as_str()),
                        canonical(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// Drops stored responses past their retention.
pub async fn sweep(db: &DatabaseConnection) -> AppResult<u64> {
    execute(
        db,
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        vec![(Utc::now() - RETENTION).into()],
    )
    .await
}
