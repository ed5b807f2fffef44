//! `exchange_rates`: what one unit of a currency is worth in the organization's base currency, from a day on.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exchange_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// ISO 4217 code, upper case; never the base currency.
    pub currency: String,
    /// The first day the rate applies; it holds until the currency's next rate.
    pub day: Date,
    /// A positive decimal ("1.085"), kept as text so that both engines keep it exactly.
    pub rate: String,
    pub updated_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
