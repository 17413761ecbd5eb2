//! The hierarchical timer wheel: every registered deadline of a time driver, with O(1)
//! insert, remove and reset and an `advance` that costs in proportion to the entries it moves.
//!
//! The wheel is a plain single-threaded data structure; the driver owns it behind a mutex,
//! registers deadlines (payload: the sleeping task's waker), asks [`Wheel::next_deadline_ns`]
//! how long it may park, and calls [`Wheel::advance`] with the current time to fire what is due.
//!
//! # Time
//!
//! Deadlines are `u64` nanoseconds since the clock's origin. The wheel's resolution is a tick of
//! 1 ms: `tick(deadline) = deadline / 1_000_000`. The wheel remembers `elapsed`, the last tick it
//! was advanced to (starting at 0; time never goes back).
//!
//! # Layout
//!
//! Six [`Level`]s of 64 slots; level `L` slots are `64^L` ticks wide, so a level spans `64^(L+1)`
//! ticks and the wheel spans `64^6` ticks (about 2.2 years). Entries whose tick is not after
//! `elapsed` (due this millisecond, or in the past) are not in any level but in the *pending*
//! list, where [`advance`](Wheel::advance) compares them with the exact nanosecond deadline.
//!
//! An entry with tick `t > elapsed` goes to the level of the highest 6-bit group in which `t`
//! and `elapsed` differ (level 0 if they differ only in the lowest group), at slot
//! `(t >> 6L) & 63`. Its *slot start* `S = (t >> 6L) << 6L` is then after `elapsed` and (for
//! `L < 5`) in the same `64^(L+1)`-tick block as `elapsed`. A tick `64^6` or more ticks ahead is
//! clamped to `elapsed + 64^6 - 1`, the last tick the top level can tell apart, which puts it in
//! the top level's last reachable slot; level 5 is the one level whose slot indices wrap (the
//! slot of a tick in the next `64^6` block may be at or below `elapsed`'s own level-5 slot).
//!
//! Invariant: every entry at level `L` has a slot start `S` with `elapsed < S <= elapsed +
//! 64^(L+1)` and `S <= ` its (clamped) placement tick `<=` its tick. `S` is not stored: it is the
//! unique start of a slot with that index in that window, found from `elapsed` and the slot
//! index alone by looking at the occupied slots after `elapsed`'s own slot in rotation order
//! ([`Level::next_occupied`]). Advancing `elapsed` without reaching `S` keeps the invariant.
//!
//! # Advancing
//!
//! [`advance(now)`](Wheel::advance) repeatedly takes the occupied slot with the earliest start
//! `S` over all levels (masks only), stops when `S > tick(now)`, else sets `elapsed = S`, empties
//! the slot and handles each entry by its *true* deadline: fires it if it is `<= now`, puts it
//! into pending if its tick is `<= tick(now)` (due later within this millisecond), else
//! re-places it into a lower level (a cascade) or a later slot. Then `elapsed = tick(now)` and
//! the pending list is scanned: entries with `deadline <= now` fire; entries whose deadline was
//! reset past `elapsed` since they entered pending are re-placed into the levels. Nothing fires
//! early, and nothing due is left behind: an entry's slot start is never after its tick, so
//! every entry with `tick <= tick(now)` leaves the levels within the call.
//!
//! [`reset`](Wheel::reset) to a *later* deadline only stores it: the node's current slot starts
//! no later than the new tick, and processing the slot re-places the node by its true deadline
//! (the same way clamped entries are re-placed). An *earlier* deadline relinks the node.
//!
//! # Next deadline
//!
//! [`next_deadline_ns`](Wheel::next_deadline_ns) is the minimum deadline over the pending list
//! if it is non-empty (a cached lower bound, exact after each `advance`; every pending entry's
//! tick is `<= elapsed`, so it is below every level entry's deadline), else the earliest slot
//! start over the levels, which is `<=` the deadlines in that slot and in every later slot.
//! After `advance(now)` it is `> now` for a non-empty wheel.

mod arena;
mod level;
#[cfg(all(test, not(loom)))]
mod tests;

pub(crate) use arena::Key;
use arena::{Arena, Loc, NIL};
use level::{Level, SLOTS};

/// Nanoseconds per tick (1 ms).
const NANOS_PER_TICK: u64 = 1_000_000;
/// Number of levels.
const LEVELS: usize = 6;
/// Ticks spanned by the whole wheel: `64^6`.
const RANGE: u64 = 1 << (6 * LEVELS);

