//! The bus as seen by services, and the delivery rules that both implementations share.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::topology::{Names, Scope, Subscription};
use crate::{Event, amqp, memory};

/// Deliveries of one event before it moves to the dead-letter queue.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// A message bus failure.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("RabbitMQ at {url}: {source}")]
    Amqp {
        url: String,
        #[source]
        source: lapin::Error,
    },
    #[error("the broker did not confirm event {event_id}: {reason}")]
    NotConfirmed {
        event_id: uuid::Uuid,
        reason: String,
    },
    #[error("queue {0} already has a consumer in this process")]
    QueueTaken(String),
    #[error("queue {0} is not declared; declare the topology first")]
    UnknownQueue(String),
    #[error("queue {queue} {expected}")]
    WrongScope {
        queue: String,
        expected: &'static str,
    },
    #[error("the bus is shut down")]
    Closed,
}

/// Failure of a handler to process an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A failure that may pass, such as a lost database connection: deliver again later.
    #[error("transient failure: {0}")]
    Retry(String),
    /// The event can never be processed, such as an undecodable payload: dead-letter it now.
    #[error("rejected: {0}")]
    Reject(String),
}

/// Processes events of one subscription.
///
/// Return `Ok` only after the transaction that records the event as processed has committed;
/// the bus acknowledges the delivery then and not before.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>>;

    /// Handles events that arrived together, and returns one result per event in their order.
    /// The bus settles each event by its result, and delivers an event whose result is
    /// `Retry` again on its own through [`Handler::handle`], with the usual retries. The
    /// default handles the events one by one; a handler overrides it to handle them in one
    /// transaction.
    fn handle_batch<'a>(
        &'a self,
        events: &'a [Event],
    ) -> BoxFuture<'a, Vec<Result<(), HandlerError>>> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(events.len());
            for event in events {
                results.push(self.handle(event).instrument(event.process_span()).await);
            }
            results
        })
    }

    /// Returns how many batches RabbitMQ's consumer may hand to [`Handler::handle_batch`]
    /// before the earliest has returned. The default, 1, handles each batch after the last. A handler
    /// that returns more must keep the effects of overlapping batches in their order itself.
    /// The in-process bus hands over one batch at a time.
    fn batches_in_flight(&self) -> usize {
        1
    }
}

/// Most events handed to [`Handler::handle_batch`] at once.
pub(crate) const MAX_BATCH: usize = 256;

/// Runs the handler on a batch, then delivers each event whose result is `Retry` on its own.
/// Returns one settlement per event.
pub(crate) async fn deliver_batch(
    handler: &dyn Handler,
    events: &[Event],
    queue: &str,
    shutdown: &CancellationToken,
) -> Vec<Settlement> {
    for event in events {
        record_lag(event, queue);
    }
    if events.len() == 1 {
        return vec![deliver(handler, &events[0], queue, shutdown).await];
    }
    let results = handler.handle_batch(events).await;
    let mut settlements = Vec::with_capacity(events.len());
    for (event, result) in events.iter().zip(results) {
        settlements.push(match result {
            Ok(()) => Settlement::Ack,
            Err(HandlerError::Reject(reason)) => {
                tracing::error!(event_id = %event.id, queue, error = %reason, "event rejected, moving it to the dead-letter queue");
                Settlement::DeadLetter
            }
            Err(HandlerError::Retry(reason)) => {
                tracing::debug!(event_id = %event.id, queue, error = %reason, "batch failed, delivering the event on its own");
                deliver(handler, event, queue, shutdown).await
            }
        });
    }
    settlements
}

/// What to do with a delivery after the handler ran.
#[derive(Debug)]
pub(crate) enum Settlement {
    Ack,
    DeadLetter,
    /// The process is stopping mid-retry: give the event back to the queue.
    Requeue,
}

