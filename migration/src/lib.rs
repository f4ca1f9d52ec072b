//! Schema migrations. The server applies pending ones at start.

pub use sea_orm_migration::prelude::*;

mod ddl;
mod m20261124_000001_foundation;
mod m20261124_000002_team;
mod m20261124_000003_live;
mod m20261125_000001_invitation_mail_budget;
mod m20261202_000001_api_keys;
mod m20261202_000002_rate_counts;
mod m20261202_000003_idempotency;
mod m20261203_000001_member_order;
mod m20261204_000001_work;
mod m20261204_000002_provider_keys;
mod m20261204_000003_tasks;
mod m20261206_000001_library;
mod m20261206_000002_brand;
mod m20261206_000003_retention;
mod m20261206_000004_notifications;
mod m20261206_000005_images;
mod m20261206_000006_activity_daily;
mod m20261207_000001_search_words;
mod m20261207_000002_credit_floor;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_team::Migration),
            Box::new(m20261124_000003_live::Migration),
            Box::new(m20261125_000001_invitation_mail_budget::Migration),
            Box::new(m20261202_000001_api_keys::Migration),
            Box::new(m20261202_000002_rate_counts::Migration),
            Box::new(m20261202_000003_idempotency::Migration),
            Box::new(m20261203_000001_member_order::Migration),
            Box::new(m20261204_000001_work::Migration),
            Box::new(m20261204_000002_provider_keys::Migration),
            Box::new(m20261204_000003_tasks::Migration),
            Box::new(m20261206_000001_library::Migration),
            Box::new(m20261206_000002_brand::Migration),
            Box::new(m20261206_000003_retention::Migration),
            Box::new(m20261206_000004_notifications::Migration),
            Box::new(m20261206_000005_images::Migration),
            Box::new(m20261206_000006_activity_daily::Migration),
            Box::new(m20261207_000001_search_words::Migration),
            Box::new(m20261207_000002_credit_floor::Migration),
        ]
    }
}
