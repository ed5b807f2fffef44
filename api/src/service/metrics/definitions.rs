//! What each metric number means (SPEC section 10, `metricDefinitions`): per metric field,
//! its unit, numerator and denominator, the records it counts and its bands. The formula in
//! words is the field's own description in the schema (`graphql::query::metrics` joins the
//! two), so the API's documentation and its definitions cannot drift apart; the band
//! thresholds are `bands`' own constants.

use super::bands::{NO_SHOW_BANDS, NoShowBand, REJECTION_BANDS, RejectionBand};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A percentage with two decimals.
    Percent,
    /// Money with two decimals (exact cents).
    Money,
    /// Days with two decimals.
    Days,
    /// A whole number.
    Count,
    /// True or false.
    Boolean,
}

impl Unit {
    pub fn rounding(self) -> &'static str {
        match self {
            Unit::Percent => "two decimals, rounded half-up once from the exact ratio of integer counts or cents",
            Unit::Money => "exact cents; a derived amount is rounded half-up to cents once, from unrounded inputs",
            Unit::Days => "two decimals, rounded half-up once from exact seconds",
            Unit::Count | Unit::Boolean => "exact",
        }
    }
}

/// One band: its name and the highest rate (a whole percent, inclusive) it covers; `None`
/// for the last band, which covers everything above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub name: &'static str,
    pub up_to_percent: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The root metric (or the object, for computed fields) the number belongs to.
    pub metric: &'static str,
    /// The GraphQL type and field that carry it.
    pub type_name: &'static str,
    pub field: &'static str,
    pub unit: Unit,
    pub numerator: Option<&'static str>,
    pub denominator: Option<&'static str>,
    /// Which records are counted.
    pub counts: &'static str,
    pub bands: Vec<Band>,
}

impl Definition {
    /// `Type.field`, e.g. `NoShowStats.noShowRate`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.type_name, self.field)
    }
}

const MEETINGS: &str = "meetings with scheduledAt in the period (only those linked to a deal of filter.pipelineId when given), of the owners in the caller's scope, not deleted";
const FUNNEL_DEALS: &str = "the pipeline's deals in the caller's scope, not deleted: created in the period (COHORT) or that entered a stage in it (ACTIVITY)";
const STAYS: &str =
    "each stay of the funnel's deals in the stage: from entering until the next move, the close, or now";
const LOST: &str = "deals LOST with closedAt in the period, in the caller's scope, not deleted";
const LEADS: &str = "contacts created in the period (leads), of the owners in the caller's scope, not deleted";
const WON_IN_PERIOD: &str = "deals WON with closedAt in the period and their distinct contacts";
const FORECAST_OPEN: &str = "open deals in the caller's scope, not deleted, by the month or quarter of their expectedCloseDate (in the filter period when given; undated deals only without one)";
const FORECAST_WON: &str = "deals WON with closedAt in the period, in the caller's scope";
const RECORD: &str =
    "deals in the caller's scope that entered the stage and closed (WON or LOST) within the last lookbackMonths";
const TARGETS: &str = "each visible target whose own period overlaps the filter period, and the deals WON by its user (or any member of its team) with closedAt inside the target's own period";

fn no_show_bands() -> Vec<Band> {
    let name = |b: NoShowBand| match b {
        NoShowBand::Excellent => "EXCELLENT",
        NoShowBand::Acceptable => "ACCEPTABLE",
        NoShowBand::Elevated => "ELEVATED",
        NoShowBand::Problem => "PROBLEM",
    };
    let mut bands: Vec<Band> =
        NO_SHOW_BANDS.iter().map(|(limit, b)| Band { name: name(*b), up_to_percent: Some(*limit) }).collect();
    bands.push(Band { name: name(NoShowBand::Problem), up_to_percent: None });
    bands
}

