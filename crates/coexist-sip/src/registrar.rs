//! The location service (RFC 3261 §10.3): bindings of addresses of record
//! to contacts, with expiry, and a persistence port so registrations
//! survive a restart ([`RegistrationStore`]: in memory, or an append-only
//! file).

use crate::transport::Peer;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

mod line;

/// One contact of one user, as kept in memory: 100 000 registered users
/// hold 100 000 of these, so the address of record is not repeated here
/// (it is the registrar's key) and the texts are boxed without slack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The Contact URI.
    pub contact: Box<str>,
    /// Where it registered from (requests to it go there: NAT-safe).
    pub source: Peer,
    /// Expiry, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
    /// Call-ID and CSeq of the last REGISTER (RFC 3261 §10.3 step 7).
    pub call_id: Box<str>,
    /// CSeq number.
    pub cseq: u32,
    /// Whether this contact is an IP phone (R6.3: decided from the
    /// User-Agent when it registered).
    pub is_phone: bool,
}

impl Binding {
    /// Seconds left at `now`.
    pub fn remaining(&self, now: Duration) -> u64 {
        (self.expires_at_ms.saturating_sub(now.as_millis() as u64)) / 1000
    }
}

/// A binding with its address of record, as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBinding {
    /// The address of record (UPN).
    pub aor: String,
    /// The contact.
    #[serde(flatten)]
    pub binding: Binding,
}

/// Where bindings are kept across restarts.
pub trait RegistrationStore: Send + std::fmt::Debug {
    /// Everything stored (expired ones included; the registrar drops them).
    fn load(&mut self) -> Vec<StoredBinding>;
    /// Stores or replaces `aor`'s binding.
    fn put(&mut self, aor: &str, binding: &Binding);
    /// Removes a binding.
    fn remove(&mut self, aor: &str, contact: &str);
    /// Writes out what `put` and `remove` buffered. The engine calls it
    /// before it hands out the responses that acknowledge them, so a
    /// registration that got its 200 is on file.
    fn flush(&mut self) {}
}

/// Keeps nothing (tests, benchmarks without persistence).
#[derive(Debug, Default)]
pub struct MemoryStore;

impl RegistrationStore for MemoryStore {
    fn load(&mut self) -> Vec<StoredBinding> {
        Vec::new()
    }
    fn put(&mut self, _aor: &str, _binding: &Binding) {}
    fn remove(&mut self, _aor: &str, _contact: &str) {}
}

/// A journal line as read back. Lines written before the binding lost its
/// `user_agent` still read: unknown fields are skipped.
#[derive(Debug, Deserialize)]
enum Entry {
    Put(StoredBinding),
    Remove(String, String),
}

/// A journal line as written (borrowed: nothing is copied to write it).
/// `Put` spells out the binding's fields rather than flattening it: a
/// flattened struct goes through serde's map path, about twice the work
/// per line (callgrind); the line reads back the same (a test checks).
#[derive(Debug, Serialize)]
enum EntryRef<'a> {
    Put {
        aor: &'a str,
        contact: &'a str,
        source: &'a Peer,
        expires_at_ms: u64,
        call_id: &'a str,
        cseq: u32,
        is_phone: bool,
        /// The binding the fields come from: appending writes the line
        /// from it by hand (`line.rs`); compaction goes through serde.
        #[serde(skip)]
        binding: Option<&'a Binding>,
    },
    Remove(&'a str, &'a str),
}

impl<'a> EntryRef<'a> {
    fn put(aor: &'a str, binding: &'a Binding) -> EntryRef<'a> {
        EntryRef::Put {
            aor,
            contact: &binding.contact,
            source: &binding.source,
            expires_at_ms: binding.expires_at_ms,
            call_id: &binding.call_id,
            cseq: binding.cseq,
            is_phone: binding.is_phone,
            binding: Some(binding),
        }
    }
}

/// An append-only JSON-lines journal, compacted on load. Lines are
/// buffered and written by [`RegistrationStore::flush`] (once per batch of
/// datagrams the driver handles, before the answers go out): a `write`
/// call per REGISTER showed in the benchmark's CPU per registration.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// The line being written (kept: one allocation for the store's life).
    line: Vec<u8>,
}

