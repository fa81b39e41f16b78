//! Group membership: JoinGroup (with KIP-394 member ids and KIP-345
//! static members), SyncGroup, Heartbeat, LeaveGroup, and the rebalance
//! timeouts that complete or expire a join.

use super::*;

impl Groups {
    /// Handles a JoinGroup request; the answer comes as a [`Completion`] for
    /// `ticket`, at once or when the rebalance completes.
    pub fn join(&mut self, now: u64, ticket: Ticket, p: JoinParams) {
        let error = if p.group_id.is_empty() {
            Some(E::InvalidGroupId.code())
        } else if p.session_timeout_ms < self.config.min_session_timeout_ms
            || p.session_timeout_ms > self.config.max_session_timeout_ms
        {
            Some(E::InvalidSessionTimeout.code())
        } else if p.protocol_type.is_empty() || p.protocols.is_empty() {
            Some(E::InconsistentGroupProtocol.code())
        } else if p.protocols.len() > MAX_PROTOCOLS {
            Some(E::InvalidRequest.code())
        } else {
            None
        };
        if let Some(error) = error {
            let r = JoinResult::error(error, &p.member_id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        let mut group = self.groups.remove(&p.group_id).unwrap_or_else(Group::new);
        self.join_group(&mut group, now, ticket, p.clone());
        self.groups.insert(p.group_id, group);
    }

    fn join_group(&mut self, g: &mut Group, now: u64, ticket: Ticket, p: JoinParams) {
        if !g.supports(&p.protocol_type, &p.protocols, &p.member_id) {
            let r = JoinResult::error(E::InconsistentGroupProtocol.code(), &p.member_id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        if p.member_id.is_empty() {
            let new_id = self.new_member_id(&p.client_id);
            if let Some(instance) = &p.group_instance_id {
                if let Some(old_id) = g.static_members.get(instance).cloned() {
                    if g.members.contains_key(&old_id) {
                        self.replace_static_member(g, now, ticket, &old_id, new_id, p);
                        return;
                    }
                }
            } else if p.require_known_member_id {
                let deadline = now.saturating_add(p.session_timeout_ms as u64);
                g.pending_members.insert(new_id.clone(), deadline);
                let r = JoinResult::error(E::MemberIdRequired.code(), &new_id);
                self.complete(ticket, Reply::Join(r));
                return;
            }
            self.add_member_and_rebalance(g, now, ticket, new_id, p);
            return;
        }
        if g.pending_members.remove(&p.member_id).is_some() {
            let id = p.member_id.clone();
            self.add_member_and_rebalance(g, now, ticket, id, p);
            return;
        }
        if let Err(error) = g.check_member(&p.member_id, p.group_instance_id.as_deref()) {
            let r = JoinResult::error(error, &p.member_id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        let id = p.member_id.clone();
        let Some(member) = g.members.get_mut(&id) else {
            return;
        };
        let unchanged = member.protocols == p.protocols;
        member.session_deadline = now.saturating_add(p.session_timeout_ms as u64);
        match g.state {
            GroupState::CompletingRebalance if unchanged => {
                let is_leader = g.leader.as_deref() == Some(id.as_str());
                let r = g.join_result_for(&id, is_leader);
                self.complete(ticket, Reply::Join(r));
            }
            GroupState::Stable if unchanged && g.leader.as_deref() != Some(id.as_str()) => {
                let r = g.join_result_for(&id, false);
                self.complete(ticket, Reply::Join(r));
            }
            _ => {
                let old = member.join_ticket.replace(ticket);
                member.protocols = p.protocols;
                member.session_timeout_ms = p.session_timeout_ms;
                member.rebalance_timeout_ms = p.rebalance_timeout_ms;
                if let Some(old) = old {
                    let r = JoinResult::error(E::RebalanceInProgress.code(), &id);
                    self.complete(old, Reply::Join(r));
                }
                if g.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(g, now);
                }
                self.try_complete_join(g, now);
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        g: &mut Group,
        now: u64,
        ticket: Ticket,
        id: String,
        p: JoinParams,
    ) {
        if g.members.len() >= MAX_GROUP_SIZE {
            let r = JoinResult::error(E::GroupMaxSizeReached.code(), &id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        if g.members.is_empty() {
            g.protocol_type = Some(p.protocol_type.clone());
        }
        if let Some(instance) = &p.group_instance_id {
            g.static_members.insert(instance.clone(), id.clone());
        }
        g.members.insert(
            id.clone(),
            Member {
                instance_id: p.group_instance_id,
                client_id: p.client_id,
                client_host: p.client_host,
                session_timeout_ms: p.session_timeout_ms,
                rebalance_timeout_ms: p.rebalance_timeout_ms,
                protocols: p.protocols,
                assignment: Bytes::new(),
                join_ticket: Some(ticket),
                sync_ticket: None,
                session_deadline: now.saturating_add(p.session_timeout_ms as u64),
            },
        );
        if g.leader.is_none() {
            g.leader = Some(id);
        }
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.try_complete_join(g, now);
    }

    /// KIP-345: a static member rejoined with an empty member id; it takes a
    /// new id and the old one is fenced.
    fn replace_static_member(
        &mut self,
        g: &mut Group,
        now: u64,
        ticket: Ticket,
        old_id: &str,
        new_id: String,
        p: JoinParams,
    ) {
        let Some(mut member) = g.members.shift_remove(old_id) else {
            return;
        };
        let fenced = E::FencedInstanceId.code();
        if let Some(t) = member.join_ticket.take() {
            self.complete(t, Reply::Join(JoinResult::error(fenced, old_id)));
        }
        if let Some(t) = member.sync_ticket.take() {
            self.complete(t, Reply::Sync(SyncResult::error(fenced)));
        }
        let unchanged = member.protocols == p.protocols;
        member.client_id = p.client_id;
        member.client_host = p.client_host;
        member.session_timeout_ms = p.session_timeout_ms;
        member.rebalance_timeout_ms = p.rebalance_timeout_ms;
        member.session_deadline = now.saturating_add(p.session_timeout_ms as u64);
        member.protocols = p.protocols;
        if g.leader.as_deref() == Some(old_id) {
            g.leader = Some(new_id.clone());
        }
        if let Some(instance) = &p.group_instance_id {
            g.static_members.insert(instance.clone(), new_id.clone());
        }
        if g.state == GroupState::Stable && unchanged {
            g.members.insert(new_id.clone(), member);
            let is_leader = g.leader.as_deref() == Some(new_id.as_str());
            let mut r = g.join_result_for(&new_id, is_leader);
            r.skip_assignment = is_leader;
            self.complete(ticket, Reply::Join(r));
            return;
        }
        member.join_ticket = Some(ticket);
        g.members.insert(new_id, member);
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.try_complete_join(g, now);
    }

    fn prepare_rebalance(&mut self, g: &mut Group, now: u64) {
        let rebalance = E::RebalanceInProgress.code();
        let mut syncs = Vec::new();
        for m in g.members.values_mut() {
            if let Some(t) = m.sync_ticket.take() {
                syncs.push(t);
            }
            m.assignment = Bytes::new();
        }
        for t in syncs {
            self.complete(t, Reply::Sync(SyncResult::error(rebalance)));
        }
        let timeout = g
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms.max(0) as u64)
            .max()
            .unwrap_or(0);
        if g.state == GroupState::Empty {
            let delay = self.config.initial_rebalance_delay_ms.min(timeout);
            g.initial_delay_until = now.saturating_add(delay);
        }
        g.rebalance_deadline = now.saturating_add(timeout);
        g.state = GroupState::PreparingRebalance;
    }

    fn try_complete_join(&mut self, g: &mut Group, now: u64) {
        if g.state == GroupState::PreparingRebalance
            && g.all_joined()
            && now >= g.initial_delay_until
        {
            self.complete_join(g, now);
        }
    }

    /// Ends the join phase: members that did not rejoin are dropped, a new
    /// generation starts and every waiting JoinGroup is answered.
    fn complete_join(&mut self, g: &mut Group, now: u64) {
        let gone: Vec<String> = g
            .members
            .iter()
            .filter(|(_, m)| m.join_ticket.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            remove_member(g, &id);
        }
        g.pending_members.clear();
        g.generation = g.generation.saturating_add(1);
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.protocol_name = None;
            g.protocol_type = None;
            g.leader = None;
            return;
        }
        g.protocol_name = g.select_protocol();
        if g.leader.as_ref().is_none_or(|l| !g.members.contains_key(l)) {
            g.leader = g.members.keys().next().cloned();
        }
        g.state = GroupState::CompletingRebalance;
        let leader = g.leader.clone().unwrap_or_default();
        let mut answers = Vec::new();
        for (id, m) in g.members.iter_mut() {
            m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
            if let Some(t) = m.join_ticket.take() {
                answers.push((t, id.clone()));
            }
        }
        for (t, id) in answers {
            let r = g.join_result_for(&id, id == leader);
            self.complete(t, Reply::Join(r));
        }
    }

    /// Handles a SyncGroup request; the answer comes as a [`Completion`] for
    /// `ticket`, at once or when the leader's SyncGroup arrives.
    pub fn sync(&mut self, now: u64, ticket: Ticket, p: SyncParams) {
        let Some(mut g) = self.groups.remove(&p.group_id) else {
            self.complete(
                ticket,
                Reply::Sync(SyncResult::error(E::UnknownMemberId.code())),
            );
            return;
        };
        self.sync_group(&mut g, now, ticket, p.clone());
        self.groups.insert(p.group_id, g);
    }

    fn sync_group(&mut self, g: &mut Group, now: u64, ticket: Ticket, p: SyncParams) {
        let checked = g
            .check_member(&p.member_id, p.group_instance_id.as_deref())
            .and_then(|()| {
                if p.generation_id != g.generation {
                    Err(E::IllegalGeneration.code())
                } else if p
                    .protocol_type
                    .as_ref()
                    .is_some_and(|t| Some(t) != g.protocol_type.as_ref())
                    || p.protocol_name
                        .as_ref()
                        .is_some_and(|n| Some(n) != g.protocol_name.as_ref())
                {
                    Err(E::InconsistentGroupProtocol.code())
                } else {
                    Ok(())
                }
            });
        if let Err(error) = checked {
            self.complete(ticket, Reply::Sync(SyncResult::error(error)));
            return;
        }
        let ok = |g: &Group, assignment: Bytes| SyncResult {
            error: NONE,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol_name.clone(),
            assignment,
        };
        match g.state {
            GroupState::Empty => {
                self.complete(
                    ticket,
                    Reply::Sync(SyncResult::error(E::UnknownMemberId.code())),
                );
            }
            GroupState::PreparingRebalance => {
                let error = E::RebalanceInProgress.code();
                self.complete(ticket, Reply::Sync(SyncResult::error(error)));
            }
            GroupState::Stable => {
                let Some(m) = g.members.get_mut(&p.member_id) else {
                    return;
                };
                m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
                let assignment = m.assignment.clone();
                let r = ok(g, assignment);
                self.complete(ticket, Reply::Sync(r));
            }
            GroupState::CompletingRebalance => {
                let Some(m) = g.members.get_mut(&p.member_id) else {
                    return;
                };
                m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
                if let Some(old) = m.sync_ticket.replace(ticket) {
                    let error = E::RebalanceInProgress.code();
                    self.complete(old, Reply::Sync(SyncResult::error(error)));
                }
                if g.leader.as_deref() != Some(p.member_id.as_str()) {
                    return;
                }
                let mut given: HashMap<String, Bytes> = p.assignments.into_iter().collect();
                let mut answers = Vec::new();
                for (id, m) in g.members.iter_mut() {
                    m.assignment = given.remove(id).unwrap_or_default();
                    if let Some(t) = m.sync_ticket.take() {
                        answers.push((t, m.assignment.clone()));
                    }
                }
                g.state = GroupState::Stable;
                for (t, assignment) in answers {
                    let r = ok(g, assignment);
                    self.complete(t, Reply::Sync(r));
                }
            }
        }
    }

    /// Handles a Heartbeat request and returns its error code.
    pub fn heartbeat(
        &mut self,
        now: u64,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> i16 {
        let Some(g) = self.groups.get_mut(group_id) else {
            return E::UnknownMemberId.code();
        };
        if let Err(error) = g.check_member(member_id, instance_id) {
            return error;
        }
        if g.state == GroupState::Empty {
            return E::UnknownMemberId.code();
        }
        if let Some(m) = g.members.get_mut(member_id) {
            m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
        }
        if generation_id != g.generation {
            return E::IllegalGeneration.code();
        }
        if g.state == GroupState::PreparingRebalance {
            return E::RebalanceInProgress.code();
        }
        NONE
    }

    /// Handles a LeaveGroup request for `members` (member id, instance id);
    /// an empty member id with an instance id names the static member.
    /// Returns one error code per member, in order.
    pub(crate) fn leave(
        &mut self,
        now: u64,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<i16> {
        let Some(mut g) = self.groups.remove(group_id) else {
            return vec![E::UnknownMemberId.code(); members.len()];
        };
        let mut results = Vec::with_capacity(members.len());
        let mut removed_any = false;
        for (member_id, instance_id) in members {
            let id = match (member_id.is_empty(), instance_id) {
                (true, Some(instance)) => match g.static_members.get(instance) {
                    Some(id) => id.clone(),
                    None => {
                        results.push(E::UnknownMemberId.code());
                        continue;
                    }
                },
                _ => member_id.clone(),
            };
            if g.pending_members.remove(&id).is_some() {
                results.push(NONE);
                continue;
            }
            if let Err(error) = g.check_member(&id, instance_id.as_deref()) {
                results.push(error);
                continue;
            }
            if let Some(m) = remove_member(&mut g, &id) {
                if let Some(t) = m.join_ticket {
                    let r = JoinResult::error(E::UnknownMemberId.code(), &id);
                    self.complete(t, Reply::Join(r));
                }
                if let Some(t) = m.sync_ticket {
                    let r = SyncResult::error(E::UnknownMemberId.code());
                    self.complete(t, Reply::Sync(r));
                }
            }
            removed_any = true;
            results.push(NONE);
        }
        if removed_any {
            self.member_left(&mut g, now);
        }
        self.groups.insert(group_id.to_string(), g);
        results
    }

    fn member_left(&mut self, g: &mut Group, now: u64) {
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(g, now);
                self.try_complete_join(g, now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(g, now),
            GroupState::Empty => {}
        }
    }

    /// Expires members whose session ran out and completes rebalances whose
    /// timeout passed. Call it periodically.
    pub fn handle_timeout(&mut self, now: u64) {
        let ids: Vec<String> = self.groups.keys().cloned().collect();
        for id in ids {
            let Some(mut g) = self.groups.remove(&id) else {
                continue;
            };
            g.pending_members.retain(|_, deadline| *deadline > now);
            let expired: Vec<String> = g
                .members
                .iter()
                .filter(|(_, m)| m.join_ticket.is_none() && m.session_deadline <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for member in &expired {
                if let Some(m) = remove_member(&mut g, member) {
                    if let Some(t) = m.sync_ticket {
                        let r = SyncResult::error(E::UnknownMemberId.code());
                        self.complete(t, Reply::Sync(r));
                    }
                }
            }
            if !expired.is_empty() {
                self.member_left(&mut g, now);
            }
            if g.state == GroupState::PreparingRebalance {
                if now >= g.rebalance_deadline {
                    self.complete_join(&mut g, now);
                } else {
                    self.try_complete_join(&mut g, now);
                }
            }
            self.groups.insert(id, g);
        }
    }
}
