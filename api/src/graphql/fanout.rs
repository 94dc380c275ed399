//! Shared subscriptions: subscribers that ask for the same selection (same query, variables
//! and operation, and the same role) share one execution, and each event is serialised to
//! JSON once for all of them. Ten thousand dashboards watching `employeeStatusChanged` cost
//! one resolver run and one `serde_json` pass per event, plus a copy per socket.
//!
//! A shared execution starts with its first subscriber and stops when its last one leaves;
//! when it ends (or fails validation) it leaves the table before telling its subscribers, so
//! a later subscriber always starts a fresh one.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use async_graphql::{Request, Response, Value};
use futures_util::StreamExt;
use tokio::{sync::broadcast, task::AbortHandle};

use super::AppSchema;
use crate::auth::{Principal, Role};

/// Events buffered per subscriber of a shared execution before a slow one skips some.
pub const SHARED_STREAM_CAPACITY: usize = 256;

/// What a shared execution tells its subscribers.
#[derive(Debug)]
pub enum SharedOutput {
    /// A result, serialised once: `{"data": …}` (with `errors` where a resolver failed).
    Next(Arc<str>),
    /// The operation was refused before it produced anything: the errors, as a JSON array.
    Error(Arc<str>),
    /// The execution ended.
    Complete,
}

/// What makes two subscriptions the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SelectionKey {
    role: Role,
    query: String,
    variables: String,
    operation_name: Option<String>,
}

struct SharedExecution {
    sender: broadcast::Sender<Arc<SharedOutput>>,
    task: AbortHandle,
}

impl Drop for SharedExecution {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One subscriber's view of a shared execution; dropping the last one stops the execution.
pub struct SharedSubscription {
    pub frames: broadcast::Receiver<Arc<SharedOutput>>,
    _execution: Arc<SharedExecution>,
}

/// The table of running shared executions.
#[derive(Clone)]
pub struct SubscriptionHub {
    schema: AppSchema,
    running: Arc<Mutex<HashMap<SelectionKey, Weak<SharedExecution>>>>,
}

impl SubscriptionHub {
    pub fn new(schema: AppSchema) -> Self {
        Self {
            schema,
            running: Arc::default(),
        }
    }

    /// Subscribes to the execution of `query` for a caller with `principal`'s role, starting
    /// it when nobody runs it yet.
    pub fn subscribe(
        &self,
        principal: &Principal,
        query: String,
        variables: serde_json::Value,
        operation_name: Option<String>,
    ) -> SharedSubscription {
        let key = SelectionKey {
            role: principal.role,
            variables: variables.to_string(),
            query,
            operation_name,
        };
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(execution) = running.get(&key).and_then(Weak::upgrade) {
            return SharedSubscription {
                frames: execution.sender.subscribe(),
                _execution: execution,
            };
        }
        let (sender, frames) = broadcast::channel(SHARED_STREAM_CAPACITY);
        let request = Request::new(key.query.clone())
            .variables(async_graphql::Variables::from_json(variables))
            .data(Principal {
                token_id: None,
                role: principal.role,
            });
        let request = match &key.operation_name {
            Some(name) => request.operation_name(name.clone()),
            None => request,
        };
        let task = tokio::spawn(run(
            self.schema.clone(),
            request,
            sender.clone(),
            Arc::downgrade(&self.running),
            key.clone(),
        ));
        let execution = Arc::new(SharedExecution {
            sender,
            task: task.abort_handle(),
        });
        running.retain(|_, weak| weak.strong_count() > 0);
        running.insert(key, Arc::downgrade(&execution));
        SharedSubscription {
            frames,
            _execution: execution,
        }
    }

    /// Shared executions running now.
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}

type Table = Mutex<HashMap<SelectionKey, Weak<SharedExecution>>>;

async fn run(
    schema: AppSchema,
    request: Request,
    sender: broadcast::Sender<Arc<SharedOutput>>,
    table: Weak<Table>,
    key: SelectionKey,
) {
    let mut stream = schema.execute_stream(request);
    let mut first = true;
    while let Some(response) = stream.next().await {
        let refused = first && response.data == Value::Null && !response.errors.is_empty();
        first = false;
        if refused {
            leave(&table, &key, &sender);
            let errors = serde_json::to_string(&response.errors).unwrap_or_else(|_| "[]".into());
            let _ = sender.send(Arc::new(SharedOutput::Error(errors.into())));
            return;
        }
        let _ = sender.send(Arc::new(SharedOutput::Next(serialise(&response))));
    }
    leave(&table, &key, &sender);
    let _ = sender.send(Arc::new(SharedOutput::Complete));
}

fn serialise(response: &Response) -> Arc<str> {
    serde_json::to_string(response)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serialise a subscription result");
            r#"{"data":null,"errors":[{"message":"internal server error"}]}"#.to_owned()
        })
        .into()
}

/// Removes this execution from the table (if the entry is still this one's).
fn leave(table: &Weak<Table>, key: &SelectionKey, sender: &broadcast::Sender<Arc<SharedOutput>>) {
    let Some(table) = table.upgrade() else { return };
    let mut running = table.lock().unwrap_or_else(|p| p.into_inner());
    let ours = running
        .get(key)
        .and_then(Weak::upgrade)
        .is_some_and(|e| e.sender.same_channel(sender));
    if ours {
        running.remove(key);
    }
}
