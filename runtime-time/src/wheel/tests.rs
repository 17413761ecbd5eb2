//! Unit tests of the timer wheel: keys, placement at every level, cascades, wrap-around,
//! clamping beyond the range, reset, pending entries and their order, monotonic time; and a
//! proptest that runs random operation sequences against a reference model, checking the
//! pending list's invariants after every operation.

use super::{tick_of, Key, Loc, Wheel, NANOS_PER_TICK, NIL, RANGE};
use proptest::prelude::*;
use std::collections::BTreeMap;

const MS: u64 = NANOS_PER_TICK;

/// `64^level` ticks: the slot width of `level`.
fn width(level: u32) -> u64 {
    1 << (6 * level)
}

/// Advances to `now` and returns the fired payloads, sorted.
fn advance(wheel: &mut Wheel<u32>, now: u64) -> Vec<u32> {
    let mut fired = Vec::new();
    wheel.advance(now, |v| fired.push(v));
    fired.sort_unstable();
    fired
}

/// Walks the list starting at `head`, asserting that it is well linked and that every node is
/// marked `loc` and has a tick `<= elapsed`; returns the deadlines in list order.
fn walk(wheel: &Wheel<u32>, head: u32, loc: Loc) -> Vec<u64> {
    let (mut prev, mut cursor, mut deadlines) = (NIL, head, Vec::new());
    while cursor != NIL {
        assert_eq!(wheel.arena.loc(cursor), loc);
        assert_eq!(wheel.arena.prev(cursor), prev, "broken back link");
        let deadline = wheel.arena.deadline(cursor);
        assert!(
            tick_of(deadline) <= wheel.elapsed,
            "{loc:?} entry {deadline} after elapsed tick {}",
            wheel.elapsed
        );
        deadlines.push(deadline);
        (prev, cursor) = (cursor, wheel.arena.next(cursor));
    }
    deadlines
}

/// Asserts the invariants of the pending lists: the sorted one is sorted, the unsorted one is
/// bounded by `unsorted_min`, both hold only ticks `<= elapsed`, `next_deadline_ns` is their
/// bound (exact when nothing is unsorted); and the scratch vector is empty.
fn check_pending(wheel: &Wheel<u32>) {
    assert!(wheel.batch.is_empty(), "scratch left non-empty");
    let sorted = walk(wheel, wheel.pending, Loc::PENDING);
    assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "pending not sorted: {sorted:?}"
    );
    let unsorted = walk(wheel, wheel.unsorted, Loc::UNSORTED);
    assert!(unsorted.iter().all(|&d| d >= wheel.unsorted_min));
    let bound = match (sorted.first(), unsorted.is_empty()) {
        (Some(&head), true) => Some(head),
        (Some(&head), false) => Some(head.min(wheel.unsorted_min)),
        (None, false) => Some(wheel.unsorted_min),
        (None, true) => return,
    };
    assert_eq!(wheel.next_deadline_ns(), bound);
}

/// The `(level, slot)` `key`'s node is linked in (`None`: pending).
fn location(wheel: &Wheel<u32>, key: Key) -> Option<(usize, usize)> {
    let index = wheel.arena.lookup(key).expect("live key");
    let loc = wheel.arena.loc(index);
    assert_ne!(loc, Loc::UNLINKED);
    loc.level_slot()
}

/// Walks time from the wheel's current time to `deadline + 1 ms` in varied steps (tiny, a
/// slot boundary, big jumps, exactly `deadline - 1` and `deadline`), asserting that the only
/// entry, `id`, fires exactly at the first `now >= deadline` and that `next_deadline_ns` never
/// passes the deadline while it is registered.
fn walk_until_fired(wheel: &mut Wheel<u32>, id: u32, deadline: u64) {
    let mut now = wheel.now_ns;
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut steps = 0;
    loop {
        let next = wheel.next_deadline_ns().expect("entry registered");
        assert!(next <= deadline, "next deadline {next} after {deadline}");
        assert!(next > now, "next deadline {next} not after now {now}");
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let remaining = deadline - now;
        let step = match (rng >> 60) % 6 {
            0 => 1,
            1 => MS - now % MS,
            2 => remaining / 2,
            3 => next - now,
            4 => ((rng >> 8) % remaining.max(1)).max(1),
            _ => remaining.saturating_sub(1).max(1),
        };
        now = (now + step).min(deadline);
        let fired = advance(wheel, now);
        steps += 1;
        if now < deadline {
            assert!(
                fired.is_empty(),
                "fired at {now}, {} ns early",
                deadline - now
            );
            assert_eq!(wheel.len(), 1);
        } else {
            assert_eq!(fired, vec![id], "not fired at its deadline {deadline}");
            assert!(wheel.is_empty());
            assert_eq!(wheel.next_deadline_ns(), None);
            assert!(steps > 3);
            return;
        }
    }
}