/// The tick (millisecond slot) a deadline falls in.
fn tick_of(deadline_ns: u64) -> u64 {
    deadline_ns / NANOS_PER_TICK
}

/// The level for an entry at `tick` when the wheel is at `elapsed` (`tick > elapsed`,
/// `tick - elapsed < RANGE`): the highest 6-bit group in which they differ, at most 5.
fn level_for(elapsed: u64, tick: u64) -> usize {
    let masked = ((elapsed ^ tick) | (SLOTS as u64 - 1)).min(RANGE - 1);
    (63 - masked.leading_zeros() as usize) / 6
}

/// A hierarchical timer wheel of deadlines carrying payloads `T` (see the module docs).
pub(crate) struct Wheel<T> {
    arena: Arena<T>,
    levels: [Level; LEVELS],
    /// Head of the pending list: entries with tick `<= elapsed`, checked against their exact
    /// deadline by `advance` (plus entries reset later since, re-placed by the next `advance`).
    pending: u32,
    /// A lower bound of the deadlines in the pending list (exact after `advance`); meaningful
    /// only while the list is non-empty. Always `< (elapsed + 1) * NANOS_PER_TICK` then.
    pending_min: u64,
    /// The last tick the wheel was advanced to.
    elapsed: u64,
    /// The latest `now_ns` passed to `advance` (time never goes back).
    now_ns: u64,
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        Wheel {
            arena: Arena::new(),
            levels: std::array::from_fn(Level::new),
            pending: NIL,
            pending_min: u64::MAX,
            elapsed: 0,
            now_ns: 0,
        }
    }

    /// Number of registered entries.
    pub(crate) fn len(&self) -> usize {
        self.arena.len()
    }

    #[cfg(all(test, not(loom)))]
    /// Whether no entry is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.arena.len() == 0
    }

    #[cfg(all(test, not(loom)))]
    /// The last tick (ms) the wheel was advanced to.
    pub(crate) fn elapsed_tick(&self) -> u64 {
        self.elapsed
    }

    /// Registers `value` to fire at `deadline_ns`. O(1); does not allocate when a removed entry's
    /// node can be reused.
    pub(crate) fn insert(&mut self, deadline_ns: u64, value: T) -> Key {
        let index = self.arena.alloc(deadline_ns, value);
        self.place(index, self.elapsed);
        self.arena.key(index)
    }

    /// Unregisters the entry of `key` and returns its payload; `None` if the key is stale. O(1).
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let index = self.arena.lookup(key)?;
        self.unlink(index);
        Some(self.arena.free(index))
    }

    /// The payload of `key`'s entry (e.g. to replace the waker); `None` if the key is stale.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let index = self.arena.lookup(key)?;
        Some(self.arena.value_mut(index))
    }

    #[cfg(all(test, not(loom)))]
    /// The exact deadline registered for `key`; `None` if the key is stale.
    pub(crate) fn deadline(&self, key: Key) -> Option<u64> {
        let index = self.arena.lookup(key)?;
        Some(self.arena.deadline(index))
    }

    /// Changes the deadline of `key`'s entry, keeping the key. O(1). A later deadline is only
    /// stored (the node is re-placed when its current slot is processed); an earlier one
    /// relinks the node. Returns `false` if the key is stale.
    pub(crate) fn reset(&mut self, key: Key, deadline_ns: u64) -> bool {
        let Some(index) = self.arena.lookup(key) else {
            return false;
        };
        let old = self.arena.deadline(index);
        self.arena.set_deadline(index, deadline_ns);
        if deadline_ns < old {
            if self.arena.loc(index) == Loc::PENDING {
                // Pending is checked against exact deadlines: only the bound needs lowering.
                self.pending_min = self.pending_min.min(deadline_ns);
            } else {
                self.unlink(index);
                self.place(index, self.elapsed);
            }
        }
        true
    }

    /// When the driver must next look at the wheel: `None` if empty, else a time (ns) no later
    /// than the earliest registered deadline (see the module docs). O(levels).
    pub(crate) fn next_deadline_ns(&self) -> Option<u64> {
        if self.pending != NIL {
            return Some(self.pending_min);
        }
        self.next_slot()
            .map(|(_, _, start)| start.saturating_mul(NANOS_PER_TICK))
    }

    /// Advances to `now_ns` (or stays at the latest earlier `now_ns`: time never goes back):
    /// processes every slot that starts at or before `tick(now_ns)`, then passes the payload of
    /// every entry whose deadline is `<= now_ns` to `fire` (in no particular order), removing
    /// it. Never fires an entry whose deadline is later than `now_ns`.
    pub(crate) fn advance(&mut self, now_ns: u64, mut fire: impl FnMut(T)) {
        let now_ns = now_ns.max(self.now_ns);
        self.now_ns = now_ns;
        let now_tick = tick_of(now_ns);

        while let Some((level, slot, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            self.elapsed = start;
            // Popped from the live slot rather than a detached list, so that if `fire` panics
            // every remaining node is still linked where its location says. Re-placing never
            // links a node back into this slot: its new start is after this slot's start and
            // within one rotation of it.
            while let Some(index) = self.levels[level].pop(&mut self.arena, slot) {
                if self.arena.deadline(index) <= now_ns {
                    // Due: fire now rather than passing through pending (one list walk less).
                    fire(self.arena.free(index));
                } else {
                    self.place(index, now_tick);
                    debug_assert_ne!(self.arena.loc(index), Loc::slot(level, slot));
                }
            }
        }
        self.elapsed = self.elapsed.max(now_tick);

        // Every pending entry's tick is now <= now_tick except those reset later meanwhile.
        // `pending_min` stays a valid bound if `fire` panics half-way: it is only replaced
        // once the scan is complete.
        let mut min = u64::MAX;
        let mut cursor = self.pending;
        while cursor != NIL {
            let index = cursor;
            cursor = self.arena.next(index);
            let deadline = self.arena.deadline(index);
            if deadline <= now_ns {
                self.arena.unlink(&mut self.pending, index);
                fire(self.arena.free(index));
            } else if tick_of(deadline) > self.elapsed {
                self.arena.unlink(&mut self.pending, index);
                self.place(index, self.elapsed);
            } else {
                min = min.min(deadline);
            }
        }
        self.pending_min = min;
    }

    /// Removes every entry (shutdown), passing each payload to `f`.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(T)) {
        while let Some(index) = self.arena.pop_front(&mut self.pending) {
            f(self.arena.free(index));
        }
        for level in &mut self.levels {
            for slot in 0..SLOTS {
                while let Some(index) = level.pop(&mut self.arena, slot) {
                    f(self.arena.free(index));
                }
            }
        }
        self.pending_min = u64::MAX;
    }

    /// Links the unlinked node `index` by its deadline: into pending if its tick is
    /// `<= pending_until` (`elapsed`, or during `advance` the tick being advanced to), else into
    /// the level slot its (clamped) tick maps to relative to `elapsed`.
    fn place(&mut self, index: u32, pending_until: u64) {
        let deadline = self.arena.deadline(index);
        let tick = tick_of(deadline);
        if tick <= pending_until {
            self.arena
                .push_front(&mut self.pending, index, Loc::PENDING);
            self.pending_min = self.pending_min.min(deadline);
            return;
        }
        debug_assert!(tick > self.elapsed);
        let tick = tick.min(self.elapsed + (RANGE - 1));
        let level = level_for(self.elapsed, tick);
        let slot = ((tick >> (6 * level)) as usize) % SLOTS;
        self.levels[level].push(&mut self.arena, slot, index);
    }

    /// Unlinks the linked node `index` from whichever list it is in.
    fn unlink(&mut self, index: u32) {
        match self.arena.loc(index).level_slot() {
            Some((level, slot)) => self.levels[level].unlink(&mut self.arena, slot, index),
            None => {
                debug_assert_eq!(self.arena.loc(index), Loc::PENDING);
                self.arena.unlink(&mut self.pending, index);
            }
        }
    }

    /// The occupied slot with the earliest start over all levels, as `(level, slot, start
    /// tick)`; `None` if every level is empty.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let mut best: Option<(usize, usize, u64)> = None;
        for (level, lvl) in self.levels.iter().enumerate() {
            let shift = 6 * level;
            let current = ((self.elapsed >> shift) as usize) % SLOTS;
            if let Some((slot, distance)) = lvl.next_occupied(current) {
                let start = ((self.elapsed >> shift) + distance) << shift;
                if best.is_none_or(|(_, _, b)| start < b) {
                    best = Some((level, slot, start));
                }
            }
        }
        best
    }
}
