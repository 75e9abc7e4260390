//! The RabbitMQ bus (AMQP 0-9-1 through `lapin`).
//!
//! Events travel as persistent messages with a protobuf body. The CloudEvents attributes are
//! AMQP properties (`message_id` = id, `type` = type, `app_id` = source, `timestamp` = time) and
//! also headers (`ce-id`, `ce-type`, `ce-source`, `ce-time`, `ce-specversion`), so consumers in
//! any language can read them. `dk-organisation-id` and the W3C `traceparent` are headers too.
//! Publishing waits for publisher confirms; consumers acknowledge manually.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, ExchangeBindOptions, ExchangeDeclareOptions,
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Event;
use crate::bus::{BusError, Handler, MAX_BATCH, Settlement, deliver_batch};
use crate::topology::{self, Names, Scope, Subscription};

/// The header that names an event's organisation, which [`Scope::One`] filters match.
const ORGANISATION_HEADER: &str = "dk-organisation-id";

/// Maximum number of unacknowledged deliveries per consumer: room for two full batches in
/// flight ([`Handler::batches_in_flight`]) and the next ones arriving meanwhile. With room for
/// only two, the batches after them came in halves while the two were handled.
const PREFETCH: u16 = 4 * MAX_BATCH as u16;

/// A connection to RabbitMQ with one confirming publisher channel.
#[derive(Clone)]
pub struct AmqpBus {
    url: Arc<str>,
    names: Names,
    publisher: Arc<Mutex<Option<(Connection, Channel)>>>,
}

impl AmqpBus {
    /// Connects once, so that an unreachable broker fails the start.
    pub async fn connect(url: &str, names: Names) -> Result<Self, BusError> {
        let bus = Self {
            url: url.into(),
            names,
            publisher: Arc::default(),
        };
        let connection = bus.open_connection().await?;
        let channel = bus.open_confirming_channel(&connection).await?;
        *bus.publisher.lock().await = Some((connection, channel));
        Ok(bus)
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Declares every exchange, queue, binding and dead-letter queue.
    pub async fn declare_topology(&self) -> Result<(), BusError> {
        self.declare(topology::SUBSCRIPTIONS).await
    }

    /// Declares the producers' exchanges and the queues of `subscriptions`, with their
    /// bindings and dead-letter queues.
    pub async fn declare(&self, subscriptions: &[Subscription]) -> Result<(), BusError> {
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        for producer in topology::PRODUCERS {
            self.declare_exchange(
                &channel,
                &self.names.exchange(producer),
                ExchangeKind::Topic,
            )
            .await?;
        }
        for subscription in subscriptions {
            self.declare_subscription(&channel, subscription).await?;
        }
        let _ = connection.close(200, "topology declared".into()).await;
        Ok(())
    }

    async fn declare_subscription(
        &self,
        channel: &Channel,
        subscription: &Subscription,
    ) -> Result<(), BusError> {
        let queue = self.names.queue(subscription);
        let dead_letter_exchange = self.names.dead_letter_exchange(subscription);
        let dead_letter_queue = self.names.dead_letter_queue(subscription);
        let durable_queue = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };

        self.declare_exchange(channel, &dead_letter_exchange, ExchangeKind::Direct)
            .await?;
        channel
            .queue_declare(
                dead_letter_queue.as_str().into(),
                durable_queue,
                quorum_arguments(),
            )
            .await
            .map_err(|e| self.error(e))?;
        channel
            .queue_bind(
                dead_letter_queue.as_str().into(),
                dead_letter_exchange.as_str().into(),
                queue.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.error(e))?;

        let mut arguments = quorum_arguments();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(dead_letter_exchange.as_str().into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(queue.as_str().into()),
        );
        channel
            .queue_declare(queue.as_str().into(), durable_queue, arguments)
            .await
            .map_err(|e| self.error(e))?;
        let producer = self.names.exchange(subscription.producer);
        match subscription.scope {
            Scope::Every => self.bind_to_producer(channel, subscription).await?,
            // The queue's binding to the filter names the organisation. Only the consumer has
            // that id, so it adds the binding when it subscribes.
            Scope::One => {
                let filter = self.names.filter_exchange(subscription);
                self.declare_exchange(channel, &filter, ExchangeKind::Headers)
                    .await?;
                for routing_key in subscription.routing_keys {
                    channel
                        .exchange_bind(
                            filter.as_str().into(),
                            producer.as_str().into(),
                            (*routing_key).into(),
                            ExchangeBindOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                        .map_err(|e| self.error(e))?;
                }
            }
        }
        Ok(())
    }

    async fn declare_exchange(
        &self,
        channel: &Channel,
        name: &str,
        kind: ExchangeKind,
    ) -> Result<(), BusError> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(name.into(), kind, durable, FieldTable::default())
            .await
            .map_err(|e| self.error(e))
    }