impl FileStore {
    /// A journal at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        FileStore {
            path: path.into(),
            file: None,
            line: Vec::with_capacity(256),
        }
    }

    fn append(&mut self, entry: &EntryRef<'_>) {
        if self.file.is_none() {
            self.file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok()
                .map(|file| std::io::BufWriter::with_capacity(64 * 1024, file));
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        self.line.clear();
        let serialised = match entry {
            EntryRef::Put {
                aor,
                binding: Some(binding),
                ..
            } => {
                line::put(&mut self.line, aor, binding);
                Ok(())
            }
            _ => serde_json::to_writer(&mut self.line, entry),
        };
        self.line.push(b'\n');
        let written = serialised
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(&self.line));
        if let Err(e) = written {
            tracing::warn!("registration journal: {e}");
        }
    }
}

impl RegistrationStore for FileStore {
    fn load(&mut self) -> Vec<StoredBinding> {
        let mut live: HashMap<(String, Box<str>), StoredBinding> = HashMap::new();
        if let Ok(file) = std::fs::File::open(&self.path) {
            for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
                match serde_json::from_str::<Entry>(&line) {
                    Ok(Entry::Put(stored)) => {
                        let key = (stored.aor.clone(), stored.binding.contact.clone());
                        live.insert(key, stored);
                    }
                    Ok(Entry::Remove(aor, contact)) => {
                        live.remove(&(aor, contact.into_boxed_str()));
                    }
                    Err(_) => {} // a torn last line after a crash
                }
            }
        }
        let bindings: Vec<StoredBinding> = live.into_values().collect();
        // Compact: rewrite the journal with what is live.
        let tmp = self.path.with_extension("tmp");
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            for stored in &bindings {
                let entry = EntryRef::put(&stored.aor, &stored.binding);
                if let Ok(mut line) = serde_json::to_vec(&entry) {
                    line.push(b'\n');
                    f.write_all(&line)?;
                }
            }
            f.sync_all()
        });
        if written.is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
        bindings
    }

    fn put(&mut self, aor: &str, binding: &Binding) {
        self.append(&EntryRef::put(aor, binding));
    }

    fn remove(&mut self, aor: &str, contact: &str) {
        self.append(&EntryRef::Remove(aor, contact));
    }

    fn flush(&mut self) {
        if let Some(Err(e)) = self.file.as_mut().map(Write::flush) {
            tracing::warn!("registration journal: {e}");
        }
    }
}

/// The bindings, in memory, written through to the store. Most users have
/// one contact: each user's are a boxed slice (no spare capacity), under
/// their address of record.
#[derive(Debug)]
pub struct Registrar {
    bindings: HashMap<Box<str>, Box<[Binding]>>,
    store: Box<dyn RegistrationStore>,
}

impl Registrar {
    /// Loads what the store kept, dropping what expired.
    pub fn open(mut store: Box<dyn RegistrationStore>, now: Duration) -> Registrar {
        let mut loaded: HashMap<Box<str>, Vec<Binding>> = HashMap::new();
        let now_ms = now.as_millis() as u64;
        for stored in store.load() {
            if stored.binding.expires_at_ms > now_ms {
                let aor = stored.aor.into_boxed_str();
                loaded.entry(aor).or_default().push(stored.binding);
            }
        }
        let bindings = loaded
            .into_iter()
            .map(|(aor, list)| (aor, list.into_boxed_slice()))
            .collect();
        Registrar { bindings, store }
    }

    /// Writes out what the store buffered (see [`RegistrationStore::flush`]).
    pub fn flush(&mut self) {
        self.store.flush();
    }

    /// The live contacts of `aor`.
    pub fn contacts(&self, aor: &str, now: Duration) -> Vec<&Binding> {
        let now_ms = now.as_millis() as u64;
        self.bindings
            .get(aor)
            .map(|v| v.iter().filter(|b| b.expires_at_ms > now_ms).collect())
            .unwrap_or_default()
    }

    /// Where to send a request for `aor`: each live contact's URI and the
    /// peer it registered from.
    pub fn targets(&self, aor: &str, now: Duration) -> Vec<(String, Peer)> {
        self.contacts(aor, now)
            .into_iter()
            .map(|b| (b.contact.to_string(), b.source))
            .collect()
    }

