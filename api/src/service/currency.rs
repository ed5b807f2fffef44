//! Currencies (SPEC 11): the organization's base currency, ADMIN's exchange rates by date,
//! and the exact conversion every money metric totals deal amounts with.
//!
//! A rate says what one unit of a currency is worth in the base currency from its day on,
//! until the currency's next rate. A deal converts at the rate in effect on its close day
//! (open deals: today); before a currency's first rate, that first rate. Rates are
//! decimals with at most `RATE_DECIMALS` places, kept as integers scaled by `RATE_SCALE`,
//! so that a converted sum is an exact integer in 10⁻¹⁰ of a cent, rounded once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use entity::{deal, exchange_rate, setting};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, Set};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::scope::ensure_admin;
use crate::service::work::{Target, Writer};

/// The `settings` key holding the base currency.
pub const BASE_SETTING: &str = "base_currency";
/// The base currency of a database that never set one (SPEC 3).
pub const DEFAULT_BASE: &str = "USD";
/// Decimal places a rate may have.
pub const RATE_DECIMALS: u32 = 10;
/// `10^RATE_DECIMALS`: a rate of 1.
pub const RATE_SCALE: i128 = 10_000_000_000;
/// The largest rate accepted, in whole units (a guard against typos, far above any real one).
const MAX_RATE: i64 = 1_000_000_000;

/// An ISO 4217 code: three ASCII letters, returned upper case.
pub fn parse_code(text: &str) -> Result<String, String> {
    let code = text.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(code.to_ascii_uppercase())
    } else {
        Err(format!("`{text}` is not a currency code: use three letters (ISO 4217), e.g. \"EUR\""))
    }
}

/// A positive decimal rate ("1.085", "0.0000391") as an integer scaled by `RATE_SCALE`.
pub fn parse_rate(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return Err(format!("`{text}` is not a decimal rate such as \"1.085\""));
    }
    if fraction.len() > RATE_DECIMALS as usize {
        return Err(format!("a rate has at most {RATE_DECIMALS} decimals"));
    }
    let units: i64 =
        whole.parse().ok().filter(|w| *w <= MAX_RATE).ok_or_else(|| format!("a rate is at most {MAX_RATE}"))?;
    let fraction: i64 = format!("{fraction:0<width$}", width = RATE_DECIMALS as usize).parse().unwrap_or(0);
    let scaled = units * RATE_SCALE as i64 + fraction;
    if scaled == 0 {
        return Err("a rate must be greater than 0".into());
    }
    Ok(scaled)
}

/// A scaled rate as the shortest decimal that reads back to it ("1.085", "2").
pub fn format_rate(scaled: i64) -> String {
    let (units, fraction) = (scaled / RATE_SCALE as i64, scaled % RATE_SCALE as i64);
    let fraction = format!("{fraction:0width$}", width = RATE_DECIMALS as usize);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { units.to_string() } else { format!("{units}.{fraction}") }
}

/// The organization's base currency.
pub async fn base_currency(db: &impl ConnectionTrait) -> ApiResult<String> {
    let row = setting::Entity::find().filter(setting::Column::Key.eq(BASE_SETTING)).one(db).await?;
    Ok(row.map_or_else(|| DEFAULT_BASE.to_owned(), |r| r.value))
}