fn rejection_bands() -> Vec<Band> {
    let name = |b: RejectionBand| match b {
        RejectionBand::Normal => "NORMAL",
        RejectionBand::High => "HIGH",
        RejectionBand::Critical => "CRITICAL",
    };
    let mut bands: Vec<Band> =
        REJECTION_BANDS.iter().map(|(limit, b)| Band { name: name(*b), up_to_percent: Some(*limit) }).collect();
    bands.push(Band { name: name(RejectionBand::Critical), up_to_percent: None });
    bands
}

/// Every metric number the API computes.
pub fn all() -> Vec<Definition> {
    use Unit::*;
    let d = |metric, type_name, field, unit, numerator, denominator, counts| Definition {
        metric,
        type_name,
        field,
        unit,
        numerator,
        denominator,
        counts,
        bands: Vec::new(),
    };
    let count = |metric, type_name, field, counts| d(metric, type_name, field, Count, None, None, counts);
    let mut out = vec![
        count("noShowStats", "NoShowStats", "meetings", MEETINGS),
        count("noShowStats", "NoShowStats", "completed", MEETINGS),
        count("noShowStats", "NoShowStats", "noShows", MEETINGS),
        count("noShowStats", "NoShowStats", "canceled", MEETINGS),
        count("noShowStats", "NoShowStats", "rescheduled", MEETINGS),
        count("noShowStats", "NoShowStats", "unlogged", MEETINGS),
        count("noShowStats", "NoShowStats", "upcoming", MEETINGS),
        Definition {
            bands: no_show_bands(),
            ..d(
                "noShowStats",
                "NoShowStats",
                "noShowRate",
                Percent,
                Some("noShows"),
                Some("completed + noShows"),
                MEETINGS,
            )
        },
        count("noShowStats", "NoShowStats", "followedUpWithinHour", MEETINGS),
        d(
            "noShowStats",
            "NoShowStats",
            "followUpRate",
            Percent,
            Some("followedUpWithinHour"),
            Some("noShows"),
            MEETINGS,
        ),
        count("funnel", "FunnelStep", "reached", FUNNEL_DEALS),
        d(
            "funnel",
            "FunnelStep",
            "amount",
            Money,
            Some("Σ amount of the deals that reached the step"),
            None,
            FUNNEL_DEALS,
        ),
        d(
            "funnel",
            "FunnelStep",
            "conversionFromPrevious",
            Percent,
            Some("reached(this step)"),
            Some("reached(previous step)"),
            FUNNEL_DEALS,
        ),
        d(
            "funnel",
            "FunnelStep",
            "conversionFromFirst",
            Percent,
            Some("reached(this step)"),
            Some("reached(first stage)"),
            FUNNEL_DEALS,
        ),
        count("funnel", "FunnelStep", "lostHere", FUNNEL_DEALS),
        d("funnel", "FunnelStep", "avgDaysInStage", Days, Some("Σ stay lengths"), Some("number of stays"), STAYS),
        d("funnel", "FunnelStep", "medianDaysInStage", Days, None, None, STAYS),
        d("funnel", "FunnelStep", "p90DaysInStage", Days, None, None, STAYS),
        count("funnel", "FunnelStep", "staleOpen", FUNNEL_DEALS),
        count("funnel", "Funnel", "deals", FUNNEL_DEALS),
        count("funnel", "Funnel", "won", FUNNEL_DEALS),
        count("funnel", "Funnel", "lost", FUNNEL_DEALS),
        count("funnel", "Funnel", "open", FUNNEL_DEALS),
        d("funnel", "Funnel", "winRate", Percent, Some("won"), Some("won + lost"), FUNNEL_DEALS),
        d(
            "funnel",
            "Funnel",
            "weightedPipeline",
            Money,
            Some("Σ amount × probability of the current stage / 100 over open deals"),
            None,
            FUNNEL_DEALS,
        ),
        d(
            "funnel",
            "Funnel",
            "avgDaysToWin",
            Days,
            Some("Σ (closedAt − createdAt) of WON deals"),
            Some("won"),
            FUNNEL_DEALS,
        ),
        count("lostDeals", "LostDeals", "count", LOST),
        d("lostDeals", "LostDeals", "lostAmount", Money, Some("Σ amount"), None, LOST),
        d(
            "lostDeals",
            "LostDeals",
            "weightedLostAmount",
            Money,
            Some("Σ amount × probability of the stage lost in / 100"),
            None,
            LOST,
        ),
        d(
            "lostDeals",
            "LostDeals",
            "acquisitionCost",
            Money,
            Some("Σ acquisition cost of their contacts, each contact once"),
            None,
            LOST,
        ),
        count("lostDeals", "LostBreakdown", "count", LOST),
        d("lostDeals", "LostBreakdown", "lostAmount", Money, Some("Σ amount of the group's deals"), None, LOST),
        d(
            "lostDeals",
            "LostBreakdown",
            "weightedLostAmount",
            Money,
            Some("Σ amount × probability of the stage lost in / 100, of the group's deals"),
            None,
            LOST,
        ),
        d(
            "lostDeals",
            "LostBreakdown",
            "acquisitionCost",
            Money,
            Some("Σ acquisition cost of the group's contacts, each contact once"),
            None,
            LOST,
        ),
        d("lostDeals", "LostBreakdown", "countShare", Percent, Some("count of the group"), Some("count"), LOST),
        d(
            "lostDeals",
            "LostBreakdown",
            "amountShare",
            Percent,
            Some("lostAmount of the group"),
            Some("lostAmount"),
            LOST,
        ),
        count("leadEconomics", "LeadEconomics", "leads", LEADS),
        count("leadEconomics", "LeadEconomics", "convertedLeads", LEADS),
        count("leadEconomics", "LeadEconomics", "customers", WON_IN_PERIOD),
        d(
            "leadEconomics",
            "LeadEconomics",
            "wonRevenue",
            Money,
            Some("Σ amount of deals WON in the period"),
            None,
            WON_IN_PERIOD,
        ),
        d(
            "leadEconomics",
            "LeadEconomics",
            "avgRevenuePerCustomer",
            Money,
            Some("wonRevenue (basis LIFETIME: every WON deal of those contacts)"),
            Some("customers"),
            WON_IN_PERIOD,
        ),
        d("leadEconomics", "LeadEconomics", "conversionRate", Percent, Some("convertedLeads"), Some("leads"), LEADS),
        d(
            "leadEconomics",
            "LeadEconomics",
            "acquisitionCostPerLead",
            Money,
            Some("Σ acquisition cost of the leads"),
            Some("leads"),
            LEADS,
        ),
        d(
            "leadEconomics",
            "LeadEconomics",
            "expectedValuePerLead",
            Money,
            Some("avgRevenuePerCustomer × conversionRate / 100"),
            None,
            LEADS,
        ),
        d(
            "leadEconomics",
            "LeadEconomics",
            "netValuePerLead",
            Money,
            Some("expectedValuePerLead − acquisitionCostPerLead"),
            None,
            LEADS,
        ),
        count("leadEconomics", "LeadEconomics", "lostLeads", LEADS),
        d(
            "leadEconomics",
            "LeadEconomics",
            "lostOpportunityCost",
            Money,
            Some("lostLeads × expectedValuePerLead"),
            None,
            LEADS,
        ),
        d(
            "leadEconomics",
            "LeadEconomics",
            "acquisitionCostSpentOnLostLeads",
            Money,
            Some("Σ acquisition cost of the lost leads"),
            None,
            LEADS,
        ),
        count("leadRejection", "LeadRejection", "leads", LEADS),
        count("leadRejection", "LeadRejection", "rejected", LEADS),
        Definition {
            bands: rejection_bands(),
            ..d("leadRejection", "LeadRejection", "rejectionRate", Percent, Some("rejected"), Some("leads"), LEADS)
        },
        count("leadRejection", "LeadRejection", "rejectedAfterFirstContact", LEADS),
        d(
            "leadRejection",
            "LeadRejection",
            "wastedAcquisitionCost",
            Money,
            Some("Σ acquisition cost of the rejected leads"),
            None,
            LEADS,
        ),
        d("targetAttainment", "TargetAttainment", "targetAmount", Money, Some("the target's amount"), None, TARGETS),
        d("targetAttainment", "TargetAttainment", "wonAmount", Money, Some("Σ amount of the won deals"), None, TARGETS),
        count("targetAttainment", "TargetAttainment", "wonCount", TARGETS),
        d(
            "targetAttainment",
            "TargetAttainment",
            "attainment",
            Percent,
            Some("wonAmount"),
            Some("targetAmount"),
            TARGETS,
        ),
        count("forecast", "ForecastPeriod", "deals", FORECAST_OPEN),
        d("forecast", "ForecastPeriod", "openAmount", Money, Some("Σ amount of the open deals"), None, FORECAST_OPEN),
        d(
            "forecast",
            "ForecastPeriod",
            "weightedAmount",
            Money,
            Some(
                "Σ amount × win probability of the deal's stage (STAGE_PROBABILITY: configured; HISTORICAL: historicalWinRate unless below minimumSample)",
            ),
            None,
            FORECAST_OPEN,
        ),
        d("forecast", "ForecastPeriod", "wonAmount", Money, Some("Σ amount of the won deals"), None, FORECAST_WON),
        count("forecast", "ForecastPeriod", "wonCount", FORECAST_WON),
        count("forecast", "ForecastAmounts", "deals", FORECAST_OPEN),
        d("forecast", "ForecastAmounts", "openAmount", Money, Some("Σ amount of the open deals"), None, FORECAST_OPEN),
        d(
            "forecast",
            "ForecastAmounts",
            "weightedAmount",
            Money,
            Some("Σ amount × win probability of the deal's stage, per basis"),
            None,
            FORECAST_OPEN,
        ),
        d("forecast", "HistoricalWinRate", "rate", Percent, Some("won"), Some("sampleSize"), RECORD),
        count("forecast", "HistoricalWinRate", "sampleSize", RECORD),
        count("forecast", "HistoricalWinRate", "won", RECORD),
        d(
            "forecast",
            "HistoricalWinRate",
            "usedProbability",
            Percent,
            Some("won (the configured probability when belowMinimumSample, or on basis STAGE_PROBABILITY)"),
            Some("sampleSize (100 for the configured probability)"),
            RECORD,
        ),
        count(
            "dataQuality",
            "DataQuality",
            "unloggedMeetings",
            "meetings still SCHEDULED with scheduledAt before now, of the owners in the caller's scope, not deleted",
        ),
        count(
            "dataQuality",
            "DataQuality",
            "openDealsWithoutNextTask",
            "OPEN deals in the caller's scope, not deleted, with no open (not done, not deleted) task about them",
        ),
        count(
            "dataQuality",
            "DataQuality",
            "overdueTasks",
            "open tasks with dueAt before now, of the assignees in the caller's scope, not deleted",
        ),
        d(
            "Deal",
            "Deal",
            "daysInStage",
            Days,
            None,
            None,
            "the deal itself: since stageEnteredAt, until now or its close",
        ),
        d(
            "Deal",
            "Deal",
            "isStale",
            Boolean,
            None,
            None,
            "the deal itself: OPEN and in its stage longer than the stage's staleAfterDays",
        ),
    ];
    out.sort_by_key(|d| d.id());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_thresholds_the_metrics_use() {
        let rate = all().into_iter().find(|d| d.id() == "NoShowStats.noShowRate").expect("defined");
        let bands: Vec<(&str, Option<i64>)> = rate.bands.iter().map(|b| (b.name, b.up_to_percent)).collect();
        assert_eq!(
            bands,
            [("EXCELLENT", Some(10)), ("ACCEPTABLE", Some(15)), ("ELEVATED", Some(20)), ("PROBLEM", None)]
        );
        let rejection = all().into_iter().find(|d| d.id() == "LeadRejection.rejectionRate").expect("defined");
        assert_eq!(rejection.bands.last().map(|b| (b.name, b.up_to_percent)), Some(("CRITICAL", None)));
        let ids: Vec<String> = all().iter().map(Definition::id).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "each number once");
    }
}
