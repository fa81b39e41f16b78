//! Committed offsets: the commit checks on generation and member, plain
//! and transactional (staged until the transaction ends) commits, fetch
//! and delete.

use super::*;

impl Groups {
    /// Checks an OffsetCommit's group, generation and member; creates the
    /// group for a simple (generation -1) commit to an unknown group.
    pub(crate) fn check_commit(
        &mut self,
        now: u64,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), i16> {
        if group_id.is_empty() {
            return Err(E::InvalidGroupId.code());
        }
        let Some(g) = self.groups.get_mut(group_id) else {
            if generation_id < 0 {
                self.groups.insert(group_id.to_string(), Group::new());
                return Ok(());
            }
            return Err(E::IllegalGeneration.code());
        };
        if let Some(instance) = instance_id {
            if g.static_members
                .get(instance)
                .is_some_and(|m| m != member_id)
            {
                return Err(E::FencedInstanceId.code());
            }
        }
        if generation_id < 0 && g.state == GroupState::Empty {
            return Ok(());
        }
        if g.state == GroupState::CompletingRebalance {
            return Err(E::RebalanceInProgress.code());
        }
        let Some(m) = g.members.get_mut(member_id) else {
            return Err(E::UnknownMemberId.code());
        };
        if generation_id != g.generation {
            return Err(E::IllegalGeneration.code());
        }
        m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
        Ok(())
    }

    /// Validates one offset to commit (metadata size).
    pub(crate) fn check_offset(entry: &OffsetEntry) -> i16 {
        if entry
            .metadata
            .as_ref()
            .is_some_and(|m| m.len() > MAX_OFFSET_METADATA_BYTES)
        {
            E::OffsetMetadataTooLarge.code()
        } else {
            NONE
        }
    }

    /// Stores committed offsets (after [`Groups::check_commit`] passed).
    pub(crate) fn store_offsets(&mut self, group_id: &str, offsets: PartitionMap<OffsetEntry>) {
        let g = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
        g.offsets.extend(offsets);
    }

    /// Stages offsets of an open transaction of `producer_id`.
    pub(crate) fn stage_txn_offsets(
        &mut self,
        group_id: &str,
        producer_id: i64,
        offsets: PartitionMap<OffsetEntry>,
    ) {
        let g = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
        g.pending_txn_offsets
            .entry(producer_id)
            .or_default()
            .extend(offsets);
    }

    /// Makes the staged offsets of `producer_id` visible (`commit`) or drops them.
    pub(crate) fn complete_txn_offsets(&mut self, group_id: &str, producer_id: i64, commit: bool) {
        let Some(g) = self.groups.get_mut(group_id) else {
            return;
        };
        if let Some(staged) = g.pending_txn_offsets.remove(&producer_id) {
            if commit {
                g.offsets.extend(staged);
            }
        }
    }

    /// The committed offsets of a group: of the listed topics and partitions,
    /// or all of them. Each partition's value is `Err(code)` when it cannot be
    /// answered (`UNSTABLE_OFFSET_COMMIT` with `require_stable` while a
    /// transaction holds an offset for it) and `Ok(None)` when nothing is
    /// committed.
    pub(crate) fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
        require_stable: bool,
    ) -> FetchedOffsets {
        let g = self.groups.get(group_id);
        let lookup = |topic: &str, partition: i32| {
            let Some(g) = g else {
                return Ok(None);
            };
            let key = (topic.to_string(), partition);
            if require_stable && g.pending_txn_offsets.values().any(|p| p.contains_key(&key)) {
                return Err(E::UnstableOffsetCommit.code());
            }
            Ok(g.offsets.get(&key).cloned())
        };
        match topics {
            Some(topics) => topics
                .iter()
                .map(|(t, parts)| {
                    (
                        t.clone(),
                        parts.iter().map(|p| (*p, lookup(t, *p))).collect(),
                    )
                })
                .collect(),
            None => {
                let mut out: FetchedOffsets = Vec::new();
                for (topic, partition) in g.iter().flat_map(|g| g.offsets.keys()) {
                    let value = lookup(topic, *partition);
                    match out.last_mut() {
                        Some((t, parts)) if t == topic => parts.push((*partition, value)),
                        _ => out.push((topic.clone(), vec![(*partition, value)])),
                    }
                }
                out
            }
        }
    }

    /// Drops committed offsets of a group (OffsetDelete, after its checks).
    pub(crate) fn delete_offsets(&mut self, group_id: &str, partitions: &[(String, i32)]) {
        if let Some(g) = self.groups.get_mut(group_id) {
            for key in partitions {
                g.offsets.remove(key);
            }
        }
    }
}
