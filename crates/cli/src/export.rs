//! `polypay export payments|payouts|refunds`: every object matching the filters, newest first,
//! as CSV (a header, then a row each) or JSON Lines (the admin API's objects, whole), read from
//! the database directly a page at a time through the admin API's own list query
//! ([`polypay_server::lists`]).
//!
//! A file is written under a temporary name of its own beside it (`<file>.<random>.partial`,
//! created new, mode 0600: rows name payers' orders, and JSON Lines hold their details; never
//! an existing file or a link someone left there) and renamed when the last row is in and
//! synced, so a reconciliation job never takes a half-written export for a whole one, and two
//! runs to one file leave one whole export. A failed or interrupted (Ctrl-C) run removes it.

use crate::DbArgs;
use anyhow::Context;
use clap::{Args, ValueEnum};
use polypay_core::{Money, Payment, Payout, Refund, Timestamp};
use polypay_server::lists::{self, Listed, Params};
use polypay_store::console::{Listing, MAX_PAGE};
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Payments,
    Payouts,
    Refunds,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A header row, then one row per object (RFC 4180).
    Csv,
    /// One JSON object per line, as the admin API shows it.
    Jsonl,
}

#[derive(Args)]
pub struct ExportArgs {
    /// What to export.
    kind: Kind,
    /// Only this merchant's (mch_…).
    #[arg(long)]
    merchant: Option<String>,
    /// Only this protocol's (passtopay, blockatm, ottpay, v2sha256, fintech33).
    #[arg(long)]
    protocol: Option<String>,
    /// Only objects in this state (succeeded, failed, …).
    #[arg(long)]
    state: Option<String>,
    /// Created at or after this time: RFC 3339 with an offset (2026-12-06T00:00:00+08:00), or
    /// Unix milliseconds.
    #[arg(long)]
    created_from: Option<String>,
    /// Created before this time.
    #[arg(long)]
    created_before: Option<String>,
    /// Finished (succeeded, failed, expired, …) at or after this time.
    #[arg(long)]
    finished_from: Option<String>,
    /// Finished before this time.
    #[arg(long)]
    finished_before: Option<String>,
    /// Only the object with this number (the merchant's, the protocol's id or polypay's id).
    #[arg(long)]
    number: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Write to this file (mode 0600, replaced only once complete) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
}

/// One CSV field: quoted when it holds a comma, quote or line break (RFC 4180), and a text
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first) prefixed
/// with `'`, as OWASP advises: order numbers and failure messages come from merchants and
/// rails. Amounts and times are written by polypay and never start so.
fn field(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn time(t: Option<Timestamp>) -> String {
    t.map(Timestamp::to_rfc3339).unwrap_or_default()
}

fn opt(text: &Option<String>) -> String {
    text.clone().unwrap_or_default()
}

/// A CSV column: its header and how a row's value is written (amounts in major units, times
/// in UTC), side by side so the two cannot drift apart.
type Column<T> = (&'static str, fn(&T) -> String);

/// The CSV shape of a listed kind.
trait Csv: Listed + Sized {
    const COLUMNS: &'static [Column<Self>];
}

impl Csv for Payment {
    const COLUMNS: &'static [Column<Payment>] = &[
        ("id", |p| p.id.0.clone()),
        ("merchant_id", |p| p.merchant_id.0.clone()),
        ("protocol", |p| p.protocol.as_str().into()),
        ("merchant_order_no", |p| p.merchant_order_no.clone()),
        ("public_id", |p| p.public_id.clone()),
        ("state", |p| p.state.as_str().into()),
        ("currency", |p| p.amount.currency.code().into()),
        ("amount", |p| p.amount.to_decimal_string()),
        ("refunded", |p| {
            Money::new(p.refunded_minor, p.amount.currency).to_decimal_string()
        }),
        ("refund_pending", |p| {
            Money::new(p.refund_pending_minor, p.amount.currency).to_decimal_string()
        }),
        ("created_at", |p| time(Some(p.created_at))),
        ("finished_at", |p| time(p.finished_at)),
        ("channel_order_no", |p| opt(&p.channel_order_no)),
        ("error_code", |p| opt(&p.error_code)),
        ("error_message", |p| opt(&p.error_message)),
    ];
}

impl Csv for Payout {
    const COLUMNS: &'static [Column<Payout>] = &[
        ("id", |p| p.id.0.clone()),
        ("merchant_id", |p| p.merchant_id.0.clone()),
        ("protocol", |p| p.protocol.as_str().into()),
        ("merchant_order_no", |p| p.merchant_order_no.clone()),
        ("public_id", |p| p.public_id.clone()),
        ("state", |p| p.state.as_str().into()),
        ("currency", |p| p.amount.currency.code().into()),
        ("amount", |p| p.amount.to_decimal_string()),
        ("created_at", |p| time(Some(p.created_at))),
        ("finished_at", |p| time(p.finished_at)),
        ("channel_order_no", |p| opt(&p.channel_order_no)),
        ("error_code", |p| opt(&p.error_code)),
        ("error_message", |p| opt(&p.error_message)),
    ];
}

