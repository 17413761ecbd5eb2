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
//! list, kept sorted by exact nanosecond deadline, from which [`advance`](Wheel::advance) fires;
//! those inserted since the last `advance` wait in the *unsorted* list until it merges them.
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
//! [`advance(now)`](Wheel::advance) works in three phases.
//!
//! 1. *Collect.* It takes every entry of the unsorted list, then repeatedly takes the occupied
//!    slot with the earliest start `S` over all levels (masks only), stops when
//!    `S > tick(now)`, else sets `elapsed = S`, empties the slot and handles each entry by its
//!    *true* deadline: if its tick is `<= tick(now)` it is collected, else it is re-placed into
//!    a lower level (a cascade) or a later slot. Then `elapsed = tick(now)`. Collected entries
//!    go as `(deadline, index)` pairs into a scratch vector the wheel keeps, so its capacity is
//!    reused. Nothing due is left behind: an entry's slot start is never after its tick, so
//!    every entry with `tick <= tick(now)` leaves the levels within the call.
//! 2. *Merge.* The collected entries are sorted by deadline (`sort_unstable` on the contiguous
//!    pairs, no pointer chasing) and merged into the sorted pending list in one pass.
//! 3. *Fire.* Entries are popped from the head of pending while their deadline is `<= now`, so
//!    one call fires in ascending deadline order and nothing fires early.
//!
//! Cost: phase 1 is O(levels) per slot plus O(1) per moved entry, phase 2 is `O(k log k)` for
//! the `k` entries collected plus the pending entries the merge walks past (those before the
//! last collected deadline; at a millisecond boundary they are the due leftovers of the
//! previous millisecond, fired by phase 3 anyway), phase 3 is O(1) per fired entry. So an
//! `advance` within the current millisecond (the driver waking at the exact earliest
//! deadline) costs O(fired + k log k) for the `k` sub-millisecond timers registered since the
//! last one, not O(pending); each entry is sorted once per pass through pending.
//!
//! No user code runs before phase 3, and phase 3 unlinks and frees each entry before passing
//! its payload to `fire`. If `fire` panics, that payload is dropped by the unwind; every other
//! entry stays registered, linked where its location says, with the pending list sorted;
//! `elapsed` and the latest `now` are already updated, and the next `advance` fires what is
//! still due.
//!
//! # Insert, remove, reset
//!
//! All O(1). An entry with tick `<= elapsed` (less than a millisecond ahead, or past) is pushed
//! onto the unsorted list and lowers its bound `unsorted_min`; sorting it into pending right
//! away would cost a list walk each, O(n^2) for `n` such timers registered within one
//! millisecond. Removal unlinks (which keeps pending sorted; the bound may stay too low, which
//! only costs one early wake-up of the driver).
//!
//! [`reset`](Wheel::reset) of an entry in a level slot to a *later* deadline only stores it:
//! the node's current slot starts no later than the new tick, and processing the slot re-places
//! the node by its true deadline (the same way clamped entries are re-placed). An *earlier*
//! deadline relinks the node. A reset of a pending entry keeps it in place if the order still
//! holds, else unlinks it and re-places it (onto the unsorted list, or into a level if its
//! tick is now after `elapsed`); an unsorted entry stays unsorted unless its tick moves past
//! `elapsed`. So neither list ever holds an entry with a tick after `elapsed`.
//!
//! # Next deadline
//!
//! [`next_deadline_ns`](Wheel::next_deadline_ns) is, if either pending list is non-empty, the
//! smaller of the deadline at the head of the sorted list and `unsorted_min` (exact right after
//! `advance`, when the unsorted list is empty; every pending entry's tick is `<= elapsed`, so
//! this is below every level entry's deadline), else the earliest slot start over the levels,
//! which is `<=` the deadlines in that slot and in every later slot. O(1) in the first case,
//! O(levels) in the second. After `advance(now)` it is `> now` for a non-empty wheel.

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
    /// Head of the pending list: entries with tick `<= elapsed`, sorted by deadline
    /// (ascending; ties in no particular order).
    pending: u32,
    /// Head of the unsorted list: entries with tick `<= elapsed` inserted or relinked since
    /// the last `advance`, which merges them into pending.
    unsorted: u32,
    /// A lower bound of the unsorted list's deadlines; meaningful only while it is non-empty.
    unsorted_min: u64,
    /// Scratch space of `advance`: `(deadline, index)` of the entries joining pending, sorted
    /// and merged into it before anything fires. Empty between calls; kept for its capacity.
    batch: Vec<(u64, u32)>,
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
            unsorted: NIL,
            unsorted_min: u64::MAX,
            batch: Vec::new(),
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
        self.place(index);
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

    /// Changes the deadline of `key`'s entry, keeping the key. O(1). Returns `false` if the key
    /// is stale. For an entry in a level slot, a later deadline is only stored (the node is
    /// re-placed when its current slot is processed) and an earlier one relinks the node; a
    /// pending entry stays in place if the order still holds (see the module docs).
    pub(crate) fn reset(&mut self, key: Key, deadline_ns: u64) -> bool {
        let Some(index) = self.arena.lookup(key) else {
            return false;
        };
        let old = self.arena.deadline(index);
        self.arena.set_deadline(index, deadline_ns);
        let loc = self.arena.loc(index);
        if loc == Loc::PENDING {
            if !self.fits_in_pending(index, deadline_ns) {
                self.arena.unlink(&mut self.pending, index);
                self.place(index);
            }
        } else if loc == Loc::UNSORTED {
            if tick_of(deadline_ns) > self.elapsed {
                self.arena.unlink(&mut self.unsorted, index);
                self.place(index);
            } else {
                self.unsorted_min = self.unsorted_min.min(deadline_ns);
            }
        } else if deadline_ns < old {
            self.unlink(index);
            self.place(index);
        }
        true
    }

    /// When the driver must next look at the wheel: `None` if empty, else a time (ns) no later
    /// than the earliest registered deadline; right after `advance`, equal to it when that is
    /// less than a millisecond ahead (see the module docs). O(levels).
    pub(crate) fn next_deadline_ns(&self) -> Option<u64> {
        if self.unsorted != NIL {
            return Some(match self.pending {
                NIL => self.unsorted_min,
                head => self.arena.deadline(head).min(self.unsorted_min),
            });
        }
        if self.pending != NIL {
            return Some(self.arena.deadline(self.pending));
        }
        self.next_slot()
            .map(|(_, _, start)| start.saturating_mul(NANOS_PER_TICK))
    }

    /// Advances to `now_ns` (or stays at the latest earlier `now_ns`: time never goes back):
    /// processes every slot that starts at or before `tick(now_ns)`, then passes the payload of
    /// every entry whose deadline is `<= now_ns` to `fire`, in ascending deadline order,
    /// removing it. Never fires an entry whose deadline is later than `now_ns`. If `fire`
    /// panics, the wheel stays consistent (see the module docs).
    pub(crate) fn advance(&mut self, now_ns: u64, mut fire: impl FnMut(T)) {
        let now_ns = now_ns.max(self.now_ns);
        self.now_ns = now_ns;
        let now_tick = tick_of(now_ns);

        // Phase 1: take the unsorted list and empty the slots that start by `now_tick`.
        // Collected nodes are unlinked until phase 2 links them, so no user code may run
        // before that.
        debug_assert!(self.batch.is_empty());
        while let Some(index) = self.arena.pop_front(&mut self.unsorted) {
            let deadline = self.arena.deadline(index);
            debug_assert!(tick_of(deadline) <= self.elapsed);
            self.batch.push((deadline, index));
        }
        self.unsorted_min = u64::MAX;
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            self.elapsed = start;
            while let Some(index) = self.levels[level].pop(&mut self.arena, slot) {
                let deadline = self.arena.deadline(index);
                if tick_of(deadline) <= now_tick {
                    self.batch.push((deadline, index));
                } else {
                    // Never back into this slot: the new start is after this slot's start and
                    // within one rotation of it.
                    self.place(index);
                    debug_assert_ne!(self.arena.loc(index), Loc::slot(level, slot));
                }
            }
        }
        self.elapsed = self.elapsed.max(now_tick);

        // Phase 2: sort the collected entries and merge them into pending in one pass. Each
        // search starts after the previously linked node, whose deadline is not later.
        self.batch.sort_unstable_by_key(|&(deadline, _)| deadline);
        let mut prev = NIL;
        for i in 0..self.batch.len() {
            let (deadline, index) = self.batch[i];
            prev = self.pending_position(prev, deadline);
            self.arena
                .link_after(&mut self.pending, prev, index, Loc::PENDING);
            prev = index;
        }
        self.batch.clear();

        // Phase 3: fire from the head. Each node is unlinked and freed before `fire` runs.
        while self.pending != NIL && self.arena.deadline(self.pending) <= now_ns {
            let index = self.pending;
            self.arena.unlink(&mut self.pending, index);
            fire(self.arena.free(index));
        }
    }

    /// Removes every entry (shutdown), passing each payload to `f`.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(T)) {
        while let Some(index) = self.arena.pop_front(&mut self.pending) {
            f(self.arena.free(index));
        }
        while let Some(index) = self.arena.pop_front(&mut self.unsorted) {
            f(self.arena.free(index));
        }
        self.unsorted_min = u64::MAX;
        for level in &mut self.levels {
            for slot in 0..SLOTS {
                while let Some(index) = level.pop(&mut self.arena, slot) {
                    f(self.arena.free(index));
                }
            }
        }
    }

    /// Links the unlinked node `index` by its deadline: onto the unsorted list if its tick is
    /// `<= elapsed`, else into the level slot its (clamped) tick maps to relative to `elapsed`.
    fn place(&mut self, index: u32) {
        let deadline = self.arena.deadline(index);
        let tick = tick_of(deadline);
        if tick <= self.elapsed {
            self.arena
                .push_front(&mut self.unsorted, index, Loc::UNSORTED);
            self.unsorted_min = self.unsorted_min.min(deadline);
            return;
        }
        let tick = tick.min(self.elapsed + (RANGE - 1));
        let level = level_for(self.elapsed, tick);
        let slot = ((tick >> (6 * level)) as usize) % SLOTS;
        self.levels[level].push(&mut self.arena, slot, index);
    }

    /// Where a node with `deadline` goes in the pending list: the last node with an earlier
    /// deadline ([`NIL`]: the head), searching forward from the node after `from` (from the
    /// head if `from` is [`NIL`]; `from` must not be later than `deadline`).
    fn pending_position(&self, from: u32, deadline: u64) -> u32 {
        let mut prev = from;
        let mut cursor = if from == NIL {
            self.pending
        } else {
            self.arena.next(from)
        };
        while cursor != NIL && self.arena.deadline(cursor) < deadline {
            prev = cursor;
            cursor = self.arena.next(cursor);
        }
        prev
    }

    /// Whether the pending node `index`, given `deadline`, is still in sorted position with a
    /// tick `<= elapsed` (a reset that needs no relink).
    fn fits_in_pending(&self, index: u32, deadline: u64) -> bool {
        let (prev, next) = (self.arena.prev(index), self.arena.next(index));
        tick_of(deadline) <= self.elapsed
            && (prev == NIL || self.arena.deadline(prev) <= deadline)
            && (next == NIL || deadline <= self.arena.deadline(next))
    }

    /// Unlinks the linked node `index` from whichever list it is in.
    fn unlink(&mut self, index: u32) {
        match self.arena.loc(index).level_slot() {
            Some((level, slot)) => self.levels[level].unlink(&mut self.arena, slot, index),
            None if self.arena.loc(index) == Loc::UNSORTED => {
                self.arena.unlink(&mut self.unsorted, index);
            }
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
