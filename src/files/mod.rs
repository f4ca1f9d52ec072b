//! Workspace images (logo, avatar, banner): uploaded through the GraphQL
//! multipart request spec, recognised by their bytes (PNG, JPEG, WebP),
//! stored by `STORAGE_URL` under unguessable names and served publicly with
//! long cache headers.

pub mod image;

use async_graphql::{Context, Enum, ID, Object, Upload};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde_json::json;

use crate::access::{Capability, Membership, requires};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::{ContextExt, id_arg};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::workspaces::Workspace;

/// Which of a workspace's images.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// The logo shown in lists and headers.
    Logo,
    /// The small square picture.
    Avatar,
    /// The wide picture atop the workspace's pages.
    Banner,
}

impl ImageKind {
    fn field(self) -> &'static str {
        match self {
            Self::Logo => "logoUrl",
            Self::Avatar => "avatarUrl",
            Self::Banner => "bannerUrl",
        }
    }

    fn current(self, workspace: &entity::workspace::Model) -> Option<&String> {
        match self {
            Self::Logo => workspace.logo_file.as_ref(),
            Self::Avatar => workspace.avatar_file.as_ref(),
            Self::Banner => workspace.banner_file.as_ref(),
        }
    }
}

/// The public address of a stored file.
pub fn url(state: &AppState, key: Option<&String>) -> Option<String> {
    let key = key?;
    let base = state.config.public_url.as_deref().unwrap_or("");
    Some(format!("{base}/files/{key}"))
}

/// Whether a key has the shape this server writes: `<workspace id>/<64 hex>.<ext>`.
pub fn is_key(workspace: &str, name: &str) -> Option<image::Format> {
    let (stem, extension) = name.split_once('.')?;
    let ok = id_arg("workspace", workspace).is_ok()
        && workspace
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && stem.len() == 64
        && stem.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| image::Format::of_extension(extension)).flatten()
}

/// Stores an image and makes it the workspace's image of that kind.
pub async fn set_image(
    state: &AppState,
    viewer: &Membership,
    kind: ImageKind,
    bytes: axum::body::Bytes,
) -> AppResult<Membership> {
    viewer.require(Capability::UpdateWorkspace)?;
    let max = state.config.upload_max_bytes;
    if bytes.len() > max {
        return Err(AppError::bad_input(
            "file",
            format!("an image has at most {max} bytes"),
        ));
    }
    let sniffed = image::sniff(&bytes).ok_or_else(|| {
        AppError::bad_input(
            "file",
            format!(
                "the file must be a PNG, JPEG or WebP image of 1 to {} pixels a side",
                image::MAX_SIDE
            ),
        )
    })?;
    let key = format!(
        "{}/{}.{}",
        viewer.workspace_id(),
        crate::tokens::random_token(),
        sniffed.format.extension()
    );
    state.storage.put(&key, bytes).await?;
    match replace_image(state, viewer, kind, &key, &sniffed).await {
        Ok((viewer, replaced)) => {
            if let Some(replaced) = replaced {
                forget(state, &replaced).await;
            }
            Ok(viewer)
        }
        Err(err) => {
            forget(state, &key).await;
            Err(err)
        }
    }
}

/// Points the workspace at its new image in one transaction; returns the
/// key of the image it replaced.
async fn replace_image(
    state: &AppState,
    viewer: &Membership,
    kind: ImageKind,
    key: &str,
    sniffed: &image::Sniffed,
) -> AppResult<(Membership, Option<String>)> {
    let txn = begin_write(&state.db).await?;
    let mut viewer =
        crate::access::load::locked(&txn, viewer.workspace_id(), &viewer.principal).await?;
    viewer.require(Capability::UpdateWorkspace)?;
    let replaced = kind.current(&viewer.workspace).cloned();
    let mut row = viewer.workspace.clone().into_active_model();
    let key = Some(key.to_owned());
    match kind {
        ImageKind::Logo => row.logo_file = Set(key.clone()),
        ImageKind::Avatar => row.avatar_file = Set(key.clone()),
        ImageKind::Banner => row.banner_file = Set(key.clone()),
    }
    viewer.workspace = row.update(&txn).await?;
    let id = viewer.workspace_id().to_owned();
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::WorkspaceImageChanged, &id).with(
            Changes::default()
                .field(
                    kind.field(),
                    json!(url(state, replaced.as_ref())),
                    json!(url(state, key.as_ref())),
                )
                .created("width", sniffed.width)
                .created("height", sniffed.height)
                .created("contentType", sniffed.format.media_type()),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, replaced))
}

/// Deletes a file no row points at any more. The change it followed has
/// landed (or failed) either way, so a failure is logged, not returned.
async fn forget(state: &AppState, key: &str) {
    if let Err(err) = state.storage.delete(key).await {
        tracing::warn!(error = %err, key, "deleting a replaced file failed");
    }
}

#[derive(Default)]
pub struct ImageMutation;

#[Object]
impl ImageMutation {
    /// Sets a workspace's logo, avatar or banner from an upload (the GraphQL
    /// multipart request spec; send `apollo-require-preflight: true` or
    /// `x-apollo-operation-name`). The content decides: PNG, JPEG or WebP of
    /// at most `UPLOAD_MAX_BYTES` (2 MiB by default), else BAD_USER_INPUT.
    #[graphql(directive = requires::apply(Capability::UpdateWorkspace))]
    async fn set_workspace_image(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "Which image.")] kind: ImageKind,
        #[graphql(desc = "The image file.")] file: Upload,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer = ctx.membership(id).await?;
        let upload = file
            .value(ctx)
            .map_err(|_| AppError::bad_input("file", "the upload could not be read"))?;
        let viewer = set_image(ctx.state(), &viewer, kind, upload.content).await?;
        Ok(Workspace::new(viewer))
    }
}