#[test]
fn nodes_are_small() {
    // deadline 8 + prev/next/generation 12 + location 2 + Option<Waker> 16 (niche), padded.
    assert!(super::arena::Arena::<std::task::Waker>::node_size() <= 40);
}

#[test]
fn insert_remove_and_stale_keys() {
    let mut wheel = Wheel::new();
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline_ns(), None);
    let a = wheel.insert(5 * MS, 1);
    let b = wheel.insert(7 * MS, 2);
    assert_eq!(wheel.len(), 2);
    assert_ne!(a, b);
    assert_eq!(wheel.deadline(a), Some(5 * MS));
    *wheel.get_mut(b).unwrap() = 20;
    assert_eq!(wheel.remove(b), Some(20));
    assert_eq!(wheel.len(), 1);

    // Stale key: every operation says so.
    assert_eq!(wheel.remove(b), None);
    assert_eq!(wheel.get_mut(b), None);
    assert_eq!(wheel.deadline(b), None);
    assert!(!wheel.reset(b, 1));

    // The freed node is reused with a new generation: the old key does not alias it.
    let c = wheel.insert(9 * MS, 3);
    assert_eq!(
        wheel.arena.lookup(c),
        Some(wheel.arena.lookup(a).unwrap() + 1),
        "node of b reused"
    );
    assert_ne!(b, c);
    assert_eq!(wheel.remove(b), None);
    assert_eq!(wheel.deadline(c), Some(9 * MS));
    assert_eq!(wheel.arena.capacity(), 2, "no new node allocated");

    // Fired entries' keys go stale too.
    assert_eq!(advance(&mut wheel, 5 * MS), vec![1]);
    assert_eq!(wheel.deadline(a), None);
    assert_eq!(wheel.remove(a), None);
    assert_eq!(wheel.remove(c), Some(3));
    assert!(wheel.is_empty());
}

#[test]
fn steady_state_churn_reuses_nodes() {
    let mut wheel = Wheel::new();
    let keys: Vec<Key> = (0..100u32)
        .map(|i| wheel.insert(u64::from(i) * MS, i))
        .collect();
    for round in 0..50u64 {
        for &key in &keys {
            if let Some(v) = wheel.remove(key) {
                wheel.insert(round * 1000 * MS + u64::from(v), v);
            }
        }
    }
    assert_eq!(wheel.arena.capacity(), 100);
    assert_eq!(wheel.len(), 100);
}

#[test]
fn retired_generation_is_not_reused() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(MS, 0u32);
    let index = wheel.arena.lookup(key).unwrap();
    wheel.arena.set_generation(index, u32::MAX - 1);
    let key = wheel.arena.key(index);
    wheel.remove(key).unwrap();
    let key = wheel.insert(MS, 1);
    assert_eq!(wheel.arena.lookup(key), Some(index));
    wheel.remove(key).unwrap();
    // Generation u32::MAX reached: the node is retired, a new one is allocated.
    let fresh = wheel.insert(MS, 2);
    assert_ne!(wheel.arena.lookup(fresh), Some(index));
    assert_eq!(wheel.remove(key), None);
    assert_eq!(wheel.len(), 1);
}

