//! Who may read an activity event: VIEW on its area and, when it belongs to
//! a workroom, VIEW on that workroom. The one rule, applied in SQL to pages
//! of the feed and in memory to live events.

use std::collections::HashSet;

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Condition, ExprTrait};

use super::{Access, Area, Membership};

/// The events one reader may see.
#[derive(Clone, Debug)]
pub struct Audience {
    areas: Vec<Area>,
    /// None: every workroom the reader's PROJECTS level allows.
    workrooms: Option<HashSet<String>>,
}

impl Audience {
    pub fn of(reader: &Membership) -> Self {
        Self {
            areas: Area::ALL
                .into_iter()
                .filter(|area| reader.access(*area) >= Access::View)
                .collect(),
            workrooms: reader
                .effective
                .readable_workrooms()
                .map(|list| list.into_iter().collect()),
        }
    }

    /// Whether an event of `area`, in `workroom_id` if any, is visible.
    pub fn admits(&self, area: &str, workroom_id: Option<&str>) -> bool {
        let area_ok = Area::parse(area).is_some_and(|area| self.areas.contains(&area));
        let room_ok = match (&self.workrooms, workroom_id) {
            (_, None) | (None, Some(_)) => true,
            (Some(list), Some(room)) => list.contains(room),
        };
        area_ok && room_ok
    }

    /// The same rule as a condition on `activity_events`.
    pub fn condition(&self) -> Condition {
        use entity::activity_event::Column;
        let areas: Vec<&str> = self.areas.iter().map(|a| a.as_str()).collect();
        let mut condition = Condition::all().add(Column::Area.is_in(areas));
        if let Some(list) = &self.workrooms {
            let list: Vec<&str> = list.iter().map(String::as_str).collect();
            condition = condition.add(
                Column::WorkroomId
                    .is_null()
                    .or(Column::WorkroomId.is_in(list)),
            );
        }
        condition
    }
}