    /// Whether `aor` has a live contact (R7.3).
    pub fn is_registered(&self, aor: &str, now: Duration) -> bool {
        let now_ms = now.as_millis() as u64;
        self.bindings
            .get(aor)
            .is_some_and(|v| v.iter().any(|b| b.expires_at_ms > now_ms))
    }

    /// Adds or refreshes `aor`'s binding. Refused (`false`) when the same
    /// Call-ID comes with a CSeq not above the stored one (RFC 3261 §10.3
    /// step 7).
    pub fn upsert(&mut self, aor: &str, binding: Binding) -> bool {
        match self.bindings.get_mut(aor) {
            Some(list) => {
                if let Some(old) = list.iter_mut().find(|b| b.contact == binding.contact) {
                    if old.call_id == binding.call_id && binding.cseq <= old.cseq {
                        return false;
                    }
                    self.store.put(aor, &binding);
                    *old = binding;
                    return true;
                }
                self.store.put(aor, &binding);
                let mut grown = std::mem::take(list).into_vec();
                grown.push(binding);
                *list = grown.into_boxed_slice();
            }
            None => {
                self.store.put(aor, &binding);
                self.bindings.insert(aor.into(), Box::new([binding]));
            }
        }
        true
    }

    /// Removes one binding.
    pub fn remove(&mut self, aor: &str, contact: &str) {
        if let Some(list) = self.bindings.get_mut(aor) {
            if list.iter().any(|b| &*b.contact == contact) {
                let mut kept = std::mem::take(list).into_vec();
                kept.retain(|b| &*b.contact != contact);
                *list = kept.into_boxed_slice();
            }
            if list.is_empty() {
                self.bindings.remove(aor);
            }
        }
        self.store.remove(aor, contact);
    }

    /// Removes every binding of `aor` (`Contact: *`, RFC 3261 §10.2.2).
    pub fn remove_all(&mut self, aor: &str) {
        for b in self.bindings.remove(aor).unwrap_or_default() {
            self.store.remove(aor, &b.contact);
        }
    }

    /// Drops expired bindings; returns the addresses of record that lost
    /// their last contact (their presence becomes Offline, R7.3).
    pub fn expire(&mut self, now: Duration) -> Vec<String> {
        let now_ms = now.as_millis() as u64;
        let mut gone = Vec::new();
        let store = &mut self.store;
        self.bindings.retain(|aor, list| {
            if list.iter().any(|b| b.expires_at_ms <= now_ms) {
                let mut kept = std::mem::take(list).into_vec();
                kept.retain(|b| {
                    let keep = b.expires_at_ms > now_ms;
                    if !keep {
                        store.remove(aor, &b.contact);
                    }
                    keep
                });
                *list = kept.into_boxed_slice();
            }
            if list.is_empty() {
                gone.push(aor.to_string());
                false
            } else {
                true
            }
        });
        gone
    }

