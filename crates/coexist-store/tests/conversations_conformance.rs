//! The conversation store's conformance suite (threads, messages, events,
//! sessions): run against the in-memory reference and SQLite (reopened, to
//! show it persists).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_core::Timestamp;
use coexist_core::teams::model::{
    Body, Delivery, DeliveryState, Member, Message, Session, StoredEvent, Thread, ThreadKind,
    ThreadState,
};
use coexist_core::teams::ports::{ConversationStore, MemoryConversations, Row};
use coexist_policy::interop_limits::ContentType;
use coexist_policy::{Client, Method};
use coexist_store::SqliteStore;
use std::future::Future;
use std::sync::Arc;

fn thread(id: &str) -> Thread {
    Thread {
        id: id.into(),
        kind: ThreadKind::OneOnOne,
        topic: None,
        method: Method::Interop,
        members: vec![
            Member {
                upn: "a@x.test".into(),
                client: Client::Teams,
            },
            Member {
                upn: "b@x.test".into(),
                client: Client::Sfb,
            },
        ],
        created_by: "a@x.test".into(),
        created_at: Timestamp(5),
        state: ThreadState::Active,
        disabled_reason: None,
        replaced_by: None,
        replaces: None,
    }
}

fn message(id: i64, chat: &str) -> Message {
    Message {
        id,
        chat_id: chat.into(),
        from: "a@x.test".into(),
        created_at: Timestamp(id),
        body: Body {
            content_type: ContentType::Text,
            content: format!("héllo {id}"),
        },
        converted_from: Some(ContentType::Html),
        attachments: vec![],
        deliveries: vec![Delivery {
            upn: "b@x.test".into(),
            client: Client::Sfb,
            state: DeliveryState::Pending,
        }],
    }
}

fn event(id: i64, upn: &str) -> StoredEvent {
    StoredEvent {
        id,
        upn: upn.into(),
        at: Timestamp(id),
        payload: format!("{{\"id\":{id}}}"),
    }
}