#[test]
fn placement_and_next_deadline_at_every_level() {
    for level in 0..6u32 {
        for tick in [width(level), width(level) * 5 + 3, width(level + 1) - 1] {
            let mut wheel = Wheel::new();
            let deadline = tick * MS + 123;
            let key = wheel.insert(deadline, 0);
            let slot = ((tick >> (6 * level)) % 64) as usize;
            assert_eq!(
                location(&wheel, key),
                Some((level as usize, slot)),
                "tick {tick}"
            );
            let start = (tick >> (6 * level)) << (6 * level);
            assert_eq!(wheel.next_deadline_ns(), Some(start * MS), "tick {tick}");
        }
    }
}

#[test]
fn next_deadline_is_the_earliest_slot_across_levels() {
    let mut wheel = Wheel::new();
    wheel.insert(width(3) * 7 * MS, 0);
    assert_eq!(wheel.next_deadline_ns(), Some(width(3) * 7 * MS));
    wheel.insert(width(1) * 2 * MS + 5, 1);
    assert_eq!(wheel.next_deadline_ns(), Some(width(1) * 2 * MS));
    wheel.insert(40 * MS + 5, 2);
    assert_eq!(wheel.next_deadline_ns(), Some(40 * MS));
    // A pending entry's exact deadline wins.
    wheel.insert(3, 3);
    assert_eq!(wheel.next_deadline_ns(), Some(3));
}

#[test]
fn cascades_through_every_level() {
    for level in 0..6u32 {
        for deadline in [
            width(level) * MS,
            width(level) * MS + 1,
            (width(level) + 1) * MS - 1,
            (width(level) * 3 + 17) * MS + 4_321,
        ] {
            let mut wheel = Wheel::new();
            wheel.insert(deadline, 7);
            walk_until_fired(&mut wheel, 7, deadline);
        }
    }
}

#[test]
fn cascades_from_a_non_zero_elapsed() {
    for level in 0..6u32 {
        let mut wheel = Wheel::new();
        let start = (width(level) * 5 / 2 + 11) * MS + 17;
        assert!(advance(&mut wheel, start).is_empty());
        let deadline = start + (width(level) * 2 + 9) * MS;
        wheel.insert(deadline, 1);
        walk_until_fired(&mut wheel, 1, deadline);
    }
}

#[test]
fn slot_index_wraps_within_a_level() {
    for level in 0..6u32 {
        // Elapsed in the last slot of a rotation of `level`; the deadline is past the wrap.
        let elapsed = width(level + 1) * 3 - width(level) / 2 - 1;
        let mut wheel = Wheel::new();
        advance(&mut wheel, elapsed * MS);
        assert_eq!(wheel.elapsed_tick(), elapsed);
        for (id, ahead) in [width(level) * 2 / 3 + 1, width(level) + 5]
            .into_iter()
            .enumerate()
        {
            let deadline = (elapsed + ahead) * MS + 99;
            wheel.insert(deadline, id as u32);
            walk_until_fired(&mut wheel, id as u32, deadline);
        }
    }
}

#[test]
fn top_level_wraps_to_the_next_range() {
    // Elapsed in level 5's slot 10: a tick in the next 64^6 block whose level-5 slot index is
    // below, or equal to, slot 10 must start in the next rotation, not in the past.
    let elapsed = width(5) * 10 + 12_345;
    for tick in [RANGE + width(5) * 3 + 7, RANGE + width(5) * 10 + 5] {
        let mut wheel = Wheel::new();
        advance(&mut wheel, elapsed * MS);
        let deadline = tick * MS;
        let key = wheel.insert(deadline, 4);
        assert_eq!(location(&wheel, key).unwrap().0, 5);
        let next = wheel.next_deadline_ns().unwrap();
        assert!(next > elapsed * MS && next <= deadline);
        walk_until_fired(&mut wheel, 4, deadline);
    }
}

#[test]
fn deadlines_beyond_the_range_are_clamped() {
    let three_years = 3 * 365 * 24 * 3600 * 1000 * MS;
    assert!(three_years / MS > RANGE);
    let mut wheel = Wheel::new();
    let key = wheel.insert(three_years, 1);
    assert_eq!(
        location(&wheel, key),
        Some((5, 63)),
        "clamped into the last slot"
    );
    walk_until_fired(&mut wheel, 1, three_years);

    // From a non-zero elapsed, the last reachable slot is the one before elapsed's own.
    let mut wheel = Wheel::new();
    advance(&mut wheel, (width(5) * 20 + 3) * MS);
    let deadline = wheel.now_ns + three_years;
    let key = wheel.insert(deadline, 2);
    assert_eq!(location(&wheel, key), Some((5, 20)));
    walk_until_fired(&mut wheel, 2, deadline);
}

