//! The seed's progress line on stderr: redrawn in place on a terminal, every tenth otherwise.

use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    enabled: bool,
    terminal: bool,
    total: usize,
    done: usize,
    /// Next fraction (in tenths) to print when stderr is not a terminal.
    next_tenth: usize,
    started: Instant,
}

impl Progress {
    pub fn new(enabled: bool, total: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Self { enabled, terminal, total: total.max(1), done: 0, next_tenth: 1, started: Instant::now() }
    }

    pub fn advance(&mut self, rows: usize) {
        self.done += rows;
        if !self.enabled {
            return;
        }
        if self.terminal {
            eprint!("\r{}", self.line());
        } else if self.done * 10 >= self.next_tenth * self.total {
            eprintln!("{}", self.line());
            self.next_tenth = self.done * 10 / self.total + 1;
        }
    }

    pub fn finish(&self) {
        if self.enabled && self.terminal {
            eprintln!();
        }
    }

    fn line(&self) -> String {
        const WIDTH: usize = 30;
        let filled = self.done * WIDTH / self.total;
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { self.done as f64 / secs } else { 0.0 };
        format!(
            "seeding [{}{}] {:>3}% {}/{} rows, {:.0} rows/s",
            "#".repeat(filled.min(WIDTH)),
            " ".repeat(WIDTH - filled.min(WIDTH)),
            self.done * 100 / self.total,
            self.done,
            self.total,
            rate
        )
    }
}