async fn conformance<S, F, Fut>(open: F)
where
    S: ConversationStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let store = open().await;
    let empty = store.load_conversations(Timestamp(0)).await.unwrap();
    assert!(empty.threads.is_empty());
    assert_eq!((empty.last_message_id, empty.last_event_id), (0, 0));
    assert!(empty.sfb_pending.is_empty());

    let (t1, t2) = (thread("19:one"), thread("19:two"));
    let messages: Vec<Message> = (1..=5)
        .map(|i| message(i, if i % 2 == 0 { "19:two" } else { "19:one" }))
        .collect();
    let events: Vec<StoredEvent> = (1..=6)
        .map(|i| event(i, if i <= 3 { "a@x.test" } else { "b@x.test" }))
        .collect();
    let live = Session {
        digest: "d1".into(),
        upn: "a@x.test".into(),
        created_at: Timestamp(1),
        expires_at: Timestamp(1000),
        revoked: false,
    };
    let expired = Session {
        digest: "d2".into(),
        expires_at: Timestamp(10),
        ..live.clone()
    };
    let mut rows = vec![
        Row::Thread(&t1),
        Row::Thread(&t2),
        Row::Session(&live),
        Row::Session(&expired),
    ];
    rows.extend(messages.iter().map(Row::Message));
    rows.extend(events.iter().map(Row::Event));
    store.commit_conversations(&rows).await.unwrap();

    // A thread is replaced (R4.2 disabled and linked), a delivery changes.
    let disabled = Thread {
        state: ThreadState::Disabled,
        disabled_reason: Some("ThreadDisabled (R4.2)".into()),
        replaced_by: Some("19:two".into()),
        ..t1.clone()
    };
    let mut delivered = messages[0].clone();
    delivered.deliveries[0].state = DeliveryState::Delivered;
    store
        .commit_conversations(&[Row::Thread(&disabled), Row::Message(&delivered)])
        .await
        .unwrap();
    drop(store);

    let store = open().await;
    let snapshot = store.load_conversations(Timestamp(100)).await.unwrap();
    let mut threads = snapshot.threads.clone();
    threads.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(threads, vec![disabled, t2]);
    assert_eq!(snapshot.sessions, vec![live]);
    assert_eq!((snapshot.last_message_id, snapshot.last_event_id), (5, 6));

    // Newest first, paged by `before`.
    let page = store.messages("19:one", None, 2).await.unwrap();
    assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), vec![5, 3]);
    let next = store.messages("19:one", Some(3), 2).await.unwrap();
    assert_eq!(next, vec![delivered.clone()]);
    assert_eq!(store.message(1).await.unwrap(), Some(delivered));
    assert_eq!(store.message(99).await.unwrap(), None);

    // A user's message events: messages of their threads not their own.
    let threads = ["19:one".to_owned(), "19:two".to_owned()];
    let after = store
        .messages_after(&threads[..1], "b@x.test", 1, 10)
        .await
        .unwrap();
    assert_eq!(after.iter().map(|m| m.id).collect::<Vec<_>>(), vec![3, 5]);
    let both = store
        .messages_after(&threads, "b@x.test", 0, 3)
        .await
        .unwrap();
    assert_eq!(both.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(
        store
            .messages_after(&threads, "a@x.test", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A user's events after an id, oldest first.
    let after = store.events("a@x.test", 1, 10).await.unwrap();
    assert_eq!(after, vec![events[1].clone(), events[2].clone()]);
    assert_eq!(store.events("b@x.test", 0, 2).await.unwrap().len(), 2);
    assert!(store.events("b@x.test", 6, 10).await.unwrap().is_empty());

    // Nothing lost (issue 6): what still waits for an sfb recipient, oldest
    // first; a delivered or failed delivery leaves the list, after a reopen too.
    let ids = |messages: Vec<Message>| messages.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.pending_sfb("b@x.test", 10).await.unwrap()),
        vec![2, 3, 4, 5]
    );
    assert_eq!(
        ids(store.pending_sfb("b@x.test", 2).await.unwrap()),
        vec![2, 3]
    );
    assert!(store.pending_sfb("a@x.test", 10).await.unwrap().is_empty());
    let mut failed = messages[2].clone();
    failed.deliveries[0].state = DeliveryState::Failed;
    store
        .commit_conversations(&[Row::Message(&failed)])
        .await
        .unwrap();
    drop(store);
    let store = open().await;
    assert_eq!(
        ids(store.pending_sfb("b@x.test", 10).await.unwrap()),
        vec![2, 4, 5]
    );
    // The users listed at start as having something pending (the teams
    // side then skips the store for everyone else): once each, until
    // nothing waits for them.
    let loaded = store.load_conversations(Timestamp(100)).await.unwrap();
    assert_eq!(loaded.sfb_pending, vec!["b@x.test".to_owned()]);
    let done: Vec<Message> = [1, 3, 4]
        .iter()
        .map(|&i| {
            let mut m = messages[i].clone();
            m.deliveries[0].state = DeliveryState::Delivered;
            m
        })
        .collect();
    let rows: Vec<Row<'_>> = done.iter().map(Row::Message).collect();
    store.commit_conversations(&rows).await.unwrap();
    drop(store);
    let store = open().await;
    let loaded = store.load_conversations(Timestamp(100)).await.unwrap();
    assert!(loaded.sfb_pending.is_empty(), "{:?}", loaded.sfb_pending);

    // Nothing half-written: a failing commit (duplicate event id) leaves no trace.
    let again = event(6, "a@x.test");
    let extra = message(9, "19:two");
    let failed = store
        .commit_conversations(&[Row::Message(&extra), Row::Event(&again)])
        .await;
    if failed.is_err() {
        assert_eq!(store.message(9).await.unwrap(), None);
    }
}