#[test]
fn u64_max_deadline_never_fires_early() {
    let mut wheel = Wheel::new();
    wheel.insert(u64::MAX, 1);
    wheel.insert(u64::MAX - 1, 2);
    assert!(advance(&mut wheel, u64::MAX / 2).is_empty());
    assert!(wheel.next_deadline_ns().unwrap() < u64::MAX);
    assert!(advance(&mut wheel, u64::MAX - 2).is_empty());
    assert_eq!(wheel.next_deadline_ns(), Some(u64::MAX - 1));
    assert_eq!(advance(&mut wheel, u64::MAX - 1), vec![2]);
    assert_eq!(wheel.next_deadline_ns(), Some(u64::MAX));
    assert_eq!(advance(&mut wheel, u64::MAX), vec![1]);
    assert!(wheel.is_empty());
}

#[test]
fn reset_later_does_not_relink_and_fires_at_the_new_deadline() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(10 * MS, 1);
    let before = location(&wheel, key);
    let new_deadline = (width(2) * 3 + 2) * MS + 5;
    assert!(wheel.reset(key, new_deadline));
    assert_eq!(
        location(&wheel, key),
        before,
        "a later deadline must not relink"
    );
    assert_eq!(wheel.deadline(key), Some(new_deadline));
    walk_until_fired(&mut wheel, 1, new_deadline);

    // An entry in pending (due in the current millisecond) is re-placed at once, so that the
    // pending list stays sorted and holds only ticks <= elapsed.
    let mut wheel = Wheel::new();
    advance(&mut wheel, 50 * MS);
    let key = wheel.insert(50 * MS + 10, 2);
    assert_eq!(location(&wheel, key), None);
    assert!(wheel.reset(key, 80 * MS));
    assert_eq!(
        location(&wheel, key),
        Some((1, 1)),
        "re-placed into a level"
    );
    check_pending(&wheel);
    assert!(advance(&mut wheel, 50 * MS + 20).is_empty());
    walk_until_fired(&mut wheel, 2, 80 * MS);
}

#[test]
fn reset_within_pending_keeps_it_sorted() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 10 * MS);
    let keys: Vec<Key> = (0..5u32)
        .map(|i| wheel.insert(10 * MS + 100 * u64::from(i + 1), i))
        .collect();
    check_pending(&wheel);
    assert_eq!(
        wheel.arena.loc(wheel.arena.lookup(keys[0]).unwrap()),
        Loc::UNSORTED
    );
    // The next advance merges them into the sorted list.
    assert!(advance(&mut wheel, 10 * MS + 1).is_empty());
    check_pending(&wheel);
    let loc = |wheel: &Wheel<u32>, key| wheel.arena.loc(wheel.arena.lookup(key).unwrap());
    assert!(keys.iter().all(|&k| loc(&wheel, k) == Loc::PENDING));
    // In place (still between its neighbours), later past a neighbour, earlier to the head,
    // into the past, and later than every other pending entry.
    for (k, d) in [
        (2, 10 * MS + 310),
        (1, 10 * MS + 450),
        (4, 10 * MS + 50),
        (3, 3 * MS),
        (0, 10 * MS + 999_999),
    ] {
        assert!(wheel.reset(keys[k], d));
        assert_eq!(location(&wheel, keys[k]), None);
        check_pending(&wheel);
        // Only the first reset keeps the order; the others go to the unsorted list.
        let expected = if k == 2 { Loc::PENDING } else { Loc::UNSORTED };
        assert_eq!(loc(&wheel, keys[k]), expected);
    }
    assert_eq!(wheel.next_deadline_ns(), Some(3 * MS));
    let mut fired = Vec::new();
    wheel.advance(11 * MS, |v| fired.push(v));
    assert_eq!(fired, vec![3, 4, 2, 1, 0], "fired in deadline order");
}

