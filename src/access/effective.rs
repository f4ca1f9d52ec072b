//! Effective access: the one computation of what a member may reach, from its
//! role, its custom role's preset, its own overrides and the workspace's
//! settings. Every guard and every listing uses it.

use std::collections::{BTreeMap, HashMap};

use entity::{custom_role, member, workspace};
use serde_json::Value;

use super::{Access, Area, DbRole, role_default};

/// Per-area levels as stored: `{"BILLING": "VIEW"}`.
pub type AreaMap = BTreeMap<Area, Access>;
/// Per-workroom levels as stored: `{"<workroom id>": "FULL"}`.
pub type WorkroomMap = BTreeMap<String, Access>;

pub fn area_map(json: Option<&Value>) -> AreaMap {
    json.and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

pub fn workroom_map(json: Option<&Value>) -> WorkroomMap {
    json.and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Which workrooms a member reaches.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkroomScope {
    /// Every workroom, at the member's PROJECTS level.
    All,
    /// Only these, each at its own level.
    Selected(HashMap<String, Access>),
}

#[derive(Clone, Debug)]
pub struct Effective {
    role: DbRole,
    areas: BTreeMap<Area, Access>,
    workrooms: WorkroomScope,
}

impl Effective {
    pub fn compute(
        workspace: &workspace::Model,
        member: &member::Model,
        custom_role: Option<&custom_role::Model>,
    ) -> Self {
        let role = member.role;
        let preset = custom_role.map(|r| area_map(Some(&r.area_access)));
        let overrides = area_map(member.area_access.as_ref());
        let areas = Area::ALL
            .into_iter()
            .map(|area| {
                let level = match role {
                    DbRole::Owner => Access::Full,
                    // Admins bypass scopes; billing only while the
                    // workspace lets admins manage it.
                    DbRole::Admin if area == Area::Billing && !workspace.admins_manage_billing => {
                        Access::View
                    }
                    DbRole::Admin => Access::Full,
                    DbRole::Member | DbRole::Viewer => {
                        let base = preset
                            .as_ref()
                            .and_then(|p| p.get(&area).copied())
                            .unwrap_or_else(|| role_default(role, area));
                        let level = overrides.get(&area).copied().unwrap_or(base);
                        cap_for_role(role, level)
                    }
                };
                (area, level)
            })
            .collect();
        let all = member
            .all_workrooms
            .or(custom_role.map(|r| r.all_workrooms))
            .unwrap_or(true);
        let workrooms = if matches!(role, DbRole::Owner | DbRole::Admin) || all {
            WorkroomScope::All
        } else {
            let mut list = custom_role
                .filter(|_| member.all_workrooms.is_none())
                .map(|r| workroom_map(Some(&r.workroom_access)))
                .unwrap_or_default();
            list.extend(workroom_map(member.workroom_access.as_ref()));
            WorkroomScope::Selected(
                list.into_iter()
                    .map(|(id, level)| (id, cap_for_role(role, level)))
                    .collect(),
            )
        };
        Self {
            role,
            areas,
            workrooms,
        }
    }

    /// What a workspace API key starts from: an admin's reach.
    pub fn admin(workspace: &workspace::Model) -> Self {
        let areas = Area::ALL
            .into_iter()
            .map(|area| {
                let level = if area == Area::Billing && !workspace.admins_manage_billing {
                    Access::View
                } else {
                    Access::Full
                };
                (area, level)
            })
            .collect();
        Self {
            role: DbRole::Admin,
            areas,
            workrooms: WorkroomScope::All,
        }
    }

    /// At most `scopes` in each area (absent areas: NONE), and in each
    /// workroom at most the PROJECTS scope.
    pub fn narrowed(mut self, scopes: &AreaMap) -> Self {
        let cap = |area: Area| scopes.get(&area).copied().unwrap_or(Access::None);
        for (area, level) in self.areas.iter_mut() {
            *level = (*level).min(cap(*area));
        }
        if let WorkroomScope::Selected(list) = &mut self.workrooms {
            for level in list.values_mut() {
                *level = (*level).min(cap(Area::Projects));
            }
        }
        self
    }

    pub fn area(&self, area: Area) -> Access {
        self.areas.get(&area).copied().unwrap_or(Access::None)
    }

    pub fn areas(&self) -> impl Iterator<Item = (Area, Access)> + '_ {
        self.areas.iter().map(|(a, l)| (*a, *l))
    }

    /// The level at which the member reaches one workroom.
    pub fn workroom(&self, workroom_id: &str) -> Access {
        match &self.workrooms {
            WorkroomScope::All => self.area(Area::Projects),
            WorkroomScope::Selected(list) => list.get(workroom_id).copied().unwrap_or(Access::None),
        }
    }

    /// The workrooms the member may read: None for all of them.
    pub fn readable_workrooms(&self) -> Option<Vec<String>> {
        match &self.workrooms {
            WorkroomScope::All if self.area(Area::Projects) >= Access::View => None,
            WorkroomScope::All => Some(Vec::new()),
            WorkroomScope::Selected(list) => Some(
                list.iter()
                    .filter(|(_, level)| **level >= Access::View)
                    .map(|(id, _)| id.clone())
                    .collect(),
            ),
        }
    }

    pub fn scope(&self) -> &WorkroomScope {
        &self.workrooms
    }

    pub fn role(&self) -> DbRole {
        self.role
    }
}

/// A viewer never rises above VIEW.
pub fn cap_for_role(role: DbRole, level: Access) -> Access {
    if role == DbRole::Viewer {
        level.min(Access::View)
    } else {
        level
    }
}
