//! Sweep leases: which node runs a background sweep (expiry, sandbox completions,
//! housekeeping) at a time. A holder renews its lease at each tick; another node takes it only
//! once it has lapsed. Times are the nodes' real clocks (never the sandbox's travelled one).
//! And the check every node makes that no newer node has migrated the schema past it.

use crate::db::Db;
use crate::error::StoreError;

/// How far past the end of a lease a node would write another node's may end before it is
/// taken for void: an hour, well beyond any lease length (nodes may run different ticks).
pub const VOID_AHEAD_MS: i64 = 3_600_000;

impl Db<'_> {
    /// Takes or renews the lease `name` for `holder` until `until_ms`; true when `holder` has
    /// it now (it had it, or nobody had, or the last holder's lease ended before `now_ms`, or
    /// ends more than [`VOID_AHEAD_MS`] past `until_ms`: no node writes such a lease, so it is a
    /// clock far ahead or a hand-edited row, and would otherwise stop the sweep that long).
    /// Run it as a job of [`crate::Locks::Lease`]. A node that does not get the lease locks no
    /// row: the update matches none, and the insert does nothing on the existing one (where an
    /// upsert's `DO UPDATE … WHERE` would lock it even when its condition fails).
    pub fn take_sweep_lease(
        &mut self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let renewed = self.exec(
            "UPDATE sweep_leases SET holder = $2, until_ms = $3 \
             WHERE name = $1 AND (holder = $2 OR until_ms < $4 OR until_ms > $5)",
            &[
                name.into(),
                holder.into(),
                until_ms.into(),
                now_ms.into(),
                until_ms.saturating_add(VOID_AHEAD_MS).into(),
            ],
        )?;
        if renewed == 1 {
            return Ok(true);
        }
        let taken = self.exec(
            "INSERT INTO sweep_leases (name, holder, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            &[name.into(), holder.into(), until_ms.into()],
        )?;
        Ok(taken == 1)
    }

    /// Gives up `holder`'s lease `name` (a node stopping), so another node takes it at its
    /// next tick instead of when it would have lapsed.
    pub fn release_sweep_lease(&mut self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE sweep_leases SET until_ms = 0 WHERE name = $1 AND holder = $2",
            &[name.into(), holder.into()],
        )?;
        Ok(())
    }

    /// Who holds the lease `name` and until when, if anyone ever took it.
    pub fn sweep_lease(&mut self, name: &str) -> Result<Option<(String, i64)>, StoreError> {
        let rows = self.rows(
            "SELECT holder, until_ms FROM sweep_leases WHERE name = $1",
            &[name.into()],
        )?;
        rows.first()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .transpose()
    }
}

impl Db<'_> {
    /// Why this node must stop: a newer node migrated the database past what this binary
    /// knows, with a migration older nodes cannot run beside (`schema_compat`, migration 14);
    /// `None` while it may run.
    pub fn outgrown_schema(&mut self) -> Result<Option<String>, StoreError> {
        let r = crate::migrate::check_schema(&mut *self.conn);
        self.note(r)
    }

    /// The newest migration the database holds (a newer polypay's, when above
    /// [`crate::schema_version`]).
    pub fn newest_migration(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .int_of("SELECT MAX(version) FROM schema_migrations", &[])?
            .unwrap_or(0))
    }
}
