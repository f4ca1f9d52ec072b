//! What resolvers share: the request's state and caller (loaded once per
//! request), argument checks, and paging.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::{Context, SimpleObject};
use entity::user;
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::access::{Membership, Principal};
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Largest page of any list.
pub const MAX_PAGE: u64 = 100;
pub const DEFAULT_PAGE: u64 = 20;

/// What one request remembers so each workspace's membership is read once.
#[derive(Default)]
pub struct RequestCache {
    memberships: Mutex<HashMap<String, AppResult<Membership>>>,
    caller: tokio::sync::OnceCell<AppResult<Principal>>,
}

pub trait ContextExt {
    fn state(&self) -> &AppState;
    fn db(&self) -> &DatabaseConnection {
        &self.state().db
    }
    /// The caller (a person or a verified API key), or UNAUTHENTICATED.
    fn caller(&self) -> impl Future<Output = AppResult<Principal>> + Send;
    /// The person acting (for a personal key, its owner), or
    /// UNAUTHENTICATED: a workspace key is no person.
    fn person_id(&self) -> impl Future<Output = AppResult<String>> + Send;
    /// The caller's account, or UNAUTHENTICATED.
    fn current_user(&self) -> impl Future<Output = AppResult<user::Model>> + Send;
    /// The caller's membership of a workspace the caller may see; NOT_FOUND
    /// otherwise.
    fn membership(&self, workspace_id: &str) -> impl Future<Output = AppResult<Membership>> + Send;
    /// Keeps a membership read along with other data for the rest of the
    /// request, as `membership` keeps what it reads.
    fn remember_membership(&self, workspace_id: &str, membership: &Membership);
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    async fn caller(&self) -> AppResult<Principal> {
        let identity = self.data_opt::<Identity>();
        if let Some(principal) = identity.and_then(|i| i.principal.clone()) {
            return Ok(principal);
        }
        let Some(secret) = identity.and_then(|i| i.key_secret.clone()) else {
            return Err(AppError::Unauthenticated("sign in first"));
        };
        let verify = async {
            crate::auth::api_key::verify(self.db(), &self.state().key_usage, &secret)
                .await
                .map(Principal::Key)
        };
        match self.data_opt::<RequestCache>() {
            Some(cache) => cache.caller.get_or_init(|| verify).await.clone(),
            None => verify.await,
        }
    }

    async fn person_id(&self) -> AppResult<String> {
        self.caller()
            .await?
            .person_id()
            .map(str::to_owned)
            .ok_or(AppError::Unauthenticated(
                "a workspace API key acts for no person; sign in",
            ))
    }

    async fn current_user(&self) -> AppResult<user::Model> {
        let id = self.person_id().await?;
        user::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or(AppError::Unauthenticated("this account no longer exists"))
    }

    async fn membership(&self, workspace_id: &str) -> AppResult<Membership> {
        let caller = self.caller().await?;
        let cache = self.data_opt::<RequestCache>();
        if let Some(hit) = cache
            .and_then(|c| c.memberships.lock().ok())
            .and_then(|map| map.get(workspace_id).cloned())
        {
            return hit;
        }
        let found = crate::access::load::visible(self.db(), workspace_id, &caller).await;
        if let Some(mut map) = cache.and_then(|c| c.memberships.lock().ok()) {
            map.insert(workspace_id.to_owned(), found.clone());
        }
        found
    }

    fn remember_membership(&self, workspace_id: &str, membership: &Membership) {
        if let Some(mut map) = self
            .data_opt::<RequestCache>()
            .and_then(|c| c.memberships.lock().ok())
        {
            map.insert(workspace_id.to_owned(), Ok(membership.clone()));
        }
    }
}

/// Where a page starts and ends, and whether others lie beyond (Relay's
/// `PageInfo`; pages go forward with `first` and `after`).
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { PageInfo: { merge: true } }`).
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether a page follows this one.
    pub has_next_page: bool,
    /// The cursor of the last item: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
    /// Whether items come before this page (true when it was asked for
    /// `after` a cursor).
    pub has_previous_page: bool,
    /// The cursor of the first item.
    pub start_cursor: Option<String>,
}

impl PageInfo {
    /// The page info of items whose cursors are `cursors`, in order.
    pub fn of(cursors: &[String], has_next_page: bool, after_given: bool) -> Self {
        Self {
            has_next_page,
            end_cursor: cursors.last().cloned(),
            has_previous_page: after_given,
            start_cursor: cursors.first().cloned(),
        }
    }
}

/// The page size asked for, checked against the cap.
pub fn page_size(first: Option<i32>) -> AppResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 0 && (n as u64) <= MAX_PAGE => Ok(n as u64),
        Some(_) => Err(AppError::bad_input(
            "first",
            format!("first must be between 0 and {MAX_PAGE}"),
        )),
    }
}

/// Checks an id given by a client before it reaches a query.
pub fn id_arg<'a>(field: &'static str, id: &'a str) -> AppResult<&'a str> {
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        return Err(AppError::bad_input(field, "not a valid id"));
    }
    Ok(id)
}
