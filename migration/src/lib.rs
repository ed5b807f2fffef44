//! Database migrations, run by `crm-api migrate` and automatically when the server starts.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_tables;
mod m20261124_000002_stage_stays;
pub mod m20261125_000003_funnel_cells;
mod m20261201_000004_change_events;
mod m20261201_000005_webhooks;
mod m20261201_000006_stale_deals;
pub mod m20261202_000007_meeting_cells;
mod m20261202_000008_credential_tables;
pub mod m20261202_000009_funnel_day_cells;
mod m20261203_000010_companies;
mod m20261203_000011_notes;
mod m20261204_000012_tasks;
mod m20261204_000013_contact_merges;
pub mod m20261205_000014_currencies;
mod m20261206_000015_custom_fields;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_tables::Migration),
            Box::new(m20261124_000002_stage_stays::Migration),
            Box::new(m20261125_000003_funnel_cells::Migration),
            Box::new(m20261201_000004_change_events::Migration),
            Box::new(m20261201_000005_webhooks::Migration),
            Box::new(m20261201_000006_stale_deals::Migration),
            Box::new(m20261202_000007_meeting_cells::Migration),
            Box::new(m20261202_000008_credential_tables::Migration),
            Box::new(m20261202_000009_funnel_day_cells::Migration),
            Box::new(m20261203_000010_companies::Migration),
            Box::new(m20261203_000011_notes::Migration),
            Box::new(m20261204_000012_tasks::Migration),
            Box::new(m20261204_000013_contact_merges::Migration),
            Box::new(m20261205_000014_currencies::Migration),
            Box::new(m20261206_000015_custom_fields::Migration),
        ]
    }
}
