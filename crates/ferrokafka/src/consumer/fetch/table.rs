//! The assigned partitions, each in a numbered slot it keeps until it is
//! unassigned.
//!
//! Queued messages name their partition by slot and version, so taking
//! one (millions per second) is an index into a vector instead of
//! hashing the topic name and cloning it. Versions are unique across all
//! partitions (`FetchState::bump`), so a slot freed and given to another
//! partition can never match a chunk queued for its former holder.

use super::partition::Part;
use super::TpHasher;
use crate::TopicPartition;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

#[derive(Debug, Default)]
pub(super) struct PartTable {
    index: HashMap<TopicPartition, usize, BuildHasherDefault<TpHasher>>,
    slots: Vec<Option<Part>>,
    free: Vec<usize>,
}

impl PartTable {
    /// Adds `tp` (or replaces its state, in the same slot).
    pub(super) fn insert(&mut self, tp: TopicPartition, part: Part) {
        if let Some(&i) = self.index.get(&tp) {
            self.slots[i] = Some(part);
            return;
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(part);
                i
            }
            None => {
                self.slots.push(Some(part));
                self.slots.len() - 1
            }
        };
        self.index.insert(tp, i);
    }

    pub(super) fn remove(&mut self, tp: &TopicPartition) -> Option<Part> {
        let i = self.index.remove(tp)?;
        self.free.push(i);
        self.slots[i].take()
    }

    pub(super) fn contains_key(&self, tp: &TopicPartition) -> bool {
        self.index.contains_key(tp)
    }

    pub(super) fn get(&self, tp: &TopicPartition) -> Option<&Part> {
        self.slots[*self.index.get(tp)?].as_ref()
    }

    pub(super) fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut Part> {
        self.slots[*self.index.get(tp)?].as_mut()
    }

    /// The slot `tp` holds, for queued messages to name it by.
    pub(super) fn slot(&self, tp: &TopicPartition) -> Option<usize> {
        self.index.get(tp).copied()
    }

    /// The partition in `slot`, if any (check its version: the slot may
    /// have passed to another partition).
    pub(super) fn by_slot_mut(&mut self, slot: usize) -> Option<&mut Part> {
        self.slots.get_mut(slot)?.as_mut()
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &TopicPartition> {
        self.index.keys()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Part> {
        self.slots.iter().flatten()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &Part)> {
        let slots = &self.slots;
        self.index
            .iter()
            .filter_map(move |(tp, &i)| Some((tp, slots[i].as_ref()?)))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&TopicPartition, &mut Part)> {
        // Every slot is named by at most one key: pair them by slot.
        let mut by_slot: Vec<Option<&TopicPartition>> = vec![None; self.slots.len()];
        for (tp, &i) in &self.index {
            by_slot[i] = Some(tp);
        }
        by_slot
            .into_iter()
            .zip(self.slots.iter_mut())
            .filter_map(|(tp, p)| Some((tp?, p.as_mut()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::fetch::{FetchSettings, FetchState};
    use crate::consumer::message::Offset;

    #[test]
    fn a_freed_slot_is_reused_and_the_others_keep_theirs() {
        let mut st = FetchState::new(FetchSettings::default());
        let tp = |p| TopicPartition::new("t", p);
        for p in 0..3 {
            st.assign(tp(p), Offset::Offset(0));
        }
        let t = &st.parts;
        let (s0, s1, s2) = (t.slot(&tp(0)), t.slot(&tp(1)), t.slot(&tp(2)));
        assert_eq!((s0, s1, s2), (Some(0), Some(1), Some(2)));
        assert!(st.unassign(&tp(1)));
        assert_eq!(st.parts.slot(&tp(1)), None);
        st.assign(tp(7), Offset::Offset(0));
        let t = &st.parts;
        assert_eq!(
            (t.slot(&tp(0)), t.slot(&tp(7)), t.slot(&tp(2))),
            (s0, s1, s2)
        );
        let mut names: Vec<i32> = st.parts.iter_mut().map(|(tp, _)| tp.partition()).collect();
        names.sort();
        assert_eq!(names, vec![0, 2, 7]);
        assert_eq!(st.parts.values().count(), 3);
    }
}