#[test]
fn reset_earlier_relinks() {
    let mut wheel = Wheel::new();
    let key = wheel.insert((width(3) * 2) * MS, 1);
    assert_eq!(location(&wheel, key).unwrap().0, 3);
    assert!(wheel.reset(key, 30 * MS + 1));
    assert_eq!(location(&wheel, key), Some((0, 30)));
    assert_eq!(wheel.next_deadline_ns(), Some(30 * MS));
    walk_until_fired(&mut wheel, 1, 30 * MS + 1);

    // Earlier into the past: pending, fires on the next advance.
    let mut wheel = Wheel::new();
    advance(&mut wheel, 100 * MS);
    let key = wheel.insert(200 * MS, 2);
    assert!(wheel.reset(key, 5 * MS));
    assert_eq!(location(&wheel, key), None);
    assert_eq!(wheel.next_deadline_ns(), Some(5 * MS));
    assert_eq!(advance(&mut wheel, 100 * MS), vec![2]);
}

#[test]
fn past_and_current_millisecond_deadlines_are_pending() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 7 * MS + 500);
    let past = wheel.insert(3 * MS, 1);
    let now = wheel.insert(7 * MS + 500, 2);
    let later_this_ms = wheel.insert(7 * MS + 900, 3);
    for key in [past, now, later_this_ms] {
        assert_eq!(location(&wheel, key), None);
    }
    assert_eq!(wheel.next_deadline_ns(), Some(3 * MS));
    assert_eq!(advance(&mut wheel, 7 * MS + 500), vec![1, 2]);
    assert_eq!(wheel.next_deadline_ns(), Some(7 * MS + 900));
    assert_eq!(advance(&mut wheel, 7 * MS + 899), Vec::<u32>::new());
    assert_eq!(advance(&mut wheel, 7 * MS + 900), vec![3]);
}

#[test]
fn time_never_goes_back() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 100 * MS);
    let key = wheel.insert(100 * MS + 50, 1);
    assert!(advance(&mut wheel, 10 * MS).is_empty());
    assert_eq!(wheel.elapsed_tick(), 100);
    wheel.insert(101 * MS, 2);
    assert!(advance(&mut wheel, 0).is_empty());
    assert_eq!(wheel.deadline(key), Some(100 * MS + 50));
    assert_eq!(advance(&mut wheel, 100 * MS + 50), vec![1]);
    assert_eq!(advance(&mut wheel, 101 * MS), vec![2]);
}

#[test]
fn a_panicking_fire_leaves_the_wheel_consistent() {
    for first_advance in [5 * MS, 5 * MS + 10] {
        let mut wheel = Wheel::new();
        // Two in a level-0 slot (fired while the slot is emptied), two due later in that ms
        // (fired from pending by the second advance).
        let keys: Vec<Key> = [5 * MS, 5 * MS + 1, 5 * MS + 7, 5 * MS + 9]
            .iter()
            .enumerate()
            .map(|(i, &d)| wheel.insert(d, i as u32))
            .collect();
        if first_advance > 5 * MS {
            advance(&mut wheel, 5 * MS);
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wheel.advance(first_advance, |_| panic!("fire panicked"));
        }));
        assert!(result.is_err());
        check_pending(&wheel);
        let live: Vec<Key> = keys
            .iter()
            .copied()
            .filter(|&k| wheel.deadline(k).is_some())
            .collect();
        assert_eq!(live.len(), wheel.len());
        assert!(wheel.next_deadline_ns().unwrap() <= 5 * MS + 9);
        let removed = wheel.remove(live[0]).unwrap();
        let mut rest = advance(&mut wheel, 6 * MS);
        rest.push(removed);
        rest.sort_unstable();
        assert_eq!(rest.len(), live.len());
        assert!(wheel.is_empty());
    }
}

