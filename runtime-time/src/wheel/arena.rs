//! The node arena of the timer wheel: storage for every registered entry, generation-checked
//! keys, and the index-linked doubly linked lists the wheel's slots and pending list are made of.
//!
//! Nodes live in one `Vec`; a removed node goes on a free list (threaded through its `next`
//! field) and is reused by the next insertion, so a wheel in steady state does not allocate.
//! A [`Key`] names a node by index and generation. Freeing a node bumps its generation, so a
//! key kept after its entry was removed or fired is recognised as stale and never aliases the
//! entry that reuses the node. A node whose generation reached `u32::MAX` is retired instead
//! of reused (it costs one node per 2^32 reuses of that index), so aliasing is impossible
//! rather than merely unlikely.
//!
//! A list is identified by its head index alone ([`NIL`] when empty); nodes carry `prev` and
//! `next` indices. Every list operation takes the head it works on, so the owner of the heads
//! (a [`Level`](super::level::Level) slot or one of the wheel's pending lists) can live
//! outside the arena, and unlinking any node is O(1) given the head of the list it is in
//! (which the node's [`Loc`] tells the wheel). Nodes can also be linked after a given node,
//! which is how the wheel merges entries into its sorted pending list.

/// The "no node" index: the end of a list, an empty list's head, the end of the free list.
pub(crate) const NIL: u32 = u32::MAX;

/// Names one registered entry of a [`Wheel`](super::Wheel).
///
/// Keys are cheap to copy. A key whose entry was removed, fired or drained is stale: every
/// operation taking it reports that (`None`/`false`), also after the node was reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

/// Where a node is linked: a level's slot, the sorted pending list, the unsorted list of
/// entries that join pending at the next `advance`, or nowhere (free or in transit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc(u16);

impl Loc {
    /// The pending list (entries whose tick is not after the wheel's elapsed tick).
    pub(crate) const PENDING: Loc = Loc(u16::MAX - 1);
    /// The unsorted list of entries due within the current millisecond (or past) that were
    /// inserted or reset since the last advance.
    pub(crate) const UNSORTED: Loc = Loc(u16::MAX - 2);
    /// Not linked in any list (a free node, or a node being moved).
    pub(crate) const UNLINKED: Loc = Loc(u16::MAX);

    /// Slot `slot` (0..64) of level `level` (0..6).
    pub(crate) fn slot(level: usize, slot: usize) -> Loc {
        debug_assert!(level < 64 && slot < 64);
        Loc((level * 64 + slot) as u16)
    }

    /// The `(level, slot)` this location names, or `None` for the other lists or unlinked.
    pub(crate) fn level_slot(self) -> Option<(usize, usize)> {
        if self == Loc::PENDING || self == Loc::UNSORTED || self == Loc::UNLINKED {
            None
        } else {
            Some((usize::from(self.0) / 64, usize::from(self.0) % 64))
        }
    }
}

/// One arena node. Vacant nodes have `value: None`, `loc: UNLINKED` and use `next` as the
/// free-list link.
struct Node<T> {
    deadline: u64,
    prev: u32,
    next: u32,
    generation: u32,
    loc: Loc,
    value: Option<T>,
}

/// The node storage (see the module docs).
pub(crate) struct Arena<T> {
    nodes: Vec<Node<T>>,
    /// Head of the free list (vacant, reusable nodes), linked by `next`.
    free: u32,
    /// Number of occupied nodes.
    len: usize,
}

