//! The one error type. Its codes are the client contract: each variant maps to
//! one `extensions.code`, and internal detail never reaches a response.

use async_graphql::{ErrorExtensions, Value};
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// FORBIDDEN, saying what is missing.
    #[error("{0}")]
    ForbiddenBecause(String),
    /// What was asked for does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    BadUserInput {
        message: String,
        field: Option<&'static str>,
    },
    /// BAD_USER_INPUT with `extensions.reason` CURSOR_EXPIRED: the cursor is
    /// older than the activity kept, so events between it and what is kept
    /// are gone.
    #[error(
        "this cursor is older than the activity this workspace keeps; read the feed again from its start"
    )]
    CursorExpired,
    #[error("{0}")]
    Conflict(String),
    #[error("the plan's seats are all taken")]
    SeatLimitReached {
        used: u64,
        pending: u64,
        limit: Option<u64>,
        requested: u64,
    },
    /// The credit pool, or the member's monthly limit, cannot cover what
    /// was asked for: `extensions.available` and `extensions.requested`.
    #[error("{message}")]
    InsufficientCredits {
        message: String,
        available: i64,
        requested: i64,
    },
    #[error("this workspace is deleted")]
    WorkspaceDeleted,
    #[error("this invitation has expired; ask for a new one")]
    InvitationExpired,
    #[error("this invitation was revoked")]
    InvitationRevoked,
    #[error("this invitation is for another e-mail address")]
    EmailMismatch,
    #[error("{0}")]
    RateLimited(&'static str),
    /// A request-rate limit: `extensions.retryAfter` and `Retry-After` say
    /// when to try again.
    #[error("too many requests; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// Apollo's persisted-query link retries with the query on this.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    #[error("internal error")]
    Internal(std::sync::Arc<anyhow::Error>),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
            field: Some(field),
        }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(std::sync::Arc::new(cause.into()))
    }

    /// The stable `extensions.code` of each variant.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) | Self::ForbiddenBecause(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } | Self::CursorExpired => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::SeatLimitReached { .. } => "SEAT_LIMIT_REACHED",
            Self::InsufficientCredits { .. } => "INSUFFICIENT_CREDITS",
            Self::WorkspaceDeleted => "WORKSPACE_DELETED",
            Self::InvitationExpired => "INVITATION_EXPIRED",
            Self::InvitationRevoked => "INVITATION_REVOKED",
            Self::EmailMismatch => "EMAIL_MISMATCH",
            Self::RateLimited(_) | Self::TooManyRequests { .. } => "RATE_LIMITED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("a concurrent change conflicts with this one; retry".into())
            }
            _ => Self::internal(err),
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(cause) = &err {
            tracing::error!(error = ?cause, "internal error");
        }
        let code = err.code();
        let base = async_graphql::Error::new(err.to_string());
        base.extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                AppError::BadUserInput {
                    field: Some(field), ..
                } => ext.set("field", *field),
                AppError::CursorExpired => {
                    ext.set("field", "after");
                    ext.set("reason", "CURSOR_EXPIRED");
                }
                AppError::SeatLimitReached {
                    used,
                    pending,
                    limit,
                    requested,
                } => {
                    ext.set("used", *used);
                    ext.set("pending", *pending);
                    ext.set("limit", limit.map(Value::from).unwrap_or(Value::Null));
                    ext.set("requested", *requested);
                }
                AppError::TooManyRequests { retry_after } => ext.set("retryAfter", *retry_after),
                AppError::InsufficientCredits {
                    available,
                    requested,
                    ..
                } => {
                    ext.set("available", *available);
                    ext.set("requested", *requested);
                }
                _ => {}
            }
        })
    }
}
