//! The in-memory, versioned view of the directory: every lookup a decision
//! needs (by UPN, by number, by domain) without touching the store. Writers
//! update it only after the store has committed, so it never shows what is
//! not durable.

use crate::model::{Peer, PeerKind, Tenant, TenantToken, User};
use crate::ports::Snapshot;
use coexist_policy::legacy::built_in_interop_policy;
use coexist_policy::{InteropPolicy, LegacyCalling};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The directory in memory.
#[derive(Debug, Default)]
pub struct State {
    /// Bumped by every change: a decision can say which version it saw.
    pub version: u64,
    pub(crate) tenants: BTreeMap<String, Tenant>,
    pub(crate) users: HashMap<String, User>,
    pub(crate) tenant_users: HashMap<String, BTreeSet<String>>,
    pub(crate) by_number: HashMap<String, String>,
    pub(crate) by_domain: HashMap<String, String>,
    pub(crate) interop_policies: BTreeMap<String, InteropPolicy>,
    pub(crate) tokens: HashMap<String, TenantToken>,
    pub(crate) peers: BTreeMap<(String, PeerKind, String), Peer>,
}

impl State {
    /// Builds the view from what the store holds.
    pub fn from_snapshot(snapshot: Snapshot) -> State {
        let mut state = State::default();
        for tenant in snapshot.tenants {
            state.put_tenant(tenant);
        }
        for user in snapshot.users {
            state.put_user(user);
        }
        for (name, policy) in snapshot.interop_policies {
            state.interop_policies.insert(name, policy);
        }
        for token in snapshot.tokens {
            state.tokens.insert(token.digest.clone(), token);
        }
        for peer in snapshot.peers {
            state.put_peer(peer);
        }
        state.version = 1;
        state
    }

    /// A tenant by name.
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.get(name)
    }

    /// All tenants, by name.
    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    /// A user by UPN (any case).
    pub fn user(&self, upn: &str) -> Option<&User> {
        self.users
            .get(upn)
            .or_else(|| self.users.get(&upn.to_ascii_lowercase()))
    }

    /// The user a phone number belongs to.
    pub fn user_by_number(&self, number: &str) -> Option<&User> {
        self.by_number
            .get(number)
            .and_then(|upn| self.users.get(upn))
    }

    /// The tenant owning a SIP domain.
    pub fn tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        // Domains are kept lower-cased: a lower-case one (what clients
        // send) is found without a lower-cased copy (the SIP edge asks on
        // every authenticated request).
        self.by_domain
            .get(domain)
            .or_else(|| self.by_domain.get(&domain.to_ascii_lowercase()))
            .and_then(|name| self.tenants.get(name))
    }

    /// A tenant's users, by UPN.
    pub fn users_of<'a>(&'a self, tenant: &str) -> impl Iterator<Item = &'a User> + 'a {
        self.tenant_users
            .get(tenant)
            .into_iter()
            .flatten()
            .filter_map(|upn| self.users.get(upn))
    }

    /// How many users a tenant has.
    pub fn user_count(&self, tenant: &str) -> usize {
        self.tenant_users.get(tenant).map_or(0, BTreeSet::len)
    }

    /// How many users there are.
    pub fn total_users(&self) -> usize {
        self.users.len()
    }

    /// A legacy interop policy by name: built-in or admin-made.
    pub fn interop_policy(&self, name: &str) -> Option<InteropPolicy> {
        built_in_interop_policy(name).or_else(|| self.interop_policies.get(name).copied())
    }

    /// `user`'s legacy calling setup (R9): their TeamsInteropPolicy with
    /// their own calling client choice (R9.2 decides whether it counts).
    /// `None` without a policy, or when its name is unknown.
    pub fn legacy_calling(&self, user: &User) -> Option<LegacyCalling> {
        let policy = self.interop_policy(user.interop_policy.as_deref()?)?;
        Some(LegacyCalling {
            policy,
            user_choice: user.preferred_calling_client,
        })
    }

    /// Admin-made interop policies.
    pub fn custom_interop_policies(&self) -> impl Iterator<Item = (&String, &InteropPolicy)> {
        self.interop_policies.iter()
    }

    /// A token by digest.
    pub fn token(&self, digest: &str) -> Option<&TenantToken> {
        self.tokens.get(digest)
    }

    /// A tenant's peers, by kind and name.
    pub fn peers_of<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a Peer> + 'a {
        self.peers
            .range((tenant.to_owned(), PeerKind::Hybrid, String::new())..)
            .take_while(move |((t, _, _), _)| t == tenant)
            .map(|(_, peer)| peer)
    }

    /// One peer.
    pub fn peer(&self, tenant: &str, kind: PeerKind, name: &str) -> Option<&Peer> {
        self.peers.get(&(tenant.to_owned(), kind, name.to_owned()))
    }

    /// The federation peer that reaches `domain`, in any tenant.
    pub fn federation_peer_for(&self, domain: &str) -> Option<&Peer> {
        self.peers.values().find(|p| {
            p.kind == PeerKind::Federation
                && p.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
        })
    }

    pub(crate) fn put_peer(&mut self, peer: Peer) {
        self.peers
            .insert((peer.tenant.clone(), peer.kind, peer.name.clone()), peer);
        self.version += 1;
    }

    pub(crate) fn remove_peer(&mut self, tenant: &str, kind: PeerKind, name: &str) {
        self.peers
            .remove(&(tenant.to_owned(), kind, name.to_owned()));
        self.version += 1;
    }

    pub(crate) fn put_tenant(&mut self, tenant: Tenant) {
        if let Some(old) = self.tenants.get(&tenant.name) {
            for domain in &old.domains {
                self.by_domain.remove(domain);
            }
        }
        for domain in &tenant.domains {
            self.by_domain.insert(domain.clone(), tenant.name.clone());
        }
        self.tenants.insert(tenant.name.clone(), tenant);
        self.version += 1;
    }

    pub(crate) fn remove_tenant(&mut self, name: &str) {
        if let Some(old) = self.tenants.remove(name) {
            for domain in &old.domains {
                self.by_domain.remove(domain);
            }
        }
        for upn in self.tenant_users.remove(name).unwrap_or_default() {
            if let Some(user) = self.users.remove(&upn) {
                if let Some(number) = &user.phone_number {
                    self.by_number.remove(number);
                }
            }
        }
        self.tokens.retain(|_, token| token.tenant != name);
        self.peers.retain(|(tenant, _, _), _| tenant != name);
        self.version += 1;
    }

    pub(crate) fn put_user(&mut self, user: User) {
        self.unindex_user(&user.upn);
        if let Some(number) = &user.phone_number {
            self.by_number.insert(number.clone(), user.upn.clone());
        }
        self.tenant_users
            .entry(user.tenant.clone())
            .or_default()
            .insert(user.upn.clone());
        self.users.insert(user.upn.clone(), user);
        self.version += 1;
    }

    pub(crate) fn remove_user(&mut self, upn: &str) {
        self.unindex_user(upn);
        self.users.remove(upn);
        self.version += 1;
    }

    fn unindex_user(&mut self, upn: &str) {
        if let Some(old) = self.users.get(upn) {
            if let Some(number) = &old.phone_number {
                self.by_number.remove(number);
            }
            if let Some(set) = self.tenant_users.get_mut(&old.tenant) {
                set.remove(upn);
            }
        }
    }
}