/// Listing and resume give every message and event once, in order, whether
/// it is already in SQLite's thread or user index (written in batches of
/// thousands) or still among the recent ones, and across a reopen.
async fn many_messages_list_in_order<S, F, Fut>(open: F)
where
    S: ConversationStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let store = open().await;
    let threads = ["19:a".to_owned(), "19:b".to_owned(), "19:c".to_owned()];
    let all: Vec<Message> = (1..=5000)
        .map(|i| message(i, &threads[(i % 3) as usize]))
        .collect();
    let events: Vec<StoredEvent> = (10_001..=15_000)
        .map(|i| event(i, if i % 2 == 0 { "u2@x.test" } else { "u1@x.test" }))
        .collect();
    for (batch, events) in all.chunks(100).zip(events.chunks(100)) {
        let mut rows: Vec<Row<'_>> = batch.iter().map(Row::Message).collect();
        rows.extend(events.iter().map(Row::Event));
        store.commit_conversations(&rows).await.unwrap();
    }
    let expected_of = |thread: &str| -> Vec<i64> {
        all.iter()
            .filter(|m| m.chat_id == thread)
            .map(|m| m.id)
            .rev()
            .collect()
    };
    for round in 0..2 {
        for thread in &threads {
            let mut listed = Vec::new();
            let mut before = None;
            loop {
                let page = store.messages(thread, before, 200).await.unwrap();
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                listed.extend(page.iter().map(|m| m.id));
            }
            assert_eq!(listed, expected_of(thread), "{thread}, round {round}");
        }
        let mut resumed = Vec::new();
        let mut after = 0;
        loop {
            let page = store
                .messages_after(&threads[..2], "", after, 300)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            resumed.extend(page.iter().map(|m| m.id));
        }
        let expected: Vec<i64> = all
            .iter()
            .filter(|m| m.chat_id != "19:c")
            .map(|m| m.id)
            .collect();
        assert_eq!(resumed, expected, "round {round}");
        let mut replayed = Vec::new();
        let mut after = 0;
        loop {
            let page = store.events("u1@x.test", after, 300).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            replayed.extend(page);
        }
        let expected: Vec<StoredEvent> = events
            .iter()
            .filter(|e| e.upn == "u1@x.test")
            .cloned()
            .collect();
        assert_eq!(replayed, expected, "round {round}");
        assert_eq!(store.message(4999).await.unwrap().map(|m| m.id), Some(4999));
        // A change of an old message does not list it twice.
        let mut changed = all[0].clone();
        changed.deliveries[0].state = DeliveryState::Delivered;
        store
            .commit_conversations(&[Row::Message(&changed)])
            .await
            .unwrap();
    }
    drop(store);
    let store = open().await;
    let replayed = store.events("u2@x.test", 14_990, 300).await.unwrap();
    assert_eq!(
        replayed.iter().map(|e| e.id).collect::<Vec<_>>(),
        [14_992, 14_994, 14_996, 14_998, 15_000]
    );
    let listed = store.messages("19:b", None, 5).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        expected_of("19:b")[..5]
    );
}

#[tokio::test]
async fn memory_conversations_list_many_messages_in_order() {
    let store = Arc::new(MemoryConversations::default());
    many_messages_list_in_order(|| {
        let store = store.clone();
        async move { Shared(store) }
    })
    .await;
}

#[tokio::test]
async fn sqlite_conversations_list_many_messages_in_order_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    many_messages_list_in_order(|| {
        let path = path.clone();
        async move { SqliteStore::open(&path).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn memory_conversations_conform() {
    let store = Arc::new(MemoryConversations::default());
    conformance(|| {
        let store = store.clone();
        async move { Shared(store) }
    })
    .await;
}

#[tokio::test]
async fn sqlite_conversations_conform_and_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    conformance(|| {
        let path = path.clone();
        async move { SqliteStore::open(&path).await.unwrap() }
    })
    .await;
}

/// Shares one memory store between "reopens".
#[derive(Debug)]
struct Shared(Arc<MemoryConversations>);

#[async_trait::async_trait]
impl ConversationStore for Shared {
    async fn load_conversations(
        &self,
        now: Timestamp,
    ) -> Result<coexist_core::teams::ports::ConversationSnapshot, coexist_core::StoreError> {
        self.0.load_conversations(now).await
    }
    async fn commit_conversations(&self, rows: &[Row<'_>]) -> Result<(), coexist_core::StoreError> {
        self.0.commit_conversations(rows).await
    }
    async fn messages(
        &self,
        thread: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, coexist_core::StoreError> {
        self.0.messages(thread, before, limit).await
    }
    async fn message(&self, id: i64) -> Result<Option<Message>, coexist_core::StoreError> {
        self.0.message(id).await
    }
    async fn messages_after(
        &self,
        threads: &[String],
        not_from: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Message>, coexist_core::StoreError> {
        self.0.messages_after(threads, not_from, after, limit).await
    }
    async fn events(
        &self,
        upn: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, coexist_core::StoreError> {
        self.0.events(upn, after, limit).await
    }
    async fn pending_sfb(
        &self,
        upn: &str,
        limit: u32,
    ) -> Result<Vec<Message>, coexist_core::StoreError> {
        self.0.pending_sfb(upn, limit).await
    }
}
