use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::ddl;

/// The database itself refuses a credit pool below zero, a reservation
/// beyond the balance, a run that spent more than it reserved and a
/// negative cap, whatever code writes them: CHECK constraints on
/// PostgreSQL; triggers on SQLite, which cannot add a constraint to a table.
/// Each check: its table, its name, and its terms, which all hold; `$`
/// stands before each column (`NEW.` in a SQLite trigger).
const CHECKS: &[(&str, &str, &[&str])] = &[
    (
        "workspaces",
        "workspaces_credit_floor",
        &[
            "$credit_balance >= 0",
            "$credits_reserved >= 0",
            "$credits_reserved <= $credit_balance",
        ],
    ),
    (
        "agent_runs",
        "agent_runs_credit_floor",
        &[
            "$credits_reserved >= 0",
            "$credits_used >= 0",
            "$credits_used <= $credits_reserved",
        ],
    ),
    (
        "member_credit_limits",
        "member_credit_limits_floor",
        &["$monthly_limit >= 0"],
    ),
];

fn up_statements(backend: DbBackend) -> Vec<String> {
    let mut out = Vec::new();
    for (table, name, terms) in CHECKS {
        match backend {
            DbBackend::Postgres => {
                let check = terms.join(" AND ").replace('$', "");
                out.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check})"
                ));
            }
            _ => {
                let when = terms
                    .iter()
                    .map(|term| format!("NOT ({})", term.replace('$', "NEW.")))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                for event in ["INSERT", "UPDATE"] {
                    out.push(format!(
                        "CREATE TRIGGER {name}_{} BEFORE {event} ON {table}
                         WHEN {when}
                         BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END",
                        event.to_lowercase()
                    ));
                }
            }
        }
    }
    out
}

fn down_statements(backend: DbBackend) -> Vec<String> {
    let mut out = Vec::new();
    for (table, name, _) in CHECKS {
        match backend {
            DbBackend::Postgres => out.push(format!("ALTER TABLE {table} DROP CONSTRAINT {name}")),
            _ => {
                out.push(format!("DROP TRIGGER {name}_insert"));
                out.push(format!("DROP TRIGGER {name}_update"));
            }
        }
    }
    out
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000002_credit_floor"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = up_statements(manager.get_database_backend());
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        ddl::run(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = down_statements(manager.get_database_backend());
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        ddl::run(manager, &statements).await
    }
}
