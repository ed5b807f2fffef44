//! `MetricDefinition`: what a metric number means, for BI tools that show it
//! (`service::metrics::definitions`, with the formula from the field's schema description).

use async_graphql::{Enum, Object, SimpleObject};

use super::Money;
use crate::service::metrics::definitions::{self, Definition};

/// The unit of a metric number.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::service::metrics::definitions::Unit")]
pub enum MetricUnit {
    /// A percentage with two decimals (`Decimal`).
    Percent,
    /// Money with two decimals (`Decimal`).
    Money,
    /// Days with two decimals (`Decimal`).
    Days,
    /// A whole number.
    Count,
    /// True or false.
    Boolean,
}

/// A band a rate falls in: the first whose `upToPercent` (inclusive) the exact rate does
/// not exceed.
#[derive(SimpleObject)]
pub struct MetricBand {
    /// The band's name, as the metric's `band` field gives it.
    name: String,
    /// The highest rate (percent, inclusive) in the band; null for the last band.
    up_to_percent: Option<Money>,
}

/// What a metric number means.
pub struct MetricDefinition {
    pub definition: Definition,
    /// The field's description in the schema: the formula in words.
    pub description: String,
}

/// What a metric number means.
#[Object]
impl MetricDefinition {
    /// `Type.field`, e.g. `NoShowStats.noShowRate`.
    async fn id(&self) -> String {
        self.definition.id()
    }
    /// The root metric field (or object, for computed fields) it belongs to.
    async fn metric(&self) -> &str {
        self.definition.metric
    }
    /// The GraphQL type that carries it.
    async fn type_name(&self) -> &str {
        self.definition.type_name
    }
    /// The field on that type.
    async fn field(&self) -> &str {
        self.definition.field
    }
    /// The formula in words: the field's own description in the schema.
    async fn description(&self) -> &str {
        &self.description
    }
    /// Its unit.
    async fn unit(&self) -> MetricUnit {
        self.definition.unit.into()
    }
    /// What is divided, in words (null for a count or sum).
    async fn numerator(&self) -> Option<&str> {
        self.definition.numerator
    }
    /// What it is divided by; the number is null when this is zero.
    async fn denominator(&self) -> Option<&str> {
        self.definition.denominator
    }
    /// How it is rounded.
    async fn rounding(&self) -> &str {
        self.definition.unit.rounding()
    }
    /// Which records are counted.
    async fn counts(&self) -> &str {
        self.definition.counts
    }
    /// Its bands, lowest first (empty when it has none).
    async fn bands(&self) -> Vec<MetricBand> {
        self.definition
            .bands
            .iter()
            .map(|b| MetricBand {
                name: b.name.to_owned(),
                up_to_percent: b.up_to_percent.map(|p| Money::from_cents(p * 100)),
            })
            .collect()
    }
}

/// The definitions, each with its field's description from `index`; `metric` narrows them.
pub fn definitions(index: &crate::graphql::schema_index::SchemaIndex, metric: Option<&str>) -> Vec<MetricDefinition> {
    definitions::all()
        .into_iter()
        .filter(|d| metric.is_none_or(|m| d.metric == m))
        .map(|definition| {
            let description = index
                .field(definition.type_name, definition.field)
                .and_then(|f| f.description.clone())
                .unwrap_or_default();
            MetricDefinition { definition, description }
        })
        .collect()
}