impl Csv for Refund {
    const COLUMNS: &'static [Column<Refund>] = &[
        ("id", |r| r.id.0.clone()),
        ("merchant_id", |r| r.merchant_id.0.clone()),
        ("payment_id", |r| r.payment_id.0.clone()),
        ("protocol", |r| r.protocol.as_str().into()),
        ("merchant_refund_no", |r| r.merchant_refund_no.clone()),
        ("public_id", |r| r.public_id.clone()),
        ("state", |r| r.state.as_str().into()),
        ("currency", |r| r.amount.currency.code().into()),
        ("amount", |r| r.amount.to_decimal_string()),
        ("reason", |r| opt(&r.reason)),
        ("created_at", |r| time(Some(r.created_at))),
        ("finished_at", |r| time(r.finished_at)),
        ("channel_order_no", |r| opt(&r.channel_order_no)),
        ("error_code", |r| opt(&r.error_code)),
        ("error_message", |r| opt(&r.error_message)),
    ];
}

fn csv_line(values: &[String]) -> String {
    let fields: Vec<String> = values.iter().map(|v| field(v)).collect();
    format!("{}\r\n", fields.join(","))
}

/// Writes every object of `T` the parameters select to `out`, page by page; how many.
async fn write_all<T: Csv>(
    engine: &polypay_engine::Engine,
    params: &Params,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut filter = params.filter(T::KIND).map_err(anyhow::Error::msg)?;
    filter.limit = MAX_PAGE;
    // The first page before the header: a filter the database refuses (an unknown merchant)
    // writes nothing.
    let mut page = lists::page::<T>(engine, filter.clone()).await?;
    if let Format::Csv = format {
        let header: Vec<String> = T::COLUMNS.iter().map(|(h, _)| h.to_string()).collect();
        out.write_all(csv_line(&header).as_bytes())?;
    }
    let mut written = 0;
    loop {
        let (items, next) = page;
        for item in &items {
            match format {
                Format::Csv => {
                    let values: Vec<String> = T::COLUMNS.iter().map(|(_, v)| v(item)).collect();
                    out.write_all(csv_line(&values).as_bytes())?
                }
                Format::Jsonl => {
                    serde_json::to_writer(&mut *out, &item.listed())?;
                    out.write_all(b"\n")?;
                }
            }
            written += 1;
        }
        match next {
            Some(position) => filter.before = Some(position),
            None => return Ok(written),
        }
        page = lists::page::<T>(engine, filter.clone()).await?;
    }
}

/// Where the rows go: standard output, or a new temporary file that becomes the output.
enum Sink {
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
    File {
        file: std::io::BufWriter<std::fs::File>,
        partial: PathBuf,
        path: PathBuf,
    },
}

