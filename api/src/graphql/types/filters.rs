//! Filter and ordering inputs shared by the lists; each converts into a service filter.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Enum, ID, InputObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::date::Date;

use super::money::Money;
use crate::error::ApiResult;
use crate::graphql::ids::{NodeKind, decode};
use crate::service::filter::{OneOf, Range};

/// Matches records whose reference is this id, or any of these ids.
#[derive(InputObject, Default)]
pub struct IdFilter {
    /// Exactly this id.
    pub eq: Option<ID>,
    /// Any of these ids.
    #[graphql(name = "in")]
    pub any: Option<Vec<ID>>,
}

impl IdFilter {
    pub fn decode(&self, field: &str, kind: NodeKind) -> ApiResult<OneOf<i64>> {
        Ok(OneOf {
            eq: self.eq.as_ref().map(|id| decode(field, id, kind)).transpose()?,
            any: self
                .any
                .as_ref()
                .map(|ids| ids.iter().map(|id| decode(field, id, kind)).collect::<ApiResult<Vec<_>>>())
                .transpose()?,
        })
    }
}

pub fn decode_ids(field: &str, filter: &Option<IdFilter>, kind: NodeKind) -> ApiResult<Option<OneOf<i64>>> {
    filter.as_ref().map(|f| f.decode(field, kind)).transpose()
}

macro_rules! range_filter {
    ($name:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(InputObject, Default)]
        pub struct $name {
            /// Greater than.
            pub gt: Option<$ty>,
            /// Greater than or equal.
            pub gte: Option<$ty>,
            /// Less than.
            pub lt: Option<$ty>,
            /// Less than or equal.
            pub lte: Option<$ty>,
        }
    };
}

range_filter!(DateTimeFilter, Timestamp, "Bounds on a timestamp (RFC 3339).");
range_filter!(DateFilter, Date, "Bounds on a calendar date (YYYY-MM-DD).");
range_filter!(DecimalFilter, Money, "Bounds on a money amount.");
range_filter!(IntFilter, i32, "Bounds on a whole number.");

impl DateTimeFilter {
    pub fn to_range(&self) -> Range<DateTime<Utc>> {
        let at = |t: Option<Timestamp>| t.map(|t| t.0);
        Range { gt: at(self.gt), gte: at(self.gte), lt: at(self.lt), lte: at(self.lte) }
    }
}

impl DateFilter {
    pub fn to_range(&self) -> Range<NaiveDate> {
        let day = |d: Option<Date>| d.map(|d| d.0);
        Range { gt: day(self.gt), gte: day(self.gte), lt: day(self.lt), lte: day(self.lte) }
    }
}

impl IntFilter {
    pub fn to_range(&self) -> Range<i32> {
        Range { gt: self.gt, gte: self.gte, lt: self.lt, lte: self.lte }
    }
}

impl DecimalFilter {
    pub fn to_range(&self, field: &str) -> ApiResult<Range<i64>> {
        let cents = |m: &Option<Money>| m.as_ref().map(|m| m.cents(field)).transpose();
        Ok(Range { gt: cents(&self.gt)?, gte: cents(&self.gte)?, lt: cents(&self.lt)?, lte: cents(&self.lte)? })
    }
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl OrderDirection {
    pub fn descending(self) -> bool {
        self == Self::Desc
    }
}

/// Defines a `{ eq, in }` filter over a GraphQL enum and its conversion to stored values.
macro_rules! enum_filter {
    ($name:ident, $gql:ty, $stored:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(async_graphql::InputObject, Default)]
        pub struct $name {
            /// Exactly this value.
            pub eq: Option<$gql>,
            /// Any of these values.
            #[graphql(name = "in")]
            pub any: Option<Vec<$gql>>,
        }

        impl $name {
            pub fn to_one_of(&self) -> $crate::service::filter::OneOf<$stored> {
                $crate::service::filter::OneOf {
                    eq: self.eq.map(Into::into),
                    any: self.any.as_ref().map(|v| v.iter().map(|e| (*e).into()).collect()),
                }
            }
        }
    };
}
pub(crate) use enum_filter;