#[test]
fn sub_millisecond_steps_fire_in_deadline_order() {
    let mut wheel = Wheel::new();
    let start = 10 * MS + 123;
    advance(&mut wheel, start);
    let mut deadlines = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..3000u32 {
        // Over three milliseconds, with duplicates.
        let d = start + rand() % (3 * MS) / 4 * 4;
        deadlines.push(d);
        wheel.insert(d, i);
    }
    check_pending(&wheel);
    let mut now = start;
    let mut last_fired = 0;
    let mut advances = 0;
    while !wheel.is_empty() {
        now += 1 + rand() % 20_000;
        // Now and then a sub-millisecond timer, or one already past, joins pending.
        if advances % 7 == 0 {
            let id = deadlines.len() as u32;
            let d = if advances % 2 == 0 {
                now + rand() % 300_000
            } else {
                now - rand() % 2_000
            };
            deadlines.push(d);
            wheel.insert(d, id);
            check_pending(&wheel);
        }
        let before = now - 1;
        let mut fired = Vec::new();
        wheel.advance(now, |v| fired.push(v));
        advances += 1;
        check_pending(&wheel);
        for &id in &fired {
            let d = deadlines[id as usize];
            assert!(d <= now, "fired {d} early at {now}");
            assert!(d >= last_fired, "fired {d} after {last_fired}");
            last_fired = d;
        }
        // Exactly what was due fired: the next deadline is the exact earliest remaining one
        // once it is within the current millisecond.
        if let Some(next) = wheel.next_deadline_ns() {
            assert!(next > now && next > before);
            if tick_of(next) == tick_of(now) {
                let min = deadlines.iter().filter(|&&d| d > now).min().copied();
                assert_eq!(Some(next), min);
            }
        }
    }
    assert!(advances > 100, "{advances} advances");
}

#[test]
fn drain_removes_everything() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 10 * MS);
    let mut keys = Vec::new();
    for (i, d) in [0, 10 * MS + 1, 11 * MS, 5000 * MS, RANGE * 3 * MS, u64::MAX]
        .into_iter()
        .enumerate()
    {
        keys.push(wheel.insert(d, i as u32));
    }
    let mut drained = Vec::new();
    wheel.drain(|v| drained.push(v));
    drained.sort_unstable();
    assert_eq!(drained, vec![0, 1, 2, 3, 4, 5]);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline_ns(), None);
    assert!(keys.iter().all(|&k| wheel.deadline(k).is_none()));
    assert!(advance(&mut wheel, u64::MAX).is_empty());
}

#[test]
fn many_entries_fire_in_their_millisecond() {
    let mut wheel = Wheel::new();
    for i in 0..10_000u32 {
        wheel.insert(u64::from(i % 20 + 1) * MS + u64::from(i % 7), i);
    }
    let mut total = 0;
    for ms in 1..=21u64 {
        let now = ms * MS + 3;
        let fired = advance(&mut wheel, now);
        for &i in &fired {
            let d = u64::from(i % 20 + 1) * MS + u64::from(i % 7);
            assert!(d <= now && d > (ms - 1) * MS + 3);
        }
        total += fired.len();
        let rest = advance(&mut wheel, (ms + 1) * MS - 1);
        total += rest.len();
    }
    assert_eq!(total, 10_000);
}

// ---------------------------------------------------------------------------------------------
// Model-based property test.

#[derive(Clone, Debug)]
enum Op {
    /// Insert a deadline `offset` relative to the current time.
    Insert(Offset),
    /// Remove the key chosen by the index (modulo every key ever issued, stale ones included).
    Remove(usize),
    /// Reset the chosen key to a deadline `offset` relative to now.
    Reset(usize, Offset),
    /// Advance by this many nanoseconds.
    Advance(u64),
}

#[derive(Clone, Debug)]
enum Offset {
    Ahead(u64),
    Behind(u64),
    Max,
}

/// A few whole milliseconds plus a sub-millisecond part that is often at an edge, so that
/// deadlines share ticks with each other and with `now`.
fn near_ms() -> impl Strategy<Value = u64> {
    (
        0..4u64,
        prop_oneof![Just(0), Just(1), Just(MS / 2), Just(MS - 1), 0..MS],
    )
        .prop_map(|(ms, ns)| ms * MS + ns)
}