impl Sink {
    fn open(output: Option<&PathBuf>) -> anyhow::Result<Sink> {
        let Some(path) = output else {
            return Ok(Sink::Stdout(std::io::BufWriter::new(
                std::io::stdout().lock(),
            )));
        };
        let mut partial = path.clone().into_os_string();
        partial.push(format!(".{}.partial", polypay_engine::random_hex(6)));
        let partial = PathBuf::from(partial);
        let mut options = std::fs::OpenOptions::new();
        // O_CREAT | O_EXCL: a file or symbolic link already there is an error, not a target.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        Ok(Sink::File {
            file: std::io::BufWriter::new(file),
            partial,
            path: path.clone(),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Stdout(out) => out,
            Sink::File { file, .. } => file,
        }
    }

    /// The temporary file, if any, to remove when the export does not finish.
    fn partial(&self) -> Option<PathBuf> {
        match self {
            Sink::Stdout(_) => None,
            Sink::File { partial, .. } => Some(partial.clone()),
        }
    }

    /// Flushes; a file is synced, renamed to its name and its directory synced, so a crash
    /// never leaves an empty or partial file under the final name. The name written, if any.
    fn finish(self) -> anyhow::Result<Option<PathBuf>> {
        match self {
            Sink::Stdout(mut out) => {
                out.flush()?;
                Ok(None)
            }
            Sink::File {
                file,
                partial,
                path,
            } => {
                let file = file.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()
                    .with_context(|| format!("cannot sync {}", partial.display()))?;
                std::fs::rename(&partial, &path).with_context(|| {
                    format!("cannot rename {} to {}", partial.display(), path.display())
                })?;
                #[cfg(unix)]
                if let Some(dir) = path.parent() {
                    let dir = if dir.as_os_str().is_empty() {
                        std::path::Path::new(".")
                    } else {
                        dir
                    };
                    std::fs::File::open(dir).and_then(|d| d.sync_all())?;
                }
                Ok(Some(path))
            }
        }
    }
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let params = Params {
        merchant: args.merchant.clone(),
        protocol: args.protocol.clone(),
        state: args.state.clone(),
        created_from: args.created_from.clone(),
        created_before: args.created_before.clone(),
        finished_from: args.finished_from.clone(),
        finished_before: args.finished_before.clone(),
        number: args.number.clone(),
        limit: None,
        cursor: None,
    };
    let kind = match args.kind {
        Kind::Payments => Listing::Payments,
        Kind::Payouts => Listing::Payouts,
        Kind::Refunds => Listing::Refunds,
    };
    // Checked before the database is opened: a typo costs nothing.
    params.filter(kind).map_err(anyhow::Error::msg)?;
    let boot = polypay_server::bootstrap(&mut args.db.load_existing()?).await?;
    let engine = &boot.engine;
    let mut sink = Sink::open(args.output.as_ref())?;
    let partial = sink.partial();
    let out = sink.writer();
    let export = async {
        match kind {
            Listing::Payments => write_all::<Payment>(engine, &params, args.format, out).await,
            Listing::Payouts => write_all::<Payout>(engine, &params, args.format, out).await,
            Listing::Refunds => write_all::<Refund>(engine, &params, args.format, out).await,
        }
    };
    // Ctrl-C removes the temporary file rather than leave a part of an export behind.
    let written = tokio::select! {
        written = export => written,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let finished = written.and_then(|n| Ok((n, sink.finish()?)));
    engine.store().close();
    let (written, path) = match finished {
        Ok(done) => done,
        Err(e) => {
            if let Some(partial) = partial {
                let _ = std::fs::remove_file(partial);
            } else if closed_pipe(&e) {
                // `polypay export … | head`: the reader has what it wanted; end as a Unix
                // tool does.
                std::process::exit(141)
            }
            return Err(e);
        }
    };
    let what = kind.name();
    match path {
        Some(path) => eprintln!("exported {written} {what} to {}", path.display()),
        None => eprintln!("exported {written} {what}"),
    }
    Ok(())
}

/// Whether `e` is a write to a pipe whose reader has gone.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_disarmed() {
        assert_eq!(field("ORDER-1"), "ORDER-1");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1+1"), "'-1+1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field(""), "");
        assert_eq!(
            csv_line(&["a".into(), "".into(), "c,d".into()]),
            "a,,\"c,d\"\r\n"
        );
    }
}