/// Records how long `event` waited between its occurrence and its handling.
fn record_lag(event: &Event, queue: &str) {
    dk_telemetry::metrics::instruments().consumer_lag.record(
        dk_telemetry::metrics::seconds_since(event.time),
        &[dk_telemetry::metrics::attribute("queue", queue.to_owned())],
    );
}

/// Runs the handler with retries and exponential backoff (0.1 s, 0.2 s, … at most 5 s), each
/// attempt in the event's process span.
pub(crate) async fn deliver(
    handler: &dyn Handler,
    event: &Event,
    queue: &str,
    shutdown: &CancellationToken,
) -> Settlement {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=MAX_ATTEMPTS {
        match handler.handle(event).instrument(event.process_span()).await {
            Ok(()) => return Settlement::Ack,
            Err(HandlerError::Reject(reason)) => {
                tracing::error!(event_id = %event.id, queue, error = %reason, "event rejected, moving it to the dead-letter queue");
                return Settlement::DeadLetter;
            }
            Err(HandlerError::Retry(reason)) if attempt == MAX_ATTEMPTS => {
                tracing::error!(event_id = %event.id, queue, attempt, error = %reason, "event failed on every attempt, moving it to the dead-letter queue");
                return Settlement::DeadLetter;
            }
            Err(HandlerError::Retry(reason)) => {
                tracing::warn!(event_id = %event.id, queue, attempt, error = %reason, "event handler failed, retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => return Settlement::Requeue,
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    Settlement::Requeue
}

/// RabbitMQ in production, or the in-process bus of the embedded mode.
#[derive(Clone)]
pub enum Bus {
    Amqp(amqp::AmqpBus),
    Memory(memory::MemoryBus),
}

impl Bus {
    pub fn names(&self) -> &Names {
        match self {
            Bus::Amqp(bus) => bus.names(),
            Bus::Memory(bus) => bus.names(),
        }
    }

    /// Declares every exchange, queue, binding and dead-letter queue; safe to repeat.
    pub async fn declare_topology(&self) -> Result<(), BusError> {
        match self {
            Bus::Amqp(bus) => bus.declare_topology().await,
            Bus::Memory(bus) => {
                bus.declare_topology();
                Ok(())
            }
        }
    }

    /// Declares the queues of subscriptions outside the system's own topology, such as an
    /// outside consumer's or a test's; safe to repeat.
    pub async fn declare_subscriptions(
        &self,
        subscriptions: &[Subscription],
    ) -> Result<(), BusError> {
        match self {
            Bus::Amqp(bus) => bus.declare(subscriptions).await,
            Bus::Memory(bus) => {
                bus.declare(subscriptions);
                Ok(())
            }
        }
    }

    /// Deletes the queues of subscriptions declared with [`Bus::declare_subscriptions`].
    pub async fn delete_subscriptions(
        &self,
        subscriptions: &[Subscription],
    ) -> Result<(), BusError> {
        match self {
            Bus::Amqp(bus) => bus.delete(subscriptions).await,
            Bus::Memory(_) => Ok(()),
        }
    }

    /// Publishes events on `producer`'s exchange and returns once the broker confirmed all of
    /// them (RabbitMQ) or every bound consumer has acknowledged them (in-process bus).
    pub async fn publish(&self, producer: &str, events: &[Event]) -> Result<(), BusError> {
        match self {
            Bus::Amqp(bus) => bus.publish(producer, events).await,
            Bus::Memory(bus) => bus.publish(producer, events).await,
        }
    }

    /// Starts consuming a subscription's queue until `shutdown` is cancelled.
    pub async fn subscribe(
        &self,
        subscription: &Subscription,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<Subscriber, BusError> {
        self.start_consumer(subscription, None, handler, shutdown)
            .await
    }

    /// Starts consuming a [`Scope::One`] subscription's queue, which receives `organisation`'s
    /// events only, until `shutdown` is cancelled.
    pub async fn subscribe_for(
        &self,
        subscription: &Subscription,
        organisation: Uuid,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<Subscriber, BusError> {
        self.start_consumer(subscription, Some(organisation), handler, shutdown)
            .await
    }

    async fn start_consumer(
        &self,
        subscription: &Subscription,
        organisation: Option<Uuid>,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<Subscriber, BusError> {
        let expected = match (subscription.scope, organisation) {
            (Scope::Every, None) | (Scope::One, Some(_)) => None,
            (Scope::Every, Some(_)) => {
                Some("receives the events of every organisation; subscribe it without one")
            }
            (Scope::One, None) => {
                Some("receives the events of one organisation; subscribe it with `subscribe_for`")
            }
        };
        if let Some(expected) = expected {
            return Err(BusError::WrongScope {
                queue: self.names().queue(subscription),
                expected,
            });
        }
        let task = match self {
            Bus::Amqp(bus) => {
                bus.subscribe(subscription, organisation, handler, shutdown)
                    .await?
            }
            Bus::Memory(bus) => bus.subscribe(subscription, organisation, handler, shutdown)?,
        };
        Ok(Subscriber { task })
    }
}

/// A running consumer.
pub struct Subscriber {
    task: JoinHandle<()>,
}

impl Subscriber {
    /// Waits until the consumer has stopped after its shutdown token was cancelled.
    pub async fn join(self) {
        if let Err(error) = self.task.await {
            tracing::error!(%error, "consumer task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;
    use std::sync::Mutex;

    use futures::FutureExt;

    use super::*;
    use crate::amqp::AmqpBus;
    use crate::memory::MemoryBus;

    const EVENT_TYPE: &str = "test.paid.v1";
    const ONE_ORGANISATION: Subscription = Subscription {
        consumer: "test",
        name: "one-organisation",
        producer: "bookkeeping",
        routing_keys: &[EVENT_TYPE],
        scope: Scope::One,
    };

    /// Records the organisations of the events it handles, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Uuid>>);

    impl Handler for Recorder {
        fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
            self.0.lock().expect("recorder").push(event.organisation_id);
            Box::pin(async { Ok(()) })
        }
    }

    /// Builds one empty event per organisation, in order.
    fn events_of(organisations: &[Uuid]) -> Vec<Event> {
        organisations
            .iter()
            .map(|organisation| Event::new(EVENT_TYPE, "/dk/test", *organisation, vec![]))
            .collect()
    }

    /// Publishes events of two organisations to a queue subscribed for one of them, and checks
    /// that only that one's arrive.
    async fn receives_one_organisation(bus: &Bus) {
        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let rejected = bus
            .subscribe(&ONE_ORGANISATION, recorder.clone(), shutdown.clone())
            .await
            .err()
            .expect("a scoped queue without an organisation is rejected");
        assert!(rejected.to_string().contains("subscribe_for"), "{rejected}");
        let other_scope = bus
            .subscribe_for(
                &crate::topology::BOOKKEEPING_BANK_MUTATIONS,
                Uuid::new_v4(),
                recorder.clone(),
                shutdown.clone(),
            )
            .await
            .err()
            .expect("a queue of every organisation cannot be limited to one");
        assert!(
            other_scope.to_string().contains("every organisation"),
            "{other_scope}"
        );

        let vendor = Uuid::new_v4();
        let customer = Uuid::new_v4();
        let consumer = bus
            .subscribe_for(
                &ONE_ORGANISATION,
                vendor,
                recorder.clone(),
                shutdown.clone(),
            )
            .await
            .expect("subscribe");
        let events = events_of(&[customer, vendor, customer, vendor]);
        bus.publish("bookkeeping", &events).await.expect("publish");

        // The queue keeps the order of publishing, so once the last event (the vendor's) has
        // arrived, a customer's event that the filter let through would have arrived before it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while recorder.0.lock().expect("recorder").len() < 2
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(*recorder.0.lock().expect("recorder"), vec![vendor, vendor]);
        shutdown.cancel();
        consumer.join().await;
    }

    const EVERY_ORGANISATION: Subscription = Subscription {
        consumer: "test",
        name: "overlapping",
        producer: "bookkeeping",
        routing_keys: &[EVENT_TYPE],
        scope: Scope::Every,
    };

    /// Keeps each batch for 400 ms and counts the most batches it was handling at once.
    struct Holding {
        in_flight: usize,
        running: std::sync::atomic::AtomicUsize,
        max_running: std::sync::atomic::AtomicUsize,
        handled: Mutex<Vec<Uuid>>,
    }

    impl Holding {
        fn new(in_flight: usize) -> Self {
            Self {
                in_flight,
                running: 0.into(),
                max_running: 0.into(),
                handled: Mutex::default(),
            }
        }
    }

    impl Handler for Holding {
        fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
            Box::pin(async move {
                let results = self.handle_batch(std::slice::from_ref(event)).await;
                results.into_iter().next().expect("one result")
            })
        }

        fn handle_batch<'a>(
            &'a self,
            events: &'a [Event],
        ) -> BoxFuture<'a, Vec<Result<(), HandlerError>>> {
            use std::sync::atomic::Ordering;
            Box::pin(async move {
                let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_running.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(400)).await;
                self.handled
                    .lock()
                    .expect("handled")
                    .extend(events.iter().map(|event| event.id));
                self.running.fetch_sub(1, Ordering::SeqCst);
                events.iter().map(|_| Ok(())).collect()
            })
        }

        fn batches_in_flight(&self) -> usize {
            self.in_flight
        }
    }

    /// Connects to the local RabbitMQ under names of this test alone, and declares the topology
    /// and `subscription`'s queue.
    async fn test_broker(subscription: &Subscription) -> AmqpBus {
        let url = std::env::var("DK_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
        let names = Names::new(format!("test-{}.", Uuid::new_v4().simple()));
        let broker = AmqpBus::connect(&url, names)
            .await
            .expect("RabbitMQ on 127.0.0.1");
        let bus = Bus::Amqp(broker.clone());
        bus.declare_topology().await.expect("declare");
        bus.declare_subscriptions(std::slice::from_ref(subscription))
            .await
            .expect("declare");
        broker
    }

    /// Deletes what [`test_broker`] declared.
    async fn remove_test_broker(broker: &AmqpBus, subscription: &Subscription) {
        Bus::Amqp(broker.clone())
            .delete_subscriptions(std::slice::from_ref(subscription))
            .await
            .expect("delete queue");
        broker.delete_topology().await.expect("delete topology");
    }

    /// Publishes events one at a time while the handler keeps each batch, and returns the
    /// maximum number of batches it handled at once. Checks that every event was handled once
    /// and acknowledged.
    async fn max_batches_at_once(broker: &AmqpBus, in_flight: usize) -> usize {
        let bus = Bus::Amqp(broker.clone());
        let handler = Arc::new(Holding::new(in_flight));
        let shutdown = CancellationToken::new();
        let consumer = bus
            .subscribe(&EVERY_ORGANISATION, handler.clone(), shutdown.clone())
            .await
            .expect("subscribe");

        let events = events_of(&[Uuid::new_v4(); 4]);
        for event in &events {
            bus.publish("bookkeeping", std::slice::from_ref(event))
                .await
                .expect("publish");
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while handler.handled.lock().expect("handled").len() < events.len()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.cancel();
        consumer.join().await;

        let mut handled = handler.handled.lock().expect("handled").clone();
        handled.sort();
        let mut published: Vec<Uuid> = events.iter().map(|event| event.id).collect();
        published.sort();
        assert_eq!(handled, published, "each event handled once");
        let left = broker
            .ready_count(&broker.names().queue(&EVERY_ORGANISATION))
            .await
            .expect("count");
        assert_eq!(left, 0, "every event acknowledged");
        handler
            .max_running
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A handler that allows two batches at once gets the next batch while it handles one. A
    /// handler with the default never gets two.
    #[tokio::test]
    async fn rabbitmq_consumer_overlaps_batches_when_allowed() {
        let broker = test_broker(&EVERY_ORGANISATION).await;
        let outcome = AssertUnwindSafe(async {
            (
                max_batches_at_once(&broker, 2).await,
                max_batches_at_once(&broker, 1).await,
            )
        })
        .catch_unwind()
        .await;
        remove_test_broker(&broker, &EVERY_ORGANISATION).await;
        match outcome {
            Ok((two, one)) => {
                assert_eq!(two, 2, "two batches at once when the handler allows two");
                assert_eq!(one, 1, "one batch at a time by default");
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    #[tokio::test]
    async fn memory_queue_receives_one_organisation() {
        let memory = MemoryBus::new(Names::new("test"));
        memory.declare_topology();
        memory.declare(&[ONE_ORGANISATION]);
        receives_one_organisation(&Bus::Memory(memory)).await;
    }

    #[tokio::test]
    async fn memory_queue_keeps_events_until_subscribed() {
        let memory = MemoryBus::new(Names::new("test"));
        memory.declare(&[ONE_ORGANISATION]);
        let bus = Bus::Memory(memory);
        let vendor = Uuid::new_v4();
        let customer = Uuid::new_v4();
        let events = events_of(&[customer, vendor]);
        // A publish returns once the consumer has settled the events, so it runs beside the
        // subscription.
        let publishing = tokio::spawn({
            let bus = bus.clone();
            async move { bus.publish("bookkeeping", &events).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;

        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let consumer = bus
            .subscribe_for(
                &ONE_ORGANISATION,
                vendor,
                recorder.clone(),
                shutdown.clone(),
            )
            .await
            .expect("subscribe");
        publishing.await.expect("task").expect("publish");
        assert_eq!(
            *recorder.0.lock().expect("recorder"),
            vec![customer, vendor]
        );
        shutdown.cancel();
        consumer.join().await;
    }

    /// Publishes more events in one call than a relay round takes, and checks that each arrives
    /// once, in the order of publishing.
    async fn keeps_the_order_of_one_publish(bus: &Bus) {
        let recorder = Arc::new(Recorder::default());
        let shutdown = CancellationToken::new();
        let consumer = bus
            .subscribe(&EVERY_ORGANISATION, recorder.clone(), shutdown.clone())
            .await
            .expect("subscribe");
        // The organisation ids number the events, because the recorder keeps those.
        let numbers: Vec<Uuid> = (1..=1_234u128).map(Uuid::from_u128).collect();
        bus.publish("bookkeeping", &events_of(&numbers))
            .await
            .expect("publish");

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while recorder.0.lock().expect("recorder").len() < numbers.len()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.cancel();
        consumer.join().await;
        assert_eq!(*recorder.0.lock().expect("recorder"), numbers);
    }

    #[tokio::test]
    async fn rabbitmq_keeps_the_order_of_one_publish() {
        let broker = test_broker(&EVERY_ORGANISATION).await;
        let outcome = AssertUnwindSafe(keeps_the_order_of_one_publish(&Bus::Amqp(broker.clone())))
            .catch_unwind()
            .await;
        remove_test_broker(&broker, &EVERY_ORGANISATION).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    #[tokio::test]
    async fn rabbitmq_queue_receives_one_organisation() {
        let broker = test_broker(&ONE_ORGANISATION).await;
        let bus = Bus::Amqp(broker.clone());
        // An earlier release bound the queue to the producer's exchange itself. Subscribing
        // removes that binding, or every organisation's events would still arrive.
        broker
            .bind_directly(&ONE_ORGANISATION)
            .await
            .expect("direct binding");

        // The broker is cleaned up also when the scenario fails.
        let outcome = AssertUnwindSafe(receives_one_organisation(&bus))
            .catch_unwind()
            .await;
        remove_test_broker(&broker, &ONE_ORGANISATION).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}