fn offset() -> impl Strategy<Value = Offset> {
    prop_oneof![
        4 => near_ms().prop_map(Offset::Ahead),
        4 => (0..3 * MS).prop_map(Offset::Ahead),
        4 => (0..100 * MS).prop_map(Offset::Ahead),
        3 => (0..width(3) * MS).prop_map(Offset::Ahead),
        2 => (0..RANGE * MS).prop_map(Offset::Ahead),
        1 => (RANGE * MS..4 * RANGE * MS).prop_map(Offset::Ahead),
        1 => near_ms().prop_map(Offset::Behind),
        1 => (0..50 * MS).prop_map(Offset::Behind),
        1 => Just(Offset::Max),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => offset().prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Remove),
        2 => (any::<usize>(), offset()).prop_map(|(k, o)| Op::Reset(k, o)),
        3 => near_ms().prop_map(Op::Advance),
        2 => (0..200 * MS).prop_map(Op::Advance),
        1 => (0..width(4) * MS).prop_map(Op::Advance),
        1 => (0..2 * RANGE * MS).prop_map(Op::Advance),
    ]
}

/// Runs `ops` on a wheel and a model (`id -> deadline`), checking after every step.
fn check_against_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut wheel = Wheel::new();
    let mut model: BTreeMap<u32, u64> = BTreeMap::new();
    let mut keys: Vec<(Key, u32)> = Vec::new();
    let mut now = 0u64;
    let at = |now: u64, o: &Offset| match *o {
        Offset::Ahead(d) => now.saturating_add(d),
        Offset::Behind(d) => now.saturating_sub(d),
        Offset::Max => u64::MAX,
    };
    for op in ops {
        match op {
            Op::Insert(o) => {
                let id = keys.len() as u32;
                let deadline = at(now, &o);
                keys.push((wheel.insert(deadline, id), id));
                model.insert(id, deadline);
            }
            Op::Remove(k) if !keys.is_empty() => {
                let (key, id) = keys[k % keys.len()];
                prop_assert_eq!(wheel.remove(key), model.remove(&id).map(|_| id));
            }
            Op::Reset(k, o) if !keys.is_empty() => {
                let (key, id) = keys[k % keys.len()];
                let deadline = at(now, &o);
                let live = model.get_mut(&id).map(|d| *d = deadline).is_some();
                prop_assert_eq!(wheel.reset(key, deadline), live);
            }
            Op::Remove(_) | Op::Reset(..) => {}
            Op::Advance(step) => {
                now = now.saturating_add(step);
                let mut fired = Vec::new();
                wheel.advance(now, |v| fired.push(v));
                let in_order = fired.windows(2).all(|w| model[&w[0]] <= model[&w[1]]);
                prop_assert!(in_order, "not fired in deadline order");
                fired.sort_unstable();
                let due: Vec<u32> = model
                    .iter()
                    .filter(|&(_, &d)| d <= now)
                    .map(|(&id, _)| id)
                    .collect();
                prop_assert_eq!(&fired, &due, "fired at {}", now);
                prop_assert_eq!(wheel.elapsed_tick(), now / MS);
                model.retain(|_, &mut d| d > now);
                if !model.is_empty() {
                    let next = wheel.next_deadline_ns().unwrap();
                    prop_assert!(next > now, "next deadline {} not after now {}", next, now);
                }
            }
        }
        check_pending(&wheel);
        prop_assert_eq!(wheel.len(), model.len());
        let min = model.values().min().copied();
        match (wheel.next_deadline_ns(), min) {
            (None, None) => {}
            (Some(next), Some(min)) => {
                prop_assert!(
                    next <= min,
                    "next deadline {} after the earliest {}",
                    next,
                    min
                )
            }
            (next, min) => prop_assert!(false, "next {:?} but model min {:?}", next, min),
        }
        for &(key, id) in &keys {
            prop_assert_eq!(wheel.deadline(key), model.get(&id).copied());
        }
    }
    // Everything left fires by the end of time, nothing is lost.
    let fired = advance(&mut wheel, u64::MAX);
    prop_assert_eq!(fired, model.keys().copied().collect::<Vec<_>>());
    prop_assert!(wheel.is_empty());
    Ok(())
}

proptest! {
    // XorShift: the default ChaCha generator dominates the run time in debug builds.
    #![proptest_config(ProptestConfig {
        cases: 3000,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    fn matches_the_reference_model(ops in prop::collection::vec(op(), 1..80)) {
        check_against_model(ops)?;
    }
}
