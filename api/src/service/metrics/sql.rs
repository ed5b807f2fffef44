//! A small builder for the metric statements: text with bound parameters (never user input
//! in the text) and the few expressions whose spelling differs between SQLite and PostgreSQL.

use sea_orm::{DbBackend, Statement, Value};

use super::GroupBy;

pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Self { backend, text: String::new(), values: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a bound parameter.
    pub fn param(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(p1, p2, …)`.
    pub fn list<V: Into<Value> + Clone>(&mut self, values: &[V]) -> &mut Self {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(v.clone());
        }
        self.push(")")
    }

    pub fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }

    pub fn postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// Whole seconds since the epoch of a timestamp column, as an integer.
    pub fn epoch(&self, column: &str) -> String {
        if self.postgres() {
            format!("CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)")
        } else {
            format!("unixepoch({column})")
        }
    }

    /// `… AS g, … AS g2`: the select-list columns of a grouping (`''` for an absent dimension).
    pub fn group_columns(
        &self,
        grouping: super::Grouping,
        owner: &str,
        team: &str,
        source: &str,
        time: &str,
    ) -> String {
        self.columns_with(grouping, owner, team, source, |period| self.bucket_of(period, time))
    }

    /// The key of a group: an owner or team id, a source, or the first day (UTC) of the week
    /// (Monday), month, quarter, half-year or year of `time`. Keys are left in the engine's
    /// own type (an integer, a timestamp or date on PostgreSQL, `YYYY-MM-DD` text on SQLite)
    /// and read as text by `key_text`: formatting per row costs more than the grouping.
    pub fn group_key(&self, by: Option<GroupBy>, owner: &str, team: &str, source: &str, time: &str) -> String {
        self.key_with(by, owner, team, source, |period| self.bucket_of(period, time))
    }

    /// `… AS g, … AS g2` for rows that carry a month index (`year × 12 + month − 1`, see
    /// `month_index`) instead of a timestamp: periods are then whole months, so weeks have
    /// no key here (the caller never asks for them).
    pub fn month_index_group_columns(
        &self,
        grouping: super::Grouping,
        owner: &str,
        team: &str,
        source: &str,
        month: &str,
    ) -> String {
        self.columns_with(grouping, owner, team, source, |period| self.month_index_bucket(period, month))
    }

    /// `… AS g, … AS g2` with each period's key made by `period`.
    fn columns_with(
        &self,
        grouping: super::Grouping,
        owner: &str,
        team: &str,
        source: &str,
        period: impl Fn(GroupBy) -> String,
    ) -> String {
        let key = |by| self.key_with(by, owner, team, source, &period);
        format!("{} AS g, {} AS g2", key(grouping.by), key(grouping.then_by))
    }

    fn key_with(
        &self,
        by: Option<GroupBy>,
        owner: &str,
        team: &str,
        source: &str,
        period: impl Fn(GroupBy) -> String,
    ) -> String {
        match by {
            None => "''".into(),
            Some(GroupBy::Owner) => owner.to_owned(),
            Some(GroupBy::Team) => team.to_owned(),
            Some(GroupBy::Source) => source.to_owned(),
            Some(GroupBy::Company) => super::COMPANY_COLUMN.to_owned(),
            Some(by) => period(by),
        }
    }

    /// `… AS g, … AS g2` for rows that carry a day (`day_of`) instead of a timestamp.
    pub fn day_group_columns(
        &self,
        grouping: super::Grouping,
        owner: &str,
        team: &str,
        source: &str,
        day: &str,
    ) -> String {
        self.columns_with(grouping, owner, team, source, |period| self.date_bucket(period, day))
    }

    /// The first day of the week (Monday), month, quarter, half-year or year of a DATE
    /// column (NULL stays NULL), as a date (PostgreSQL) or `YYYY-MM-DD` text (SQLite); no
    /// time zone is involved.
    pub fn date_bucket(&self, by: GroupBy, date: &str) -> String {
        let months = match by {
            GroupBy::Month => 1,
            GroupBy::Quarter => 3,
            GroupBy::HalfYear => 6,
            GroupBy::Year => 12,
            GroupBy::Week if self.postgres() => {
                return format!("({date} - (CAST(EXTRACT(ISODOW FROM {date}) AS INT) - 1))");
            }
            GroupBy::Week => {
                return format!("date({date}, '-' || ((CAST(strftime('%w', {date}) AS INTEGER) + 6) % 7) || ' days')");
            }
            GroupBy::Owner | GroupBy::Team | GroupBy::Source | GroupBy::Company => return "NULL".into(),
        };
        if self.postgres() {
            format!(
                "make_date(CAST(EXTRACT(YEAR FROM {date}) AS INT), \
                 (CAST(EXTRACT(MONTH FROM {date}) AS INT) - 1) / {months} * {months} + 1, 1)"
            )
        } else {
            format!(
                "CASE WHEN {date} IS NULL THEN NULL ELSE printf('%s-%02d-01', strftime('%Y', {date}), \
                 (CAST(strftime('%m', {date}) AS INTEGER) - 1) / {months} * {months} + 1) END"
            )
        }
    }

    fn bucket_of(&self, by: GroupBy, time: &str) -> String {
        let pg = self.postgres();
        let utc = |t: &str| if pg { format!("({t} AT TIME ZONE 'UTC')") } else { t.to_owned() };
        let truncated = |unit: &str| format!("date_trunc('{unit}', {})", utc(time));
        let first_month_of = |months: u32| {
            if pg {
                let t = utc(time);
                format!(
                    "make_date(CAST(EXTRACT(YEAR FROM {t}) AS INT), \
                     CAST((EXTRACT(MONTH FROM {t}) - 1) AS INT) / {months} * {months} + 1, 1)"
                )
            } else {
                format!(
                    "printf('%s-%02d-01', strftime('%Y', {time}), \
                     (CAST(strftime('%m', {time}) AS INTEGER) - 1) / {months} * {months} + 1)"
                )
            }
        };
        match by {
            GroupBy::Week if pg => truncated("week"),
            GroupBy::Week => {
                format!("date({time}, '-' || ((CAST(strftime('%w', {time}) AS INTEGER) + 6) % 7) || ' days')")
            }
            GroupBy::Month if pg => truncated("month"),
            GroupBy::Month => format!("strftime('%Y-%m-01', {time})"),
            GroupBy::Quarter => first_month_of(3),
            GroupBy::HalfYear => first_month_of(6),
            GroupBy::Year if pg => truncated("year"),
            GroupBy::Year => format!("strftime('%Y-01-01', {time})"),
            GroupBy::Owner | GroupBy::Team | GroupBy::Source | GroupBy::Company => "NULL".into(),
        }
    }

    /// The first day of the month, quarter, half-year or year of a month index, as a date
    /// (PostgreSQL) or `YYYY-MM-DD` text (SQLite).
    fn month_index_bucket(&self, by: GroupBy, month: &str) -> String {
        let months = match by {
            GroupBy::Month => 1,
            GroupBy::Quarter => 3,
            GroupBy::HalfYear => 6,
            GroupBy::Year => 12,
            // No month index has a week: NULL keys make the caller's parse fail loudly.
            GroupBy::Week | GroupBy::Owner | GroupBy::Team | GroupBy::Source | GroupBy::Company => {
                return "NULL".into();
            }
        };
        let (year, first_month) = (format!("{month} / 12"), format!("{month} % 12 / {months} * {months} + 1"));
        if self.postgres() {
            format!("make_date({year}, {first_month}, 1)")
        } else {
            format!("printf('%04d-%02d-01', {year}, {first_month})")
        }
    }

    /// `year × 12 + month − 1` of a timestamp column, in UTC.
    pub fn month_index(&self, column: &str) -> String {
        if self.postgres() {
            let t = format!("({column} AT TIME ZONE 'UTC')");
            format!("CAST(EXTRACT(YEAR FROM {t}) * 12 + EXTRACT(MONTH FROM {t}) - 1 AS INTEGER)")
        } else {
            format!("(CAST(strftime('%Y', {column}) AS INTEGER) * 12 + CAST(strftime('%m', {column}) AS INTEGER) - 1)")
        }
    }

    /// `, … AS fx_currency, … AS fx_day` of deal `deal`: what converts its amount to the base
    /// currency (`currency::Exchange::convert_row`). The currency is '' for the base; the
    /// day is the close day of a closed deal in another currency, else '' (today's rate).
    /// Group by both: with one currency every deal shares the same empty pair.
    pub fn fx_columns(&self, deal: &str) -> String {
        format!(", COALESCE({deal}.currency, '') AS fx_currency, {} AS fx_day", self.rate_day(deal))
    }

    /// The key of the day whose rate converts deal `deal`, as text (`fx_columns`).
    pub fn rate_day(&self, deal: &str) -> String {
        let day = match self.postgres() {
            true => format!("to_char({deal}.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
            false => format!("date({deal}.closed_at)"),
        };
        format!("CASE WHEN {deal}.currency IS NULL OR {deal}.closed_at IS NULL THEN '' ELSE {day} END")
    }

    /// The UTC day of a timestamp column: a DATE on PostgreSQL, `YYYY-MM-DD` text on SQLite.
    pub fn day_of(&self, column: &str) -> String {
        if self.postgres() { format!("CAST(({column} AT TIME ZONE 'UTC') AS DATE)") } else { format!("date({column})") }
    }

    /// The length of a stay in the unit the funnel sums stays in: exact microseconds on
    /// PostgreSQL (whose time in stage sums the exact intervals), whole seconds between the
    /// truncated instants on SQLite (which sums `unixepoch` differences).
    pub fn stay_length(&self, end: &str, start: &str) -> String {
        if self.postgres() {
            format!("(EXTRACT(EPOCH FROM ({end} - {start})) * 1000000)")
        } else {
            format!("({} - {})", self.epoch(end), self.epoch(start))
        }
    }

    /// An instant in the unit of `stay_length`, since the epoch.
    pub fn stay_instant(&self, at: &str) -> String {
        if self.postgres() { format!("(EXTRACT(EPOCH FROM {at}) * 1000000)") } else { self.epoch(at) }
    }
}
