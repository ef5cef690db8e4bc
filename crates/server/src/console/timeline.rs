//! One object's timeline: every state change (its outbox events), every ledger posting, and
//! every merchant callback with each attempt's request as sent and response as received,
//! merged in time order.

use super::Console;
use super::callbacks::{self, request_block};
use super::layout::{badge, escape, json_block, money, time};
use polypay_core::Timestamp;
use polypay_engine::EngineError;
use polypay_store::{Delivery, DeliveryAttempt, DeliveryState, LedgerEntry, OutboxEvent};

/// One line of a timeline.
pub enum Entry {
    /// A state change, with the object's snapshot after it, and whether its protocol never
    /// sends a callback for it (such an event has no callback row to show).
    State(OutboxEvent, bool),
    /// One ledger posting (the legs of one transaction).
    Ledger(Vec<LedgerEntry>),
    /// A callback was queued for an event.
    Queued(Box<Delivery>),
    /// One attempt of a callback.
    Attempt(Box<(Delivery, DeliveryAttempt)>),
}

impl Entry {
    /// When it happened, and an order among things of the same millisecond
    /// (state change, then its postings, then its callback, then attempts).
    fn key(&self) -> (Timestamp, u8, i64) {
        match self {
            Entry::State(e, _) => (e.created_at, 0, e.id),
            Entry::Ledger(legs) => (legs.first().map_or(Timestamp(0), |l| l.created_at), 1, 0),
            Entry::Queued(d) => (d.created_at, 2, d.id),
            Entry::Attempt(da) => (da.1.started_at, 3, da.1.id),
        }
    }
}

/// Postings grouped by transaction, in the order they were written.
fn group_ledger(entries: Vec<LedgerEntry>) -> Vec<Vec<LedgerEntry>> {
    let mut groups: Vec<Vec<LedgerEntry>> = Vec::new();
    for e in entries {
        match groups.last_mut() {
            Some(g) if g[0].txn_id == e.txn_id => g.push(e),
            _ => groups.push(vec![e]),
        }
    }
    groups
}

/// The timeline of `objects` (a payment and its refunds, or a payout); callbacks are those of
/// `callback_key` (a payment's include its refunds').
pub async fn collect(
    c: &Console,
    objects: Vec<String>,
    callback_key: &str,
) -> Result<Vec<Entry>, EngineError> {
    let silent = c.app.silent_events().clone();
    let stored = c
        .app
        .engine()
        .store()
        .read(move |db| {
            let mut out = Vec::new();
            for id in &objects {
                out.extend(db.outbox_of_object(id)?.into_iter().map(|e| {
                    let quiet = silent.contains(e.protocol, &e.event);
                    Entry::State(e, quiet)
                }));
                let legs = group_ledger(db.ledger_of_object(id)?);
                out.extend(legs.into_iter().map(Entry::Ledger));
            }
            Ok::<_, EngineError>(out)
        })
        .await?;
    let mut entries = stored;
    for (delivery, attempts) in callbacks::of_object(c, callback_key).await {
        for a in attempts {
            entries.push(Entry::Attempt(Box::new((delivery.clone(), a))));
        }
        entries.push(Entry::Queued(Box::new(delivery)));
    }
    entries.sort_by_key(Entry::key);
    Ok(entries)
}

fn state_item(e: &OutboxEvent, silent: bool) -> String {
    let state = e.event.rsplit('.').next().unwrap_or("");
    let silent = if silent {
        " <span class=\"muted\">(no callback: the protocol never sends this event)</span>"
    } else {
        ""
    };
    format!(
        "<li class=\"state\"><span class=\"muted\">{}</span> <strong>{}</strong> {} <span class=\"muted\">{}</span>{silent}\
         <details><summary>snapshot</summary>{}</details></li>",
        time(e.created_at),
        escape(&e.event),
        badge(state),
        escape(&e.object_id),
        json_block(&e.payload)
    )
}

fn ledger_item(legs: &[LedgerEntry]) -> String {
    let Some(first) = legs.first() else {
        return String::new();
    };
    let lines: String = legs
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&l.account),
                money(&l.amount)
            )
        })
        .collect();
    format!(
        "<li class=\"ledger\"><span class=\"muted\">{}</span> <strong>ledger</strong> {} <span class=\"muted\">{}</span>\
         <table>{lines}</table></li>",
        time(first.created_at),
        escape(&first.kind),
        escape(&first.txn_id)
    )
}

fn queued_item(d: &Delivery) -> String {
    let request = d
        .request
        .as_ref()
        .map(|r| {
            format!(
                "<details><summary>request to send</summary>{}</details>",
                request_block(r)
            )
        })
        .unwrap_or_default();
    let what = if d.state == DeliveryState::Skipped {
        "no callback (the protocol sends none for this event)"
    } else {
        "callback queued"
    };
    format!(
        "<li class=\"callback\"><span class=\"muted\">{}</span> <strong>{what}</strong> \
         <a href=\"/console/callbacks/{}\">#{}</a> {} {}{request}</li>",
        time(d.created_at),
        d.id,
        d.id,
        escape(&d.event),
        badge(d.state.as_str())
    )
}

fn attempt_item(d: &Delivery, a: &DeliveryAttempt) -> String {
    format!(
        "<li class=\"callback attempt\"><span class=\"muted\">{}</span> <strong>callback attempt {}</strong> \
         <a href=\"/console/callbacks/{}\">#{}</a> {} {}{}",
        time(a.started_at),
        a.attempt,
        d.id,
        d.id,
        escape(&d.event),
        badge(a.outcome.as_str()),
        callbacks::attempt_details(a),
    ) + "</li>"
}

/// The timeline as an ordered list.
pub fn render(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "<p class=\"muted\">Nothing recorded yet.</p>".into();
    }
    let items: String = entries
        .iter()
        .map(|e| match e {
            Entry::State(ev, silent) => state_item(ev, *silent),
            Entry::Ledger(legs) => ledger_item(legs),
            Entry::Queued(d) => queued_item(d),
            Entry::Attempt(da) => attempt_item(&da.0, &da.1),
        })
        .collect();
    format!("<div class=\"card\"><ol class=\"timeline\" id=\"timeline\">{items}</ol></div>")
}
