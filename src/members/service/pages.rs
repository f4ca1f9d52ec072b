//! Reading members: pages of one workspace, first pages of several at
//! once, and one member with its account and custom role.

use super::*;

/// The accounts and custom roles of some member rows, in two statements
/// at most, whatever the number of rows or workspaces.
async fn people(
    db: &impl ConnectionTrait,
    members: &[member::Model],
) -> AppResult<(
    HashMap<String, user::Person>,
    HashMap<String, custom_role::Model>,
)> {
    let user_ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let users = user::Person::by_id(db, user_ids).await?;
    Ok((users, roles_of(db, members).await?))
}

/// The custom roles some member rows hold, in one statement; none when
/// they hold none.
pub async fn roles_of<'a>(
    db: &impl ConnectionTrait,
    members: impl IntoIterator<Item = &'a member::Model>,
) -> AppResult<HashMap<String, custom_role::Model>> {
    let role_ids: Vec<String> = members
        .into_iter()
        .filter_map(|m| m.custom_role_id.clone())
        .collect();
    let roles: HashMap<String, custom_role::Model> = if role_ids.is_empty() {
        HashMap::new()
    } else {
        custom_role::Entity::find()
            .filter(custom_role::Column::Id.is_in(role_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect()
    };
    Ok(roles)
}

/// Member rows with their accounts and custom roles.
fn assemble(
    workspace: &workspace::Model,
    members: Vec<member::Model>,
    users: &HashMap<String, user::Person>,
    roles: &HashMap<String, custom_role::Model>,
) -> AppResult<Vec<Member>> {
    members
        .into_iter()
        .map(|model| {
            let user = users
                .get(&model.user_id)
                .cloned()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("member without user")))?;
            let custom_role = model
                .custom_role_id
                .as_ref()
                .and_then(|id| roles.get(id))
                .cloned();
            Ok(Member::new(workspace, model, user, custom_role))
        })
        .collect()
}

pub async fn with_users(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    members: Vec<member::Model>,
) -> AppResult<Vec<Member>> {
    let (users, roles) = people(db, &members).await?;
    assemble(workspace, members, &users, &roles)
}

/// The first page of members of each of several workspaces, in two
/// statements at most however many workspaces there are: the rows with
/// their accounts (a window per workspace), and the custom roles they hold.
pub async fn first_pages(
    db: &impl ConnectionTrait,
    workspaces: &[&workspace::Model],
    first: u64,
) -> AppResult<HashMap<String, MemberConnection>> {
    if workspaces.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let mark = |n| crate::db::placeholder(backend, n);
    let list: Vec<String> = (1..=workspaces.len()).map(mark).collect();
    let limit = mark(workspaces.len() + 1);
    // Each workspace's first rows from the (workspace_id, id) index: one
    // lookup per workspace on PostgreSQL, a window over their rows on SQLite
    // (which has no LATERAL).
    let sql = match backend {
        sea_orm::DbBackend::Postgres => format!(
            "SELECT {}, u.email, u.name
             FROM (VALUES {}) AS w(id)
             CROSS JOIN LATERAL (SELECT * FROM members WHERE workspace_id = w.id ORDER BY id LIMIT {limit}) AS m
             JOIN users u ON u.id = m.user_id",
            crate::db::column_list::<member::Column>("m"),
            list.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(", ")
        ),
        _ => format!(
            "SELECT {}, u.email, u.name FROM (SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.workspace_id ORDER BY m.id) AS page_row
             FROM members m WHERE m.workspace_id IN ({})) AS t JOIN users u ON u.id = t.user_id
             WHERE page_row <= {limit}",
            crate::db::column_list::<member::Column>("t"),
            list.join(", ")
        ),
    };
    let mut values: Vec<sea_orm::Value> = workspaces.iter().map(|w| w.id.clone().into()).collect();
    values.push(((first + 1) as i64).into());
    let joined: Vec<(member::Model, user::Person)> = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
        .iter()
        .map(with_user)
        .collect::<Result<_, _>>()?;
    let mut users = HashMap::new();
    let rows: Vec<member::Model> = joined
        .into_iter()
        .map(|(member, user)| {
            users.insert(user.id.clone(), user);
            member
        })
        .collect();
    let roles = roles_of(db, &rows).await?;
    let mut by_workspace: HashMap<String, Vec<member::Model>> = HashMap::new();
    for row in rows {
        by_workspace
            .entry(row.workspace_id.clone())
            .or_default()
            .push(row);
    }
    for rows in by_workspace.values_mut() {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let mut pages = HashMap::new();
    for workspace in workspaces {
        let mut rows = by_workspace.remove(&workspace.id).unwrap_or_default();
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let cursors: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
        pages.insert(
            workspace.id.clone(),
            MemberConnection {
                nodes: assemble(workspace, rows, &users, &roles)?,
                page_info: PageInfo::of(&cursors, has_next_page, false),
                workspace_id: workspace.id.clone(),
            },
        );
    }
    Ok(pages)
}

pub async fn one(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    member: member::Model,
) -> AppResult<Member> {
    with_users(db, workspace, vec![member])
        .await?
        .pop()
        .ok_or(AppError::NotFound("member"))
}

/// A members cursor: the id of the last member of the previous page.
fn parse_cursor(cursor: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(cursor)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| AppError::bad_input("after", "not a valid members cursor"))
}

/// A page of the workspace's members in joining order (ids are time-ordered).
pub async fn page(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    first: u64,
    after: Option<String>,
) -> AppResult<MemberConnection> {
    let mut query = member::Entity::find().filter(member::Column::WorkspaceId.eq(&workspace.id));
    let after_given = after.is_some();
    if let Some(after) = after {
        query = query.filter(member::Column::Id.gt(parse_cursor(&after)?));
    }
    let mut rows = query
        .order_by_asc(member::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let cursors: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    Ok(MemberConnection {
        nodes: with_users(db, workspace, rows).await?,
        page_info: PageInfo::of(&cursors, has_next_page, after_given),
        workspace_id: workspace.id.clone(),
    })
}

/// Members of a workspace, banned ones included.
pub async fn count(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<u64> {
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .count(db)
        .await?)
}

/// A member row read with its account's email and name after it.
fn with_user(row: &sea_orm::QueryResult) -> Result<(member::Model, user::Person), sea_orm::DbErr> {
    let member = member::Model::at(row, 0)?;
    let at = member::Model::COLUMNS;
    let user = user::Person {
        id: member.user_id.clone(),
        email: row.try_get_by_index(at)?,
        name: row.try_get_by_index(at + 1)?,
    };
    Ok((member, user))
}
