//! One user watching one workroom: listed among its viewers and announced
//! as joined while the subscription starts, removed and announced as left
//! when it ends — also when it is cancelled before the start finished.

use entity::user;
use tokio::task::JoinHandle;

use crate::error::{AppError, AppResult};
use crate::events::presence::{self, PresenceKind};
use crate::state::AppState;

pub struct Viewing {
    state: AppState,
    workroom_id: String,
    me: user::Model,
    joined: Joined,
}

enum Joined {
    /// Joining runs in its own task, so a cancelled subscription cannot
    /// stop it half way; leaving waits for it.
    Pending(JoinHandle<AppResult<String>>),
    /// The viewer row.
    Row(String),
    Failed,
}

impl Viewing {
    pub async fn start(state: AppState, workroom_id: String, me: user::Model) -> AppResult<Self> {
        let joining = tokio::spawn({
            let (state, room, me) = (state.clone(), workroom_id.clone(), me.clone());
            async move {
                let row = presence::add_viewer(&state.db, &room, &me.id).await?;
                state
                    .hub
                    .presence()
                    .announce(&state.db, PresenceKind::Joined, &room, &me)
                    .await;
                Ok(row)
            }
        });
        let mut viewing = Self {
            state,
            workroom_id,
            me,
            joined: Joined::Pending(joining),
        };
        if let Joined::Pending(joining) = &mut viewing.joined {
            let outcome = joining.await;
            let (joined, result) = match outcome {
                Ok(Ok(row)) => (Joined::Row(row), Ok(())),
                Ok(Err(err)) => (Joined::Failed, Err(err)),
                Err(err) => (Joined::Failed, Err(AppError::internal(err))),
            };
            viewing.joined = joined;
            result?;
        }
        Ok(viewing)
    }

    /// Keeps the viewer listed while the subscription lasts.
    pub async fn refresh(&self) {
        if let Joined::Row(row) = &self.joined
            && let Err(err) = presence::refresh_viewer(&self.state.db, row).await
        {
            tracing::warn!(error = %err, "presence heartbeat failed");
        }
    }
}

impl Drop for Viewing {
    fn drop(&mut self) {
        let joined = std::mem::replace(&mut self.joined, Joined::Failed);
        if matches!(joined, Joined::Failed) {
            return;
        }
        let state = self.state.clone();
        let room = std::mem::take(&mut self.workroom_id);
        let me = self.me.clone();
        tokio::spawn(async move {
            let row = match joined {
                Joined::Row(row) => row,
                Joined::Pending(joining) => match joining.await {
                    Ok(Ok(row)) => row,
                    _ => return,
                },
                Joined::Failed => return,
            };
            if let Err(err) = presence::remove_viewer(&state.db, &row).await {
                tracing::warn!(error = %err, "removing a viewer failed");
            }
            state
                .hub
                .presence()
                .announce(&state.db, PresenceKind::Left, &room, &me)
                .await;
        });
    }
}
