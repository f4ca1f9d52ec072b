//! Hiding navigation keys from a role.

use super::*;

/// Keys that can never be hidden.
const ALWAYS_SHOWN: &[&str] = &["settings"];
const MAX_NAV_KEYS: usize = 50;

pub async fn set_hidden_navigation(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
    role: DbRole,
    keys: Vec<String>,
) -> AppResult<Membership> {
    if role == DbRole::Owner {
        return Err(AppError::bad_input(
            "role",
            "the owner is never hidden from anything",
        ));
    }
    if keys.len() > MAX_NAV_KEYS {
        return Err(AppError::bad_input(
            "keys",
            format!("at most {MAX_NAV_KEYS} keys"),
        ));
    }
    let mut clean: Vec<String> = Vec::new();
    for key in keys {
        let key = key.trim().to_lowercase();
        let valid = !key.is_empty()
            && key.len() <= 40
            && key.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
            });
        if !valid {
            return Err(AppError::bad_input(
                "keys",
                "a key has 1 to 40 lower-case letters, digits, '-', '_' or '.'",
            ));
        }
        if ALWAYS_SHOWN.contains(&key.as_str()) {
            return Err(AppError::bad_input(
                "keys",
                "`settings` can never be hidden",
            ));
        }
        if !clean.contains(&key) {
            clean.push(key);
        }
    }
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, id, caller).await?;
    viewer.require(Capability::ManageNavigation)?;
    let before = members::service::hidden_navigation(&viewer.workspace, role);
    let mut workspace = viewer.workspace.clone();
    if before != clean {
        let mut all = workspace
            .hidden_navigation
            .clone()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        all.insert(role.to_value(), serde_json::json!(clean));
        let mut row = workspace.clone().into_active_model();
        row.hidden_navigation = Set(Some(serde_json::Value::Object(all)));
        workspace = row.update(&txn).await?;
        record_workspace_event(
            &txn,
            &viewer,
            Action::WorkspaceNavigationChanged,
            Changes::default().field(&format!("hidden.{}", role.to_value()), before, clean),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(viewer.with_workspace(workspace))
}
