//! SeaORM entities, one module per table. They know nothing of GraphQL.

pub mod activity_event;
pub mod agent;
pub mod agent_run;
pub mod agent_version;
pub mod api_key;
pub mod api_key_usage;
pub mod approval_decision;
pub mod approval_policy;
pub mod approval_request;
pub mod brand_fact;
pub mod brand_profile;
pub mod collection;
pub mod credit_entry;
pub mod custom_role;
pub mod digest_mark;
pub mod enums;
pub mod export;
pub mod export_profile;
pub mod invitation;
pub mod mail_outbox;
pub mod member;
pub mod member_credit_limit;
pub mod notification_cursor;
pub mod notification_default;
pub mod notification_preference;
pub mod prompt;
pub mod prompt_collection;
pub mod prompt_fetch;
pub mod prompt_version;
pub mod provider_key;
pub mod refresh_token;
pub mod run_event;
pub mod task;
pub mod task_step;
pub mod user;
pub mod workroom;
pub mod workroom_viewer;
pub mod workspace;

/// Reads a model from a row by position instead of by column name: its
/// columns in declaration order, starting at a given index, as
/// `Entity::find()` and `find_also_related` select them. A row of a hot
/// listing is read without looking each column up by name. Debug builds
/// check the names against the declared fields.
macro_rules! by_position {
    ($($field:ident),+ $(,)?) => {
        impl Model {
            /// The fields `at` reads, in order: the entity's columns as
            /// declared (a test holds them to `Column::iter`).
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];
            /// How many columns the model reads.
            pub const COLUMNS: usize = Self::FIELDS.len();

            /// The model from the columns `at..at + COLUMNS` of `row`.
            pub fn at(row: &sea_orm::QueryResult, at: usize) -> Result<Self, sea_orm::DbErr> {
                #[cfg(debug_assertions)]
                crate::check_positions(row, at, Self::FIELDS);
                let mut index = at;
                let mut next = || {
                    index += 1;
                    index - 1
                };
                Ok(Self {
                    $($field: row.try_get_by_index(next())?,)+
                })
            }

            /// The model from the columns `at..` of `row`, or None when its
            /// first column (a text key) is null: the missing side of a left
            /// join.
            pub fn at_nullable(
                row: &sea_orm::QueryResult,
                at: usize,
            ) -> Result<Option<Self>, sea_orm::DbErr> {
                match row.try_get_by_index_nullable::<Option<String>>(at) {
                    Ok(Some(_)) => Self::at(row, at).map(Some),
                    Ok(None) | Err(sea_orm::TryGetError::Null(_)) => Ok(None),
                    Err(sea_orm::TryGetError::DbErr(err)) => Err(err),
                }
            }
        }
    };
}

#[cfg(debug_assertions)]
fn check_positions(row: &sea_orm::QueryResult, at: usize, fields: &[&str]) {
    let names = row.column_names();
    for (offset, field) in fields.iter().enumerate() {
        let name = names.get(at + offset).map(String::as_str).unwrap_or("");
        assert!(
            name == *field
                || (name.len() == field.len() + 2 && &name[1..2] == "_" && name.ends_with(field)),
            "column {} is {name}, not {field}",
            at + offset
        );
    }
}

pub(crate) use by_position;