    /// The addresses of record with a binding (live or not yet pruned).
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.bindings.keys().map(|aor| &**aor)
    }

    /// How many bindings are held.
    pub fn len(&self) -> usize {
        self.bindings.values().map(|list| list.len()).sum()
    }

    /// Whether no binding is held.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ALICE: &str = "alice@contoso.test";

    #[test]
    fn a_journal_line_reads_back_as_the_binding_it_wrote() {
        // What the flattened form wrote, and what loading expects.
        #[derive(Serialize)]
        enum Flattened<'a> {
            Put {
                aor: &'a str,
                #[serde(flatten)]
                binding: &'a Binding,
            },
        }
        let tricky = Binding {
            contact: "<sip:a\"b\\c@h>;x=\u{1}é".into(),
            source: Peer::tcp("[2001:db8::1]:5061".parse().unwrap(), 9),
            expires_at_ms: u64::MAX,
            call_id: "id\n".into(),
            cseq: u32::MAX,
            is_phone: true,
        };
        let every_ascii: String = (0u8..128).map(char::from).chain(['é', '€']).collect();
        let all = Binding {
            contact: every_ascii.clone().into(),
            call_id: every_ascii.into(),
            ..binding("x", 0, 0)
        };
        for b in [binding("sip:a@h", 3, 77), tricky, all] {
            let line = serde_json::to_string(&EntryRef::put(ALICE, &b)).unwrap();
            let flattened = serde_json::to_string(&Flattened::Put {
                aor: ALICE,
                binding: &b,
            })
            .unwrap();
            assert_eq!(line, flattened);
            let mut by_hand = Vec::new();
            line::put(&mut by_hand, ALICE, &b);
            assert_eq!(String::from_utf8(by_hand).unwrap(), line);
            match serde_json::from_str::<Entry>(&line).unwrap() {
                Entry::Put(stored) => {
                    assert_eq!(stored.aor, ALICE);
                    // The connection is not kept across restarts.
                    assert_eq!(
                        stored.binding,
                        Binding {
                            source: Peer {
                                conn: None,
                                ..b.source
                            },
                            ..b.clone()
                        }
                    );
                }
                Entry::Remove(..) => panic!("a put reads back as a put"),
            }
        }
    }

    fn binding(contact: &str, cseq: u32, expires_ms: u64) -> Binding {
        Binding {
            contact: contact.into(),
            source: Peer::udp("127.0.0.1:5070".parse().unwrap()),
            expires_at_ms: expires_ms,
            call_id: "c".into(),
            cseq,
            is_phone: false,
        }
    }

    #[test]
    fn several_contacts_expire_and_cseq_must_grow_rfc3261_10_3() {
        let mut r = Registrar::open(Box::new(MemoryStore), Duration::ZERO);
        assert!(r.upsert(ALICE, binding("sip:a@1", 1, 10_000)));
        assert!(r.upsert(ALICE, binding("sip:a@2", 1, 20_000)));
        assert!(!r.upsert(ALICE, binding("sip:a@1", 1, 30_000)));
        assert_eq!(r.contacts("alice@contoso.test", Duration::ZERO).len(), 2);
        assert_eq!(r.expire(Duration::from_secs(15)), Vec::<String>::new());
        assert_eq!(r.len(), 1);
        assert_eq!(
            r.expire(Duration::from_secs(25)),
            vec!["alice@contoso.test"]
        );
        assert!(r.is_empty());
    }

    #[test]
    fn the_file_journal_survives_a_restart_and_forgets_removed_bindings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registrations.jsonl");
        {
            let mut r = Registrar::open(Box::new(FileStore::new(&path)), Duration::ZERO);
            r.upsert(ALICE, binding("sip:a@1", 1, 100_000));
            r.upsert(ALICE, binding("sip:a@2", 1, 100_000));
            r.remove("alice@contoso.test", "sip:a@1");
        }
        let r = Registrar::open(Box::new(FileStore::new(&path)), Duration::from_secs(1));
        let contacts = r.contacts("alice@contoso.test", Duration::from_secs(1));
        assert_eq!(contacts.len(), 1);
        assert_eq!(&*contacts[0].contact, "sip:a@2");
        // Past expiry, a restart drops it.
        let r = Registrar::open(Box::new(FileStore::new(&path)), Duration::from_secs(200));
        assert!(r.is_empty());
    }

    #[test]
    fn a_journal_written_with_the_user_agent_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registrations.jsonl");
        let line = r#"{"Put":{"aor":"alice@contoso.test","contact":"sip:a@1","source":{"transport":"Udp","addr":"127.0.0.1:5070"},"expires_at_ms":100000,"call_id":"c","cseq":3,"user_agent":"Yealink","is_phone":true}}"#;
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let r = Registrar::open(Box::new(FileStore::new(&path)), Duration::ZERO);
        let contacts = r.contacts(ALICE, Duration::ZERO);
        assert_eq!(contacts.len(), 1);
        assert_eq!((&*contacts[0].call_id, contacts[0].cseq), ("c", 3));
        assert!(contacts[0].is_phone);
        // Compacted in the new shape, which reads back the same.
        let again = Registrar::open(Box::new(FileStore::new(&path)), Duration::ZERO);
        assert_eq!(again.contacts(ALICE, Duration::ZERO), contacts);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""aor":"alice@contoso.test""#), "{text}");
    }
}