    /// Binds a [`Scope::One`] queue to its filter for `organisation`'s events. It also removes any
    /// direct binding to the producer's exchange, which earlier releases made and which would
    /// deliver every organisation's events. Both steps are safe to repeat.
    ///
    /// NOTE: during a rolling update, a service of an older release that starts after billing
    /// binds the queue directly again, and billing receives every payment until it restarts.
    async fn bind_organisation(
        &self,
        subscription: &Subscription,
        organisation: Uuid,
    ) -> Result<(), BusError> {
        let queue = self.names.queue(subscription);
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        let mut arguments = FieldTable::default();
        arguments.insert("x-match".into(), AMQPValue::LongString("all".into()));
        arguments.insert(
            ORGANISATION_HEADER.into(),
            AMQPValue::LongString(organisation.to_string().into()),
        );
        channel
            .queue_bind(
                queue.as_str().into(),
                self.names.filter_exchange(subscription).as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                arguments,
            )
            .await
            .map_err(|e| self.error(e))?;
        for routing_key in subscription.routing_keys {
            channel
                .queue_unbind(
                    queue.as_str().into(),
                    self.names.exchange(subscription.producer).as_str().into(),
                    (*routing_key).into(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| self.error(e))?;
        }
        tracing::info!(queue, %organisation, "queue bound to its filter for one organisation");
        let _ = connection.close(200, "organisation bound".into()).await;
        Ok(())
    }

    /// Deletes every exchange and queue of this bus's names; for tests that share a broker.
    pub async fn delete_topology(&self) -> Result<(), BusError> {
        self.delete(topology::SUBSCRIPTIONS).await?;
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        for producer in topology::PRODUCERS {
            channel
                .exchange_delete(
                    self.names.exchange(producer).as_str().into(),
                    ExchangeDeleteOptions::default(),
                )
                .await
                .map_err(|e| self.error(e))?;
        }
        let _ = connection.close(200, "topology deleted".into()).await;
        Ok(())
    }

    /// Deletes the queues, dead-letter queues, dead-letter exchanges and filters of
    /// `subscriptions`.
    pub async fn delete(&self, subscriptions: &[Subscription]) -> Result<(), BusError> {
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        for subscription in subscriptions {
            for queue in [
                self.names.queue(subscription),
                self.names.dead_letter_queue(subscription),
            ] {
                channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await
                    .map_err(|e| self.error(e))?;
            }
            let mut exchanges = vec![self.names.dead_letter_exchange(subscription)];
            if subscription.scope == Scope::One {
                exchanges.push(self.names.filter_exchange(subscription));
            }
            for exchange in exchanges {
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
                    .map_err(|e| self.error(e))?;
            }
        }
        let _ = connection.close(200, "queues deleted".into()).await;
        Ok(())
    }

    /// Number of messages waiting in a subscription's dead-letter queue.
    pub async fn dead_letter_count(&self, subscription: &Subscription) -> Result<u32, BusError> {
        self.ready_count(&self.names.dead_letter_queue(subscription))
            .await
    }

    /// Number of messages in a queue that are not delivered to a consumer.
    pub(crate) async fn ready_count(&self, queue: &str) -> Result<u32, BusError> {
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        let queue = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.error(e))?;
        let _ = connection.close(200, "done".into()).await;
        Ok(queue.message_count())
    }

