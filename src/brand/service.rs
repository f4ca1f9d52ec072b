//! Brand rules and writes: the profile's fields and the memory's facts.

use chrono::Utc;
use entity::{brand_fact, brand_profile};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};

use super::{BrandProfile, BrandProfileInput};
use crate::access::{Capability, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::id_arg;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::text;
use crate::tokens::new_id;

const INDUSTRY_MAX: usize = 120;
const TEXT_MAX: usize = 2000;
const COLORS_MAX: usize = 12;
const VOICE_MAX: usize = 12;
const DESCRIPTOR_MAX: usize = 40;
const FACT_MAX: usize = 1000;
/// Most facts in one workspace's brand memory.
pub const FACTS_MAX: u64 = 200;

pub async fn profile(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<BrandProfile> {
    Ok(BrandProfile {
        workspace_id: workspace_id.to_owned(),
        model: brand_profile::Entity::find_by_id(workspace_id)
            .one(db)
            .await?,
    })
}

pub async fn facts(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> AppResult<Vec<brand_fact::Model>> {
    Ok(brand_fact::Entity::find()
        .filter(brand_fact::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(brand_fact::Column::CreatedAt)
        .order_by_asc(brand_fact::Column::Id)
        .all(db)
        .await?)
}

fn color(raw: &str) -> AppResult<String> {
    let value = raw.trim().to_ascii_lowercase();
    let ok = value.len() == 7
        && value.starts_with('#')
        && value[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(AppError::bad_input("colors", "a color is written #rrggbb"));
    }
    Ok(value)
}

fn colors(raw: Vec<String>) -> AppResult<Value> {
    if raw.len() > COLORS_MAX {
        return Err(AppError::bad_input(
            "colors",
            format!("at most {COLORS_MAX} colors"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for raw in raw {
        let value = color(&raw)?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(json!(out))
}

fn voice(raw: Vec<String>) -> AppResult<Value> {
    if raw.len() > VOICE_MAX {
        return Err(AppError::bad_input(
            "voice",
            format!("at most {VOICE_MAX} descriptors"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for raw in raw {
        let value = text::required("voice", &raw, DESCRIPTOR_MAX)?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(json!(out))
}

/// The cleaned input: for each field given, its new value.
struct Cleaned {
    industry: Option<Option<String>>,
    website: Option<Option<String>>,
    colors: Option<Value>,
    voice: Option<Value>,
    audience: Option<Option<String>>,
    goals: Option<Option<String>>,
    main_offer: Option<Option<String>>,
}

fn clean(input: BrandProfileInput) -> AppResult<Cleaned> {
    let long = |field: &'static str, raw: Option<String>| {
        raw.map(|raw| text::multi_line(field, &raw, TEXT_MAX))
            .transpose()
    };
    Ok(Cleaned {
        industry: input
            .industry
            .map(|raw| text::optional("industry", &raw, INDUSTRY_MAX))
            .transpose()?,
        website: input
            .website
            .map(|raw| text::website("website", &raw))
            .transpose()?,
        colors: input.colors.map(colors).transpose()?,
        voice: input.voice.map(voice).transpose()?,
        audience: long("audience", input.audience)?,
        goals: long("goals", input.goals)?,
        main_offer: long("mainOffer", input.main_offer)?,
    })
}

/// Changes the fields given; `brand.updated` carries what changed.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    input: BrandProfileInput,
) -> AppResult<BrandProfile> {
    let workspace_id = id_arg("workspaceId", workspace_id)?;
    let new = clean(input)?;
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManageBrand)?;
    let before = brand_profile::Entity::find_by_id(workspace_id)
        .one(&txn)
        .await?;
    let empty = brand_profile::Model {
        workspace_id: workspace_id.to_owned(),
        industry: None,
        website: None,
        colors: json!([]),
        voice: json!([]),
        audience: None,
        goals: None,
        main_offer: None,
        updated_at: Utc::now(),
    };
    let old = before.clone().unwrap_or(empty);
    let mut row = old.clone().into_active_model();
    let mut changes = Changes::default();
    macro_rules! apply {
        ($field:ident, $name:literal) => {
            if let Some(value) = new.$field
                && value != old.$field
            {
                changes = changes.field($name, json!(old.$field), json!(value));
                row.$field = Set(value);
            }
        };
    }
    apply!(industry, "industry");
    apply!(website, "website");
    apply!(colors, "colors");
    apply!(voice, "voice");
    apply!(audience, "audience");
    apply!(goals, "goals");
    apply!(main_offer, "mainOffer");
    if changes.is_empty() {
        txn.commit().await?;
        return Ok(BrandProfile {
            workspace_id: workspace_id.to_owned(),
            model: before,
        });
    }
    row.updated_at = Set(Utc::now());
    let model = if before.is_some() {
        row.update(&txn).await?
    } else {
        row.reset_all().insert(&txn).await?
    };
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::BrandUpdated, workspace_id).with(changes),
    )
    .await?;
    txn.commit().await?;
    Ok(BrandProfile {
        workspace_id: workspace_id.to_owned(),
        model: Some(model),
    })
}

pub async fn add_fact(
    db: &DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    raw: &str,
) -> AppResult<brand_fact::Model> {
    let workspace_id = id_arg("workspaceId", workspace_id)?;
    let fact = text::multi_line("text", raw, FACT_MAX)?
        .ok_or_else(|| AppError::bad_input("text", "a fact must not be empty"))?;
    let txn = begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::ManageBrand)?;
    let held = brand_fact::Entity::find()
        .filter(brand_fact::Column::WorkspaceId.eq(workspace_id))
        .count(&txn)
        .await?;
    if held >= FACTS_MAX {
        return Err(AppError::Conflict(format!(
            "the brand memory holds at most {FACTS_MAX} facts; remove one first"
        )));
    }
    let model = brand_fact::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_owned()),
        text: Set(fact),
        created_by: Set(viewer.user_id().map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::BrandFactAdded, &model.id)
            .with(Changes::default().created("text", model.text.clone())),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

pub async fn remove_fact(
    db: &DatabaseConnection,
    caller: &Principal,
    id: &str,
) -> AppResult<brand_fact::Model> {
    let id = id_arg("id", id)?;
    let txn = begin_write(db).await?;
    let (viewer, fact) = crate::access::load::locked_target::<brand_fact::Entity>(
        &txn,
        caller,
        "brand fact",
        id,
        |f| &f.workspace_id,
    )
    .await?;
    viewer.require(Capability::ManageBrand)?;
    brand_fact::Entity::delete_by_id(id).exec(&txn).await?;
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::BrandFactRemoved, id).with(Changes::default().field(
            "text",
            json!(fact.text),
            Value::Null,
        )),
    )
    .await?;
    txn.commit().await?;
    Ok(fact)
}
