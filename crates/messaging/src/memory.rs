//! The in-process bus of the embedded mode: the services share one process and no broker runs.
//!
//! It keeps RabbitMQ's delivery contract: topic routing by the same bindings, at-least-once
//! delivery, acknowledgement after the handler's commit, retries and a dead-letter list. A
//! publish returns only when every consumer bound to the event has settled it, so the outbox
//! keeps an event until it was handled. An event in flight when the process stops is therefore
//! still in the outbox and is delivered again at the next start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Event;
use crate::bus::{BusError, Handler, MAX_BATCH, Settlement, deliver_batch};
use crate::topology::{self, Names, Subscription};

struct Delivery {
    event: Event,
    settled: oneshot::Sender<()>,
}

struct Queue {
    sender: mpsc::UnboundedSender<Delivery>,
    receiver: Option<mpsc::UnboundedReceiver<Delivery>>,
}

struct Binding {
    exchange: String,
    pattern: String,
    queue: String,
    /// The one organisation whose events pass, once the consumer of a [`Scope::One`] queue
    /// has subscribed. Until then the queue keeps every organisation's events, so that none
    /// relayed before the consumer starts is lost.
    organisation: Option<Uuid>,
}

#[derive(Default)]
struct State {
    queues: HashMap<String, Queue>,
    bindings: Vec<Binding>,
    dead_letters: HashMap<String, Vec<Event>>,
}

/// A bus inside one process.
#[derive(Clone, Default)]
pub struct MemoryBus {
    names: Names,
    state: Arc<Mutex<State>>,
}

impl MemoryBus {
    pub fn new(names: Names) -> Self {
        Self {
            names,
            state: Arc::default(),
        }
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Declares the queues and bindings of every subscription.
    pub fn declare_topology(&self) {
        self.declare(topology::SUBSCRIPTIONS);
    }

    /// Declares the queues and bindings of `subscriptions`.
    pub fn declare(&self, subscriptions: &[Subscription]) {
        let mut state = self.lock();
        for subscription in subscriptions {
            let queue = self.names.queue(subscription);
            if state.queues.contains_key(&queue) {
                continue;
            }
            let (sender, receiver) = mpsc::unbounded_channel();
            state.queues.insert(
                queue.clone(),
                Queue {
                    sender,
                    receiver: Some(receiver),
                },
            );
            for pattern in subscription.routing_keys {
                state.bindings.push(Binding {
                    exchange: self.names.exchange(subscription.producer),
                    pattern: (*pattern).to_owned(),
                    queue: queue.clone(),
                    organisation: None,
                });
            }
        }
    }

    /// Events that failed every attempt in a queue, oldest first.
    pub fn dead_letters(&self, subscription: &Subscription) -> Vec<Event> {
        let queue = self.names.queue(subscription);
        self.lock()
            .dead_letters
            .get(&queue)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) async fn publish(&self, producer: &str, events: &[Event]) -> Result<(), BusError> {
        let exchange = self.names.exchange(producer);
        let mut pending = Vec::new();
        {
            let state = self.lock();
            for event in events {
                for binding in &state.bindings {
                    if binding.exchange != exchange
                        || !topology::topic_matches(&binding.pattern, &event.event_type)
                        || binding
                            .organisation
                            .is_some_and(|organisation| organisation != event.organisation_id)
                    {
                        continue;
                    }
                    let Some(queue) = state.queues.get(&binding.queue) else {
                        continue;
                    };
                    let (settled, done) = oneshot::channel();
                    queue
                        .sender
                        .send(Delivery {
                            event: event.clone(),
                            settled,
                        })
                        .map_err(|_| BusError::Closed)?;
                    pending.push((event.id, done));
                }
            }
        }
        for (event_id, done) in pending {
            done.await.map_err(|_| BusError::NotConfirmed {
                event_id,
                reason: "the consumer stopped before settling it".into(),
            })?;
        }
        Ok(())
    }

    pub(crate) fn subscribe(
        &self,
        subscription: &Subscription,
        organisation: Option<Uuid>,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError> {
        let queue = self.names.queue(subscription);
        let mut receiver = {
            let mut state = self.lock();
            let entry = state
                .queues
                .get_mut(&queue)
                .ok_or_else(|| BusError::UnknownQueue(queue.clone()))?;
            let receiver = entry
                .receiver
                .take()
                .ok_or_else(|| BusError::QueueTaken(queue.clone()))?;
            if organisation.is_some() {
                for binding in state.bindings.iter_mut().filter(|b| b.queue == queue) {
                    binding.organisation = organisation;
                }
            }
            receiver
        };
        let bus = self.clone();
        Ok(tokio::spawn(async move {
            'receiving: loop {
                let delivery = tokio::select! {
                    delivery = receiver.recv() => delivery,
                    _ = shutdown.cancelled() => None,
                };
                let Some(delivery) = delivery else { break };
                let mut deliveries = vec![delivery];
                while deliveries.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(delivery) => deliveries.push(delivery),
                        Err(_) => break,
                    }
                }
                let events: Vec<Event> = deliveries
                    .iter()
                    .map(|delivery| delivery.event.clone())
                    .collect();
                let settlements = deliver_batch(handler.as_ref(), &events, &queue, &shutdown).await;
                for (delivery, settlement) in deliveries.into_iter().zip(settlements) {
                    match settlement {
                        Settlement::Ack => {
                            let _ = delivery.settled.send(());
                        }
                        Settlement::DeadLetter => {
                            bus.lock()
                                .dead_letters
                                .entry(queue.clone())
                                .or_default()
                                .push(delivery.event);
                            let _ = delivery.settled.send(());
                        }
                        // Dropping the sender fails the publish, so the outbox keeps the event.
                        Settlement::Requeue => break 'receiving,
                    }
                }
            }
            // Give the receiver back so that a restarted consumer finds the queue.
            if let Some(entry) = bus.lock().queues.get_mut(&queue) {
                entry.receiver = Some(receiver);
            }
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
