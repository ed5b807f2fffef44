//! `crm-api import FILE`: streams history into the database through the same checks as
//! `importRecords`, a batch at a time. Memory holds one batch and a short queue of records
//! read ahead, never the file; each batch commits on its own and moves a checkpoint, so an
//! interrupted or failed run continues with `--resume`. `--atomic` checks every record in a
//! first pass (a transaction that is rolled back) and writes only if all are valid;
//! `--dry-run` is that first pass alone.

mod read;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use self::read::{Format, LISTS, Record};
use super::CliError;
use crate::auth::Principal;
use crate::config::{DbConfig, ImportConfig, ImportFormat};
use crate::db;
use crate::error::{ApiError, InvalidRecord};
use crate::graphql::mutation::import::{ImportRecordsInput, import_batch_into, parse_json};
use crate::service::import::ImportSummary;
use crate::service::work::{Work, Writer};

/// Records read ahead of the batch being imported.
const READ_AHEAD: usize = 256;
/// The most records one batch may hold.
pub const MAX_BATCH: usize = 50_000;
/// Invalid records printed (all of them go to `--report`).
const PRINTED: usize = 20;

pub async fn import(db_cfg: &DbConfig, cfg: ImportConfig) -> Result<(), CliError> {
    if cfg.batch_size == 0 || cfg.batch_size > MAX_BATCH {
        return Err(format!("--batch-size must be between 1 and {MAX_BATCH}").into());
    }
    let format = match cfg.format {
        Some(ImportFormat::Json) => Format::Json,
        Some(ImportFormat::Jsonl) => Format::Lines,
        None => Format::of(&cfg.file),
    };
    let checkpoint = cfg.checkpoint.clone().unwrap_or_else(|| suffixed(&cfg.file, ".checkpoint"));
    let start = if cfg.resume {
        Position::read(&checkpoint)?
    } else {
        // A run from the start makes an old checkpoint meaningless (and, keyed by external
        // ids, re-imports what it had covered harmlessly).
        if checkpoint.exists() && !cfg.dry_run {
            std::fs::remove_file(&checkpoint).map_err(|e| format!("cannot remove {}: {e}", checkpoint.display()))?;
        }
        Position::default()
    };
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    let principal = super::acting_admin(&dbs.primary, cfg.as_email.as_deref()).await?;
    let writer = super::writer(&dbs);
    let mut run = Run {
        principal,
        cfg: &cfg,
        format,
        held: 0,
        started: Instant::now(),
        last_note: Instant::now(),
        bar: progress_bar(),
    };

    if cfg.atomic || cfg.dry_run {
        let mut work = writer.begin(&run.principal).await?;
        work.trial();
        let checked = run.pass(&start, Sink::Trial(&mut work)).await;
        // Dropping the unit of work rolls the trial back.
        drop(work);
        let summary = checked.map_err(|failure| run.fail(failure, None))?;
        run.clear();
        if cfg.dry_run {
            eprintln!("dry run: every record is valid ({}); nothing was written", summary.line());
            return Ok(());
        }
        eprintln!("checked: every record is valid; writing");
        run.bar = progress_bar();
    }
    let summary = run
        .pass(&start, Sink::Commit { writer: &writer, checkpoint: &checkpoint })
        .await
        .map_err(|failure| run.fail(failure, Some(&checkpoint)))?;
    run.clear();
    if checkpoint.exists() {
        std::fs::remove_file(&checkpoint).map_err(|e| format!("cannot remove {}: {e}", checkpoint.display()))?;
    }
    eprintln!("imported: {}", summary.line());
    eprintln!(
        "held at most {} records in memory (batches of {}, {READ_AHEAD} read ahead); peak memory {}",
        run.held,
        cfg.batch_size,
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

/// Where an import continues: the list, and the index in it of the first record not yet
/// committed. Kept in the checkpoint file as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Position {
    list: usize,
    next: usize,
}

impl Position {
    fn read(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("nothing to resume: cannot read the checkpoint {}: {e}", path.display()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a checkpoint: {e}", path.display()))?;
        let list = value["list"].as_str().and_then(|l| LISTS.iter().position(|known| *known == l));
        let next = value["next"].as_u64().and_then(|n| usize::try_from(n).ok());
        match (list, next) {
            (Some(list), Some(next)) => Ok(Self { list, next }),
            _ => Err(format!("{} is not a checkpoint of crm-api import", path.display()).into()),
        }
    }

    fn write(&self, path: &Path) -> Result<(), String> {
        let text = json!({ "list": LISTS[self.list], "next": self.next }).to_string();
        // Written beside and renamed over, so a crash never leaves half a checkpoint.
        let partial = suffixed(path, ".partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(|e| format!("cannot write the checkpoint {}: {e}", path.display()))
    }
}

/// Where batches go: all into one trial unit of work, or each committed on its own.
enum Sink<'a> {
    Trial(&'a mut Work),
    Commit { writer: &'a Writer, checkpoint: &'a Path },
}

/// Why a pass stopped.
enum Failure {
    Invalid(Vec<(InvalidRecord, Option<usize>)>),
    Other(String),
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Self::Other(err.to_string())
    }
}

struct Run<'c> {
    principal: Principal,
    cfg: &'c ImportConfig,
    format: Format,
    /// The most records held at once: the batch and the queue read ahead.
    held: usize,
    started: Instant,
    last_note: Instant,
    /// On a terminal: a live count with the rate; otherwise a line every two seconds.
    bar: Option<indicatif::ProgressBar>,
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template("{spinner} {prefix}: {pos} records ({per_sec}, {elapsed})")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

impl Run<'_> {
    /// Every list from `start` on, batch by batch.
    async fn pass(&mut self, start: &Position, mut sink: Sink<'_>) -> Result<ImportSummary, Failure> {
        let mut total = ImportSummary::default();
        for (list_number, list) in LISTS.iter().enumerate().skip(start.list) {
            let skip = if list_number == start.list { start.next } else { 0 };
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(READ_AHEAD);
            let (path, format) = (self.cfg.file.clone(), self.format);
            let reader = tokio::task::spawn_blocking(move || {
                read::read_list(&path, format, list, skip, &mut |record| {
                    tx.blocking_send(record).map_err(|_| STOPPED.to_owned())
                })
            });
            let outcome = self.list(list_number, &mut rx, &mut sink, &mut total).await;
            // The reader may be waiting to hand over a record: let it go first.
            drop(rx);
            let read = reader.await.map_err(|e| Failure::Other(format!("the file reader failed: {e}")))?;
            outcome?;
            match read {
                Err(message) if message != STOPPED => return Err(Failure::Other(message)),
                _ => {}
            }
        }
        Ok(total)
    }

    /// One list's records from `rx`, in batches.
    async fn list(
        &mut self,
        list_number: usize,
        rx: &mut tokio::sync::mpsc::Receiver<Record>,
        sink: &mut Sink<'_>,
        total: &mut ImportSummary,
    ) -> Result<(), Failure> {
        let list = LISTS[list_number];
        let size = self.cfg.batch_size;
        loop {
            let mut batch = Vec::with_capacity(size.min(1024));
            while batch.len() < size {
                match rx.recv().await {
                    Some(record) => batch.push(record),
                    None => break,
                }
                self.held = self.held.max(batch.len() + rx.len());
            }
            let Some(last) = batch.last() else { return Ok(()) };
            let next = Position { list: list_number, next: last.index + 1 };
            let full = batch.len() == size;
            let summary = self.batch(list, batch, sink).await?;
            total.add(&summary);
            if let Sink::Commit { checkpoint, .. } = sink {
                next.write(checkpoint).map_err(Failure::Other)?;
            }
            self.note(list, next.next);
            if !full {
                return Ok(());
            }
        }
    }

    /// Checks and writes one batch of `list`; errors name the records' places in the file.
    async fn batch(
        &self,
        list: &'static str,
        batch: Vec<Record>,
        sink: &mut Sink<'_>,
    ) -> Result<ImportSummary, Failure> {
        let mut input = ImportRecordsInput::default();
        let mut invalid = Vec::new();
        // Where each record is in the file, kept for the errors; the values move into the input.
        let places: Vec<(usize, Option<usize>)> = batch.iter().map(|r| (r.index, r.line)).collect();
        for record in batch {
            match parse_json(json!({ list: [record.value] })) {
                Ok(parsed) => input.append(parsed),
                Err(err) => {
                    // The parser's trail ("occurred while parsing …") names the wrapper, not the record.
                    let text = err.to_string();
                    let text = text.split(" (occurred while parsing").next().unwrap_or_default();
                    let message = text.replacen("does not match ImportRecordsInput: ", "", 1);
                    let entry = InvalidRecord { list, index: record.index, field: String::new(), message };
                    invalid.push((entry, record.line));
                }
            }
        }
        if !invalid.is_empty() {
            return Err(Failure::Invalid(invalid));
        }
        let imported = match sink {
            Sink::Trial(work) => import_batch_into(&self.principal, work, input).await,
            Sink::Commit { writer, .. } => {
                let mut work = writer.begin(&self.principal).await?;
                match import_batch_into(&self.principal, &mut work, input).await {
                    Ok(summary) => work.commit().await.map(|()| summary),
                    Err(err) => Err(err),
                }
            }
        };
        imported.map_err(|err| match err {
            // Indexes within the batch become indexes within the list.
            ApiError::InvalidRecords(records) => Failure::Invalid(
                records
                    .into_iter()
                    .map(|r| {
                        let place = if r.list == list { places.get(r.index).copied() } else { None };
                        let line = place.and_then(|(_, line)| line);
                        (InvalidRecord { index: place.map_or(r.index, |(index, _)| index), ..r }, line)
                    })
                    .collect(),
            ),
            other => Failure::from(other),
        })
    }

    /// Progress: the bar, or a line at most every two seconds.
    fn note(&mut self, list: &'static str, done: usize) {
        if let Some(bar) = &self.bar {
            if bar.prefix() != list {
                bar.set_prefix(list);
                bar.reset();
            }
            bar.set_position(done as u64);
            return;
        }
        if self.last_note.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last_note = Instant::now();
        eprintln!("{list}: {done} done ({:.0} s)", self.started.elapsed().as_secs_f64());
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Reports why the import stopped, and writes the report file.
    fn fail(&self, failure: Failure, checkpoint: Option<&Path>) -> CliError {
        self.clear();
        let records = match failure {
            Failure::Other(message) => return message.into(),
            Failure::Invalid(records) => records,
        };
        let describe = |(r, line): &(InvalidRecord, Option<usize>)| {
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            let field = if r.field.is_empty() { String::new() } else { format!(" {}", r.field) };
            format!("{}[{}]{at}{field}: {}", r.list, r.index, r.message)
        };
        for entry in records.iter().take(PRINTED) {
            eprintln!("{}", describe(entry));
        }
        if records.len() > PRINTED {
            eprintln!("… and {} more", records.len() - PRINTED);
        }
        if let Some(path) = &self.cfg.report {
            let lines: String = records
                .iter()
                .map(|(r, line)| {
                    json!({ "list": r.list, "index": r.index, "line": line, "field": r.field, "message": r.message })
                        .to_string()
                        + "\n"
                })
                .collect();
            if let Err(e) = std::fs::write(path, lines) {
                eprintln!("cannot write the report {}: {e}", path.display());
            }
        }
        let resume = match checkpoint {
            Some(path) if path.exists() => {
                format!(
                    "; the batches before were imported — fix the file and run again with --resume ({})",
                    path.display()
                )
            }
            _ => "; nothing was written".to_owned(),
        };
        format!("{} invalid record(s){resume}", records.len()).into()
    }
}

const STOPPED: &str = "stopped";

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// This process's peak resident memory (Linux: `VmHWM`).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{} MB", kb / 1024))
}
