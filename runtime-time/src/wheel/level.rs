//! One level of the timer wheel: 64 slot lists and a bit mask of the non-empty ones.
//!
//! Level `L` slots are `64^L` ticks wide; which slot an entry goes to, and which span of time a
//! slot index stands for, is decided by [`Wheel`](super::Wheel). This type only owns the list
//! heads (nodes live in the [`Arena`]) and keeps `occupied` bit `s` set exactly when slot `s`
//! is non-empty, so finding the next occupied slot is a rotate and a `trailing_zeros`.

use super::arena::{Arena, Loc, NIL};

/// Number of slots per level.
pub(crate) const SLOTS: usize = 64;

/// The slot lists of one level (see the module docs).
pub(crate) struct Level {
    /// Which level this is (recorded in the nodes' [`Loc`]).
    level: usize,
    /// Bit `s` is set iff `slots[s]` is non-empty.
    occupied: u64,
    /// Head of each slot's list ([`NIL`] when empty).
    slots: [u32; SLOTS],
}

impl Level {
    pub(crate) fn new(level: usize) -> Self {
        Level {
            level,
            occupied: 0,
            slots: [NIL; SLOTS],
        }
    }

    /// Links the unlinked node `index` into `slot`.
    pub(crate) fn push<T>(&mut self, arena: &mut Arena<T>, slot: usize, index: u32) {
        arena.push_front(&mut self.slots[slot], index, Loc::slot(self.level, slot));
        self.occupied |= 1 << slot;
    }

    /// Unlinks `index`, which is in `slot` of this level.
    pub(crate) fn unlink<T>(&mut self, arena: &mut Arena<T>, slot: usize, index: u32) {
        arena.unlink(&mut self.slots[slot], index);
        if self.slots[slot] == NIL {
            self.occupied &= !(1 << slot);
        }
    }

    /// The first occupied slot strictly after `current` in rotation order (wrapping around,
    /// with `current` itself last), as `(slot, distance)` where `distance` in `1..=64` is how
    /// many slots ahead of `current` it is. `None` if the level is empty.
    pub(crate) fn next_occupied(&self, current: usize) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let start = (current + 1) % SLOTS;
        let zeros = self.occupied.rotate_right(start as u32).trailing_zeros() as usize;
        Some(((start + zeros) % SLOTS, zeros as u64 + 1))
    }

    /// Unlinks and returns the first node of `slot`, if any.
    pub(crate) fn pop<T>(&mut self, arena: &mut Arena<T>, slot: usize) -> Option<u32> {
        let index = arena.pop_front(&mut self.slots[slot])?;
        if self.slots[slot] == NIL {
            self.occupied &= !(1 << slot);
        }
        Some(index)
    }
}
