//! Serving a service: health checking, reflection, a listener bound first, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

pub use tonic_health::server::HealthReporter;

/// The standard services that every server serves beside its own.
const STANDARD_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// gRPC reflection of the service named `service_name`, so tools such as grpcurl work unaided,
/// in both protocol versions: `v1`, and `v1alpha`, which older clients still use.
///
/// `file_descriptor_set` contains every contract of the system, so that messages shared between
/// services resolve. Only `service_name` and the standard health and reflection services are
/// listed, because the other services of the system are not served here.
pub fn reflection(
    file_descriptor_set: &[u8],
    service_name: &str,
) -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<
            impl tonic_reflection::server::v1::ServerReflection,
        >,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    tonic_reflection::server::Error,
> {
    let builder = || {
        std::iter::once(service_name)
            .chain(STANDARD_SERVICES)
            .fold(
                tonic_reflection::server::Builder::configure(),
                |builder, name| builder.with_service_name(name),
            )
            .register_encoded_file_descriptor_set(file_descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .include_reflection_service(false)
    };
    Ok((builder().build_v1()?, builder().build_v1alpha()?))
}

/// Binds the gRPC listener; binding before serving lets callers use port 0 and read the port.
pub async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// A server's routes behind the telemetry layer of every call.
pub type Router = tonic::transport::server::Router<
    tower_layer::Stack<crate::rpc_telemetry::RpcTelemetryLayer, tower_layer::Identity>,
>;

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets in-flight calls finish
/// within `grace`.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: CancellationToken,
    grace: Duration,
) -> Result<(), tonic::transport::Error> {
    let stop = shutdown.clone();
    // Without TCP_NODELAY a response written in several HTTP/2 frames waits for the client's
    // delayed acknowledgement, about 40 ms per call.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = router.serve_with_incoming_shutdown(incoming, async move {
        stop.cancelled().await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "calls still running after the grace period, stopping anyway");
            Ok(())
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn termination_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// A gRPC server started by [`spawn`].
pub struct Serving {
    pub address: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

/// Failure to start a server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("failed to bind {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid reflection descriptors: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Starts a gRPC server with health checking and reflection plus the services that `add`
/// registers, and serves until `shutdown` is cancelled.
///
/// Health reports `service_name` NOT_SERVING until the listener is bound, SERVING while it
/// serves, and NOT_SERVING again as soon as shutdown begins, so that load balancers stop
/// routing calls during the grace period.
pub async fn spawn(
    service_name: &'static str,
    settings: &dk_config::GrpcSettings,
    file_descriptor_set: &'static [u8],
    shutdown: CancellationToken,
    add: impl FnOnce(Router) -> Router,
) -> Result<Serving, ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(service_name, tonic_health::ServingStatus::NotServing)
        .await;
    let (reflection_v1, reflection_v1alpha) = reflection(file_descriptor_set, service_name)?;
    let router = tonic::transport::Server::builder()
        .layer(crate::rpc_telemetry::RpcTelemetryLayer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let router = add(router);

    let (listener, address) = bind(settings.listen)
        .await
        .map_err(|source| ServeError::Bind {
            address: settings.listen,
            source,
        })?;
    health
        .set_service_status(service_name, tonic_health::ServingStatus::Serving)
        .await;
    tracing::info!(%address, service = service_name, "listening");

    let grace = Duration::from_secs(settings.shutdown_grace_seconds);
    let task = tokio::spawn(async move {
        let stopping = shutdown.clone();
        let reporter = health.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            reporter
                .set_service_status(service_name, tonic_health::ServingStatus::NotServing)
                .await;
        });
        if let Err(error) = serve(router, listener, shutdown, grace).await {
            tracing::error!(%error, service = service_name, "gRPC server failed");
        }
    });
    Ok(Serving { address, task })
}

/// Connects a service's database and runs `serve` on it. When `serve` fails, it cancels
/// `shutdown` so that the tasks started so far stop. It then closes the pool, so SQLite folds
/// its write-ahead log into the database file as at a normal stop.
pub async fn start_with_database<Serve, Started>(
    settings: &dk_config::DatabaseSettings,
    shutdown: &CancellationToken,
    serve: Serve,
) -> anyhow::Result<Running>
where
    Serve: FnOnce(sea_orm::DatabaseConnection) -> Started,
    Started: std::future::Future<Output = anyhow::Result<Running>>,
{
    let db = crate::database::connect(settings).await?;
    let started = serve(db.clone()).await;
    if started.is_err() {
        shutdown.cancel();
        if let Err(error) = db.close().await {
            tracing::warn!(%error, "failed to close the database connections");
        }
    }
    started
}

/// A started service: its gRPC address, its database and its background tasks.
pub struct Running {
    pub address: SocketAddr,
    pub db: sea_orm::DatabaseConnection,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until the server, relays and consumers have stopped after shutdown was requested,
    /// then closes the database pool. Closing the last connection lets SQLite checkpoint its
    /// write-ahead log into the database file and remove the `-wal` and `-shm` files.
    pub async fn wait(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "service task failed");
            }
        }
        if let Err(error) = self.db.close().await {
            tracing::warn!(%error, "failed to close the database connections");
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::{FileDescriptorProto, FileDescriptorSet, ServiceDescriptorProto};
    use tonic_reflection::pb::{v1, v1alpha};

    /// Contracts of two services, of which the server serves one.
    fn two_services() -> Vec<u8> {
        let service = |name: &str| ServiceDescriptorProto {
            name: Some(name.to_owned()),
            ..Default::default()
        };
        FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("test/v1/test.proto".into()),
                package: Some("test.v1".into()),
                service: vec![service("Served"), service("Elsewhere")],
                syntax: Some("proto3".into()),
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    /// Lists the services that reflection of protocol version `$version` (`v1` or `v1alpha`)
    /// reports over `$channel`, sorted. The two versions have the same messages in two modules.
    macro_rules! list_services {
        ($version:ident, $channel:expr) => {{
            use $version::server_reflection_request::MessageRequest;
            use $version::server_reflection_response::MessageResponse;
            let request = $version::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let response =
                $version::server_reflection_client::ServerReflectionClient::new($channel)
                    .server_reflection_info(tokio_stream::once(request))
                    .await
                    .expect("reflection call")
                    .into_inner()
                    .message()
                    .await
                    .expect("reflection response")
                    .expect("one reflection response");
            let Some(MessageResponse::ListServicesResponse(listed)) = response.message_response
            else {
                panic!(
                    "expected a list of services, got {:?}",
                    response.message_response
                );
            };
            let mut names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }};
    }

    #[tokio::test]
    async fn reflection_lists_own_services_only() {
        let (listener, address) = super::bind(([127, 0, 0, 1], 0).into()).await.expect("bind");
        let contracts = two_services();
        let (v1, v1alpha) = super::reflection(&contracts, "test.v1.Served").expect("reflection");
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(v1)
                .add_service(v1alpha)
                .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned()),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let expected = [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "test.v1.Served",
        ];
        assert_eq!(list_services!(v1, channel.clone()), expected);
        assert_eq!(list_services!(v1alpha, channel), expected);
        shutdown.cancel();
        server.await.expect("server task").expect("server");
    }
}
