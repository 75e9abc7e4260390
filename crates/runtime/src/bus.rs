//! Choosing the message bus from the settings.

use dk_config::MessagingSettings;
use dk_messaging::amqp::AmqpBus;
use dk_messaging::memory::MemoryBus;
use dk_messaging::topology::Names;
use dk_messaging::{Bus, BusError};

/// Connects to RabbitMQ and declares the topology when an AMQP URL is set; otherwise returns a
/// fresh in-process bus, which only reaches consumers in the same process.
pub async fn connect(settings: &MessagingSettings) -> Result<Bus, BusError> {
    let names = Names::new(settings.name_prefix.clone());
    let bus = match settings
        .amqp_url
        .as_ref()
        .filter(|url| !url.expose().is_empty())
    {
        Some(url) => Bus::Amqp(AmqpBus::connect(url.expose(), names).await?),
        None => Bus::Memory(MemoryBus::new(names)),
    };
    bus.declare_topology().await?;
    Ok(bus)
}