/// Makes `configured` (`CRM_BASE_CURRENCY`) the base currency. Changing it is refused once
/// anything is quoted against the old one (an exchange rate, a deal in another currency):
/// those would silently change meaning.
pub async fn settle_base(db: &impl ConnectionTrait, configured: Option<&str>) -> Result<(), String> {
    let Some(configured) = configured.filter(|c| !c.trim().is_empty()) else { return Ok(()) };
    let wanted = parse_code(configured).map_err(|e| format!("CRM_BASE_CURRENCY: {e}"))?;
    let failed = |e: sea_orm::DbErr| format!("reading the base currency: {e}");
    let stored = setting::Entity::find().filter(setting::Column::Key.eq(BASE_SETTING)).one(db).await.map_err(failed)?;
    let current = stored.as_ref().map_or(DEFAULT_BASE, |s| s.value.as_str());
    if current != wanted {
        let rates = exchange_rate::Entity::find().count(db).await.map_err(failed)?;
        let foreign =
            deal::Entity::find().filter(deal::Column::Currency.is_not_null()).count(db).await.map_err(failed)?;
        if rates > 0 || foreign > 0 {
            return Err(format!(
                "the base currency is {current} in this database and {rates} exchange rates and {foreign} deals are \
                 quoted against it: CRM_BASE_CURRENCY={wanted} cannot change it"
            ));
        }
    } else if stored.is_some() {
        return Ok(());
    }
    let now = crate::service::now();
    let row = setting::ActiveModel {
        key: Set(BASE_SETTING.into()),
        value: Set(wanted),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let upsert = OnConflict::column(setting::Column::Key)
        .update_columns([setting::Column::Value, setting::Column::UpdatedAt])
        .to_owned();
    setting::Entity::insert(row).on_conflict(upsert).exec(db).await.map_err(failed)?;
    Ok(())
}

/// A deal's currency as stored: `None` for the base currency; another currency needs a
/// rate first. The message names what to do; the caller names the field.
pub async fn deal_currency(db: &impl ConnectionTrait, code: &str) -> ApiResult<Result<Option<String>, String>> {
    let base = base_currency(db).await?;
    let rated = match parse_code(code) {
        Ok(code) => exchange_rate::Entity::find().filter(exchange_rate::Column::Currency.eq(code)).count(db).await? > 0,
        Err(_) => false,
    };
    Ok(stored_code(code, &base, |_| rated))
}

/// `deal_currency` given the base and which currencies have a rate.
pub fn stored_code(code: &str, base: &str, rated: impl Fn(&str) -> bool) -> Result<Option<String>, String> {
    let code = parse_code(code)?;
    if code == base {
        Ok(None)
    } else if rated(&code) {
        Ok(Some(code))
    } else {
        Err(format!("{code} has no exchange rate yet: an ADMIN sets one with setExchangeRate"))
    }
}

/// Every exchange rate (of one currency), by currency and day.
pub async fn rates(db: &impl ConnectionTrait, currency: Option<&str>) -> ApiResult<Vec<exchange_rate::Model>> {
    let mut query = exchange_rate::Entity::find();
    if let Some(currency) = currency {
        let code = parse_code(currency).map_err(|e| ApiError::bad_input("currency", e))?;
        query = query.filter(exchange_rate::Column::Currency.eq(code));
    }
    let ordered = query.order_by_asc(exchange_rate::Column::Currency).order_by_asc(exchange_rate::Column::Day);
    Ok(ordered.all(db).await?)
}

pub async fn rate_by_id(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<exchange_rate::Model>> {
    Ok(exchange_rate::Entity::find_by_id(id).one(db).await?)
}

/// Sets the rate of `currency` from `day` on (ADMIN): replaces that day's rate or adds one.
pub async fn set_rate(
    principal: &Principal,
    w: &Writer,
    currency: &str,
    day: NaiveDate,
    rate: &str,
) -> ApiResult<exchange_rate::Model> {
    ensure_admin(principal)?;
    let mut invalid = Vec::new();
    let code = parse_code(currency).map_err(|e| invalid.push(("input.currency".to_owned(), e))).ok();
    let scaled = parse_rate(rate).map_err(|e| invalid.push(("input.rate".to_owned(), e))).ok();
    if let Some(error) = crate::service::validate::invalid(invalid) {
        return Err(error);
    }
    let (Some(code), Some(scaled)) = (code, scaled) else { return Err(ApiError::internal("unchecked rate")) };
    let mut work = w.begin(principal).await?;
    let db = work.db();
    let base = base_currency(db).await?;
    if code == base {
        return Err(ApiError::bad_input(
            "input.currency",
            format!("{code} is the base currency: its rate is always 1"),
        ));
    }
    let existing = exchange_rate::Entity::find()
        .filter(exchange_rate::Column::Currency.eq(&code))
        .filter(exchange_rate::Column::Day.eq(day))
        .one(db)
        .await?;
    let (now, rate) = (crate::service::now(), format_rate(scaled));
    let written = match existing {
        Some(found) => {
            let changes = exchange_rate::ActiveModel {
                rate: Set(rate),
                updated_by: Set(Some(principal.user_id)),
                updated_at: Set(now),
                ..Default::default()
            };
            work.update::<exchange_rate::Entity>(Target::new(found.id, "ExchangeRate"), changes).await?
        }
        None => {
            let row = exchange_rate::ActiveModel {
                currency: Set(code),
                day: Set(day),
                rate: Set(rate),
                updated_by: Set(Some(principal.user_id)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            work.insert(row).await?
        }
    };
    work.commit().await?;
    Ok(written)
}

/// A rate a metric converted with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RateUsed {
    pub currency: String,
    /// The rate's own day (on or before the days it converted).
    pub day: NaiveDate,
    /// Scaled by `RATE_SCALE`.
    pub rate: i64,
}

/// What a money metric's totals are in: the base currency, and the rates it converted with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversion {
    pub base: String,
    pub rates: Vec<RateUsed>,
}

/// The rates, loaded once for a metric (or a request), converting amounts exactly.
#[derive(Debug, Clone)]
pub struct Exchange {
    base: String,
    today: NaiveDate,
    by_currency: HashMap<String, BTreeMap<NaiveDate, i64>>,
    used: BTreeSet<(String, NaiveDate)>,
}

impl Exchange {
    pub async fn load(db: &impl ConnectionTrait) -> ApiResult<Self> {
        let (base, all) = futures_util::future::try_join(base_currency(db), rates(db, None)).await?;
        let mut by_currency: HashMap<String, BTreeMap<NaiveDate, i64>> = HashMap::new();
        for rate in all {
            let scaled = parse_rate(&rate.rate).map_err(ApiError::internal)?;
            by_currency.entry(rate.currency).or_default().insert(rate.day, scaled);
        }
        let today = crate::service::now().date_naive();
        Ok(Self { base, today, by_currency, used: BTreeSet::new() })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The rate converting `currency` (`None`: the base) on `day` (`None`: today), with its
    /// own day; `None` for the base currency.
    pub fn rate_on(&self, currency: Option<&str>, day: Option<NaiveDate>) -> ApiResult<Option<(NaiveDate, i64)>> {
        let Some(currency) = currency.filter(|c| !c.is_empty() && *c != self.base) else { return Ok(None) };
        let rates = self.by_currency.get(currency).filter(|r| !r.is_empty()).ok_or_else(|| {
            ApiError::internal(format!("deals in {currency} but no exchange rate for it (written outside the API?)"))
        })?;
        let day = day.unwrap_or(self.today);
        let found = rates.range(..=day).next_back().or_else(|| rates.iter().next());
        Ok(found.map(|(d, r)| (*d, *r)))
    }

    /// `value`, an integer in `currency`'s minor units (or minor units × a percent), in the
    /// base currency × `RATE_SCALE`, exactly; the rate is remembered for `conversion`.
    pub fn convert(&mut self, currency: Option<&str>, day: Option<NaiveDate>, value: i128) -> ApiResult<i128> {
        let rate = self.rate_on(currency, day)?;
        if let Some((rate_day, _)) = rate {
            self.used.insert((currency.unwrap_or_default().to_owned(), rate_day));
        }
        Ok(scaled(value, rate))
    }

    /// `convert` without remembering the rate (one deal's `baseAmount`).
    pub fn value_in_base(&self, currency: Option<&str>, day: Option<NaiveDate>, value: i128) -> ApiResult<i128> {
        Ok(scaled(value, self.rate_on(currency, day)?))
    }

    /// `convert` of `value` from a metric row with the `fx_currency` and `fx_day` columns
    /// `Sql::fx_columns` selects.
    pub fn convert_row(&mut self, row: &QueryResult, value: i64) -> ApiResult<i128> {
        let currency: String = row.try_get("", "fx_currency")?;
        let day: String = row.try_get("", "fx_day")?;
        let day = match day.as_str() {
            "" => None,
            text => Some(
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| ApiError::internal(format!("unexpected rate day {text}")))?,
            ),
        };
        self.convert(Some(&currency), day, i128::from(value))
    }

    /// The base currency and every rate converted with so far.
    pub fn conversion(&self) -> Conversion {
        let rates = self
            .used
            .iter()
            .filter_map(|(currency, day)| {
                let rate = *self.by_currency.get(currency)?.get(day)?;
                Some(RateUsed { currency: currency.clone(), day: *day, rate })
            })
            .collect();
        Conversion { base: self.base.clone(), rates }
    }
}

/// `value` × the rate (× 1 for the base currency), in base units × `RATE_SCALE`.
fn scaled(value: i128, rate: Option<(NaiveDate, i64)>) -> i128 {
    match rate {
        None => value * RATE_SCALE,
        Some((_, rate)) => value * i128::from(rate),
    }
}

/// A converted amount (base minor units × `RATE_SCALE`) in whole minor units, rounded
/// half-up once.
pub fn cents(scaled: i128) -> i64 {
    crate::service::metrics::arith::ratio(scaled, RATE_SCALE * 100).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_exactly_and_read_back() {
        assert_eq!(parse_rate("1.085"), Ok(10_850_000_000));
        assert_eq!(parse_rate("2"), Ok(20_000_000_000));
        assert_eq!(parse_rate("0.0000000001"), Ok(1));
        assert_eq!(format_rate(10_850_000_000), "1.085");
        assert_eq!(format_rate(20_000_000_000), "2");
        assert_eq!(format_rate(1), "0.0000000001");
        for bad in ["", "0", "0.0", "-1", "1.", ".5", "1e3", "1,5", "0.00000000001", "1000000001", "abc"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_are_three_letters() {
        assert_eq!(parse_code(" eur "), Ok("EUR".into()));
        for bad in ["", "EU", "EURO", "E1R", "€€€"] {
            assert!(parse_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_convert_at_the_rate_in_effect_and_round_once() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).expect("a day");
        let mut exchange = Exchange {
            base: "USD".into(),
            today: day(31),
            by_currency: HashMap::from([(
                "EUR".into(),
                BTreeMap::from([(day(10), 11_000_000_000), (day(20), 12_000_000_000)]),
            )]),
            used: BTreeSet::new(),
        };
        // Before the first rate: the first; between rates: the earlier; open: today's.
        let early = exchange.convert(Some("EUR"), Some(day(1)), 1).expect("converts");
        let mid = exchange.convert(Some("EUR"), Some(day(19)), 1).expect("converts");
        let open = exchange.convert(Some("EUR"), None, 1).expect("converts");
        assert_eq!((early, mid, open), (11_000_000_000, 11_000_000_000, 12_000_000_000));
        assert_eq!(exchange.convert(None, None, 7).expect("base"), 7 * RATE_SCALE);
        // 0.01 EUR at 1.1 and 0.01 EUR at 1.2 = 0.023 USD → 0.02, where each rounded first gives 0.02.
        assert_eq!(cents(early + open), 2);
        // 0.05 EUR at 1.1 = 0.055 → 0.06 (half-up).
        assert_eq!(cents(5 * early), 6);
        let used = exchange.conversion();
        assert_eq!(used.rates.iter().map(|r| r.day).collect::<Vec<_>>(), vec![day(10), day(20)]);
        assert!(exchange.convert(Some("GBP"), None, 1).is_err());
    }
}