impl<T> Arena<T> {
    pub(crate) fn new() -> Self {
        Arena {
            nodes: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// Number of occupied nodes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores a new, unlinked entry and returns its index.
    pub(crate) fn alloc(&mut self, deadline: u64, value: T) -> u32 {
        self.len += 1;
        if self.free != NIL {
            let index = self.free;
            let node = &mut self.nodes[index as usize];
            self.free = node.next;
            node.deadline = deadline;
            node.prev = NIL;
            node.next = NIL;
            node.loc = Loc::UNLINKED;
            node.value = Some(value);
            return index;
        }
        let index = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("the timer wheel holds more than u32::MAX - 1 timers; drop some before registering more");
        self.nodes.push(Node {
            deadline,
            prev: NIL,
            next: NIL,
            generation: 0,
            loc: Loc::UNLINKED,
            value: Some(value),
        });
        index
    }

    /// Frees an unlinked, occupied node and returns its payload. Keys to it become stale.
    pub(crate) fn free(&mut self, index: u32) -> T {
        let node = &mut self.nodes[index as usize];
        debug_assert_eq!(node.loc, Loc::UNLINKED, "freeing a linked node");
        let value = node.value.take().expect("freeing a vacant node");
        self.len -= 1;
        if node.generation == u32::MAX {
            // Retired: reusing it would let a key issued 2^32 generations ago alias again.
            return value;
        }
        node.generation += 1;
        node.next = self.free;
        self.free = index;
        value
    }

    /// The key of an occupied node.
    pub(crate) fn key(&self, index: u32) -> Key {
        Key {
            index,
            generation: self.nodes[index as usize].generation,
        }
    }

    /// The index of the node `key` names, or `None` if the key is stale.
    pub(crate) fn lookup(&self, key: Key) -> Option<u32> {
        let node = self.nodes.get(key.index as usize)?;
        (node.generation == key.generation && node.value.is_some()).then_some(key.index)
    }

    pub(crate) fn deadline(&self, index: u32) -> u64 {
        self.nodes[index as usize].deadline
    }

    pub(crate) fn set_deadline(&mut self, index: u32, deadline: u64) {
        self.nodes[index as usize].deadline = deadline;
    }

    pub(crate) fn loc(&self, index: u32) -> Loc {
        self.nodes[index as usize].loc
    }

    /// The node after `index` in its list ([`NIL`] at the end).
    pub(crate) fn next(&self, index: u32) -> u32 {
        self.nodes[index as usize].next
    }

    /// The node before `index` in its list ([`NIL`] at the front).
    pub(crate) fn prev(&self, index: u32) -> u32 {
        self.nodes[index as usize].prev
    }

    pub(crate) fn value_mut(&mut self, index: u32) -> &mut T {
        self.nodes[index as usize]
            .value
            .as_mut()
            .expect("a live key names an occupied node")
    }

    /// Links the unlinked node `index` at the front of the list `*head`, recording `loc`.
    pub(crate) fn push_front(&mut self, head: &mut u32, index: u32, loc: Loc) {
        let old = *head;
        {
            let node = &mut self.nodes[index as usize];
            debug_assert_eq!(node.loc, Loc::UNLINKED, "linking a node twice");
            node.prev = NIL;
            node.next = old;
            node.loc = loc;
        }
        if old != NIL {
            self.nodes[old as usize].prev = index;
        }
        *head = index;
    }

    /// Links the unlinked node `index` right after `prev` in the list `*head` (at the front if
    /// `prev` is [`NIL`]), recording `loc`.
    pub(crate) fn link_after(&mut self, head: &mut u32, prev: u32, index: u32, loc: Loc) {
        if prev == NIL {
            return self.push_front(head, index, loc);
        }
        let next = self.nodes[prev as usize].next;
        {
            let node = &mut self.nodes[index as usize];
            debug_assert_eq!(node.loc, Loc::UNLINKED, "linking a node twice");
            node.prev = prev;
            node.next = next;
            node.loc = loc;
        }
        self.nodes[prev as usize].next = index;
        if next != NIL {
            self.nodes[next as usize].prev = index;
        }
    }

    /// Unlinks `index` from the list `*head` (which must be the list it is in).
    pub(crate) fn unlink(&mut self, head: &mut u32, index: u32) {
        let (prev, next) = {
            let node = &mut self.nodes[index as usize];
            let links = (node.prev, node.next);
            node.prev = NIL;
            node.next = NIL;
            node.loc = Loc::UNLINKED;
            links
        };
        if prev == NIL {
            debug_assert_eq!(*head, index, "unlinking from the wrong list");
            *head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
    }

    /// Unlinks and returns the first node of the list `*head`, if any.
    pub(crate) fn pop_front(&mut self, head: &mut u32) -> Option<u32> {
        let index = *head;
        if index == NIL {
            return None;
        }
        self.unlink(head, index);
        Some(index)
    }

    /// Number of nodes ever allocated (occupied, free or retired).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn capacity(&self) -> usize {
        self.nodes.len()
    }

    /// Size of one node with this payload.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn node_size() -> usize {
        std::mem::size_of::<Node<T>>()
    }

    /// Forces the generation of a node (to test retirement without 2^32 reuses).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn set_generation(&mut self, index: u32, generation: u32) {
        self.nodes[index as usize].generation = generation;
    }
}