    pub(crate) async fn publish(&self, producer: &str, events: &[Event]) -> Result<(), BusError> {
        let mut publisher = self.publisher.lock().await;
        let usable = matches!(&*publisher, Some((connection, channel)) if connection.status().connected() && channel.status().connected());
        if !usable {
            let connection = self.open_connection().await?;
            let channel = self.open_confirming_channel(&connection).await?;
            *publisher = Some((connection, channel));
        }
        let Some((_, channel)) = publisher.as_ref() else {
            return Err(BusError::Closed);
        };

        let result = self.publish_on(channel, producer, events).await;
        if result.is_err() {
            // Open a fresh channel next time rather than reuse one in an unknown state.
            *publisher = None;
        }
        result
    }

    async fn publish_on(
        &self,
        channel: &Channel,
        producer: &str,
        events: &[Event],
    ) -> Result<(), BusError> {
        let exchange = self.names.exchange(producer);
        // lapin queues a message's frames when its publish future is first polled, and the
        // future then waits until lapin's I/O thread has written them. Awaiting each publish
        // in turn cost two thread wake-ups per message. So every future is polled once, in the
        // order of the events, which queues all frames in that order for the I/O thread to
        // write in one go. The futures are awaited afterwards.
        let mut writes = Vec::with_capacity(events.len());
        for event in events {
            let mut write = Box::pin(channel.basic_publish(
                exchange.as_str().into(),
                event.event_type.as_str().into(),
                BasicPublishOptions::default(),
                &event.payload,
                properties(event),
            ));
            let written = match futures::poll!(write.as_mut()) {
                Poll::Ready(result) => Some(result.map_err(|e| self.error(e))?),
                Poll::Pending => None,
            };
            writes.push((event.id, write, written));
        }
        let mut confirms = Vec::with_capacity(events.len());
        for (event_id, write, written) in writes {
            let confirm = match written {
                Some(confirm) => confirm,
                None => write.await.map_err(|e| self.error(e))?,
            };
            confirms.push((event_id, confirm));
        }
        for (event_id, confirm) in confirms {
            let confirmation = confirm.await.map_err(|e| self.error(e))?;
            if !confirmation.is_ack() {
                return Err(BusError::NotConfirmed {
                    event_id,
                    reason: "the broker answered with a negative acknowledgement".into(),
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn subscribe(
        &self,
        subscription: &Subscription,
        organisation: Option<Uuid>,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError> {
        let queue = self.names.queue(subscription);
        if let Some(organisation) = organisation {
            self.bind_organisation(subscription, organisation).await?;
        }
        // The first connection is made here so that a broker that is down fails the start.
        let first = self.open_consumer(&queue).await?;
        let bus = self.clone();
        Ok(tokio::spawn(async move {
            let mut next = Some(first);
            let mut delay = Duration::from_millis(200);
            while !shutdown.is_cancelled() {
                let consumer = match next.take() {
                    Some(consumer) => consumer,
                    None => match bus.open_consumer(&queue).await {
                        Ok(consumer) => {
                            delay = Duration::from_millis(200);
                            consumer
                        }
                        Err(error) => {
                            tracing::warn!(%error, queue, "failed to reconnect the consumer, retrying");
                            tokio::select! {
                                _ = tokio::time::sleep(delay) => {}
                                _ = shutdown.cancelled() => break,
                            }
                            delay = (delay * 2).min(Duration::from_secs(10));
                            continue;
                        }
                    },
                };
                bus.consume(consumer, handler.as_ref(), &queue, &shutdown)
                    .await;
            }
        }))
    }

    async fn open_consumer(&self, queue: &str) -> Result<(Connection, lapin::Consumer), BusError> {
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await
            .map_err(|e| self.error(e))?;
        let consumer = channel
            .basic_consume(
                queue.into(),
                format!("{queue}.{}", Uuid::new_v4()).as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.error(e))?;
        Ok((connection, consumer))
    }

    /// Handles deliveries until the stream ends (connection lost) or shutdown.
    ///
    /// Up to [`Handler::batches_in_flight`] batches are handled at once. They are settled in
    /// the order they arrived, so acknowledging a batch with `multiple` never covers a delivery
    /// of a later batch. At shutdown or a lost connection the batches in flight finish first.
    async fn consume(
        &self,
        (connection, mut consumer): (Connection, lapin::Consumer),
        handler: &dyn Handler,
        queue: &str,
        shutdown: &CancellationToken,
    ) {
        let limit = handler.batches_in_flight().max(1);
        let mut in_flight: FuturesOrdered<BoxFuture<'_, (Vec<Delivery>, Vec<Settlement>)>> =
            FuturesOrdered::new();
        let mut open = true;
        loop {
            if !open || shutdown.is_cancelled() {
                while let Some((deliveries, settlements)) = in_flight.next().await {
                    settle(queue, &deliveries, settlements).await;
                }
                break;
            }
            tokio::select! {
                Some((deliveries, settlements)) = in_flight.next(), if !in_flight.is_empty() => {
                    open = settle(queue, &deliveries, settlements).await;
                }
                next = consumer.next(), if in_flight.len() < limit => {
                    let first = match next {
                        Some(Ok(delivery)) => delivery,
                        Some(Err(error)) => {
                            tracing::warn!(%error, queue, "consumer connection failed, reconnecting");
                            open = false;
                            continue;
                        }
                        None => {
                            open = false;
                            continue;
                        }
                    };
                    // Take what else has arrived, so the handler can process it in one
                    // transaction.
                    let mut deliveries = vec![first];
                    while deliveries.len() < MAX_BATCH {
                        match consumer.next().now_or_never() {
                            Some(Some(Ok(delivery))) => deliveries.push(delivery),
                            Some(Some(Err(error))) => {
                                tracing::warn!(%error, queue, "consumer connection failed, reconnecting");
                                open = false;
                                break;
                            }
                            Some(None) => {
                                open = false;
                                break;
                            }
                            None => break,
                        }
                    }
                    in_flight.push_back(
                        async move {
                            let settlements =
                                handle_deliveries(handler, &deliveries, queue, shutdown).await;
                            (deliveries, settlements)
                        }
                        .boxed(),
                    );
                }
                _ = shutdown.cancelled() => {}
            }
        }
        let _ = connection.close(200, "consumer stopped".into()).await;
    }

    async fn open_connection(&self) -> Result<Connection, BusError> {
        Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .map_err(|e| self.error(e))
    }

    async fn open_confirming_channel(&self, connection: &Connection) -> Result<Channel, BusError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.error(e))?;
        Ok(channel)
    }

    /// Binds a subscription's queue straight to its producer's exchange, as releases before
    /// [`Scope::One`] did.
    #[cfg(test)]
    pub(crate) async fn bind_directly(&self, subscription: &Subscription) -> Result<(), BusError> {
        let connection = self.open_connection().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.error(e))?;
        self.bind_to_producer(&channel, subscription).await?;
        let _ = connection.close(200, "bound".into()).await;
        Ok(())
    }

    /// Binds a subscription's queue to its producer's exchange, once per routing key.
    async fn bind_to_producer(
        &self,
        channel: &Channel,
        subscription: &Subscription,
    ) -> Result<(), BusError> {
        for routing_key in subscription.routing_keys {
            channel
                .queue_bind(
                    self.names.queue(subscription).as_str().into(),
                    self.names.exchange(subscription.producer).as_str().into(),
                    (*routing_key).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn error(&self, source: lapin::Error) -> BusError {
        BusError::Amqp {
            url: dk_config::redact_url(&self.url),
            source,
        }
    }
}

/// Quorum queues replicate across the cluster's nodes and also work on a single node.
fn quorum_arguments() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

fn properties(event: &Event) -> BasicProperties {
    let mut headers = FieldTable::default();
    let mut text = |name: &str, value: &str| {
        headers.insert(
            ShortString::from(name),
            AMQPValue::LongString(LongString::from(value)),
        );
    };
    text("ce-specversion", "1.0");
    text("ce-id", &event.id.to_string());
    text("ce-type", &event.event_type);
    text("ce-source", &event.source);
    text(
        "ce-time",
        &event
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    );
    text(ORGANISATION_HEADER, &event.organisation_id.to_string());
    if let Some(traceparent) = &event.traceparent {
        text("traceparent", traceparent);
    }
    BasicProperties::default()
        .with_message_id(event.id.to_string().as_str().into())
        .with_type(event.event_type.as_str().into())
        .with_app_id(event.source.as_str().into())
        .with_timestamp(event.time.timestamp().max(0) as u64)
        .with_content_type("application/protobuf".into())
        .with_delivery_mode(2)
        .with_headers(headers)
}

/// Decodes a batch of deliveries and runs the handler on those that decode; returns one
/// settlement per delivery.
async fn handle_deliveries(
    handler: &dyn Handler,
    deliveries: &[Delivery],
    queue: &str,
    shutdown: &CancellationToken,
) -> Vec<Settlement> {
    let mut settlements: Vec<Option<Settlement>> = deliveries.iter().map(|_| None).collect();
    let mut events = Vec::with_capacity(deliveries.len());
    let mut positions = Vec::with_capacity(deliveries.len());
    for (position, delivery) in deliveries.iter().enumerate() {
        match event_from_delivery(delivery) {
            Ok(event) => {
                events.push(event);
                positions.push(position);
            }
            Err(reason) => {
                tracing::error!(queue, error = %reason, "undecodable message, moving it to the dead-letter queue");
                settlements[position] = Some(Settlement::DeadLetter);
            }
        }
    }
    let handled = deliver_batch(handler, &events, queue, shutdown).await;
    for (position, settlement) in positions.into_iter().zip(handled) {
        settlements[position] = Some(settlement);
    }
    settlements
        .into_iter()
        .map(|settlement| settlement.unwrap_or(Settlement::Requeue))
        .collect()
}

/// Settles a handled batch with the broker; returns false when the channel failed. The broker
/// then redelivers what is unsettled, and the handler skips what it processed.
async fn settle(queue: &str, deliveries: &[Delivery], settlements: Vec<Settlement>) -> bool {
    // A batch that succeeded whole is acknowledged with one frame: `multiple` covers every
    // earlier delivery on this channel, and the consumer settled those already.
    if settlements
        .iter()
        .all(|settlement| matches!(settlement, Settlement::Ack))
        && let Some(last) = deliveries.last()
    {
        if let Err(error) = last.ack(BasicAckOptions { multiple: true }).await {
            tracing::warn!(%error, queue, "failed to acknowledge a batch");
            return false;
        }
        return true;
    }
    for (delivery, settlement) in deliveries.iter().zip(settlements) {
        let result = match settlement {
            Settlement::Ack => delivery.ack(BasicAckOptions::default()).await,
            Settlement::DeadLetter => delivery.reject(BasicRejectOptions { requeue: false }).await,
            Settlement::Requeue => {
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, queue, "failed to settle a delivery");
            return false;
        }
    }
    true
}

fn event_from_delivery(delivery: &Delivery) -> Result<Event, String> {
    let properties = &delivery.properties;
    let headers = properties.headers().as_ref();
    let header = |name: &str| -> Option<String> {
        headers
            .and_then(|table| table.inner().get(name))
            .and_then(|value| match value {
                AMQPValue::LongString(text) => Some(text.to_string()),
                AMQPValue::ShortString(text) => Some(text.to_string()),
                _ => None,
            })
    };
    let id = properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .or_else(|| header("ce-id"))
        .ok_or("missing message id")?;
    let id = Uuid::parse_str(&id).map_err(|_| format!("message id {id:?} is not a UUID"))?;
    let event_type = header("ce-type")
        .or_else(|| properties.kind().as_ref().map(|kind| kind.to_string()))
        .ok_or("missing ce-type")?;
    let organisation_id = header(ORGANISATION_HEADER).ok_or("missing dk-organisation-id header")?;
    let organisation_id = Uuid::parse_str(&organisation_id)
        .map_err(|_| format!("organisation id {organisation_id:?} is not a UUID"))?;
    let time = header("ce-time")
        .and_then(|time| DateTime::parse_from_rfc3339(&time).ok())
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    Ok(Event {
        id,
        event_type,
        source: header("ce-source").unwrap_or_default(),
        time,
        organisation_id,
        payload: delivery.data.clone(),
        traceparent: header("traceparent"),
    })
}
