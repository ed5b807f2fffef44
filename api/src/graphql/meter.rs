//! One request's charge against its payer's budget (SPEC section 9), and how the answer
//! tells it: `extensions.cost { requested, limit, remaining, resetAt }` and the IETF
//! `RateLimit-Policy` / `RateLimit` headers. A signed-in caller is charged when its
//! credential is checked (`graphql::authenticate`), an anonymous one by its address before
//! the request runs; an operation the budget cannot pay for is RATE_LIMITED (HTTP 429).

use std::sync::{Arc, OnceLock};

use async_graphql::Value;
use axum::http::{HeaderMap, HeaderValue};

use crate::error::{ApiError, ApiResult};
use crate::service::budget::{Budgets, Charge, Payer, Refusal};

/// The policy's name in the headers.
const POLICY: &str = "cost";

#[derive(Debug)]
pub struct Meter {
    cost: u64,
    outcome: OnceLock<Result<Charge, Refusal>>,
}

impl Meter {
    pub fn new(cost: u64) -> Arc<Self> {
        Arc::new(Self { cost, outcome: OnceLock::new() })
    }

    /// Charges `payer` for the request, once; RATE_LIMITED when its budget cannot pay.
    pub fn charge(&self, budgets: &Budgets, payer: Payer) -> ApiResult<()> {
        let Some(outcome) = budgets.charge(&payer, self.cost) else { return Ok(()) };
        let outcome = self.outcome.get_or_init(|| outcome);
        match outcome {
            Ok(_) => Ok(()),
            Err(refusal) => {
                crate::telemetry::count_rate_limited("cost");
                Err(ApiError::Throttled {
                    message: format!(
                        "over the cost budget: this operation costs {} points, {} of {} per minute are left; retry in {} s",
                        refusal.charge.requested,
                        refusal.charge.remaining,
                        refusal.charge.limit,
                        refusal.retry_after_secs
                    ),
                    retry_after_secs: refusal.retry_after_secs,
                })
            }
        }
    }

    /// The budget after the charge, when the request was charged.
    fn charged(&self) -> Option<&Charge> {
        match self.outcome.get()? {
            Ok(charge) => Some(charge),
            Err(refusal) => Some(&refusal.charge),
        }
    }

    /// Adds `extensions.cost` to `response`, when the request was charged.
    pub fn annotate(&self, response: &mut async_graphql::Response) {
        if let Some(cost) = self.extension() {
            response.extensions.insert("cost".into(), cost);
        }
    }

    /// `extensions.cost`, when the request was charged.
    fn extension(&self) -> Option<Value> {
        let charge = self.charged()?;
        let reset_at = chrono::Utc::now() + charge.reset_after;
        let mut cost = async_graphql::indexmap::IndexMap::new();
        cost.insert(async_graphql::Name::new("requested"), Value::from(charge.requested));
        cost.insert(async_graphql::Name::new("limit"), Value::from(charge.limit));
        cost.insert(async_graphql::Name::new("remaining"), Value::from(charge.remaining));
        cost.insert(
            async_graphql::Name::new("resetAt"),
            Value::from(reset_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        Some(Value::Object(cost))
    }

    /// Sets `RateLimit` (the budget left, once charged; budgets on). `RateLimit-Policy`
    /// goes on every response of the endpoint (`set_policy`).
    pub fn set_headers(&self, headers: &mut HeaderMap) {
        if let Some(charge) = self.charged() {
            let reset = crate::service::budget::seconds_up(charge.reset_after);
            if let Ok(state) = HeaderValue::from_str(&format!("\"{POLICY}\";r={};t={reset}", charge.remaining)) {
                headers.insert("ratelimit", state);
            }
        }
    }
}

/// Sets `RateLimit-Policy` when budgets are on.
pub fn set_policy(budgets: &Budgets, headers: &mut HeaderMap) {
    let Some(per_minute) = budgets.per_minute() else { return };
    if let Ok(policy) = HeaderValue::from_str(&format!("\"{POLICY}\";q={per_minute};w=60")) {
        headers.insert("ratelimit-policy", policy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charged_request_reports_its_cost_and_the_budget_left() {
        let budgets = Budgets::new(1000);
        let meter = Meter::new(300);
        assert!(meter.extension().is_none(), "not charged yet");
        meter.charge(&budgets, Payer::User(7)).expect("paid");
        let cost = serde_json::to_value(meter.extension().expect("charged")).expect("json");
        assert_eq!(
            (cost["requested"].as_u64(), cost["limit"].as_u64(), cost["remaining"].as_u64()),
            (Some(300), Some(1000), Some(700))
        );
        assert!(cost["resetAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{cost}");
        let mut headers = HeaderMap::new();
        set_policy(&budgets, &mut headers);
        meter.set_headers(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"cost\";q=1000;w=60");
        assert_eq!(headers["ratelimit"], "\"cost\";r=700;t=18");
        let over = Meter::new(800);
        assert!(matches!(over.charge(&budgets, Payer::User(7)), Err(ApiError::Throttled { .. })));
        assert!(over.extension().is_some(), "a refused request still reports the budget");
    }
}
