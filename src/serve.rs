//! `coexist serve`: wiring. Loads the config, opens the store and the
//! directory, binds the listeners, prints the listening line, serves until
//! SIGINT/SIGTERM, lets in-flight requests finish, and closes the database.

use crate::config::{Config, Overrides};
use coexist_core::{Directory, SystemClock};
use coexist_store::SqliteStore;
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};

/// `coexist serve` arguments.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config file (default: ./coexist.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, admin token).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTP listen address (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// SIP listen address (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub sip: Option<String>,
}

/// The sockets the server uses, already bound (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// The HTTP listener.
    pub http: TcpListener,
    /// The SIP UDP socket.
    pub sip_udp: UdpSocket,
    /// The SIP TCP listener, on the same port as `sip_udp`
    /// (`coexist_sip::bind_udp_and_tcp` binds both).
    pub sip_tcp: TcpListener,
}

impl Listeners {
    /// Binds HTTP on `http`, and SIP UDP and TCP on one port of `sip`
    /// (port 0: any port, free for both).
    pub async fn bind(
        http: std::net::SocketAddr,
        sip: std::net::SocketAddr,
    ) -> Result<Listeners, ServeError> {
        let (sip_udp, sip_tcp) = coexist_sip::bind_udp_and_tcp(sip)
            .await
            .map_err(io(format!("binding sip {sip}")))?;
        Ok(Listeners {
            http: TcpListener::bind(http)
                .await
                .map_err(io(format!("binding http {http}")))?,
            sip_udp,
            sip_tcp,
        })
    }
}

/// A failure to start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store or directory did not open.
    #[error("directory: {0}")]
    Directory(#[from] coexist_core::DirectoryError),
    /// The store did not open.
    #[error("{0}")]
    Store(#[from] coexist_core::StoreError),
    /// The teams side did not open.
    #[error("teams: {0}")]
    Teams(String),
    /// Socket or file trouble.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// The admin token: configured, else the one in `DATA_DIR/admin-token`,
/// else a new one written there (mode 0600) and printed once.
fn admin_token(config: &Config) -> Result<String, ServeError> {
    if let Some(token) = &config.admin_token {
        return Ok(token.clone());
    }
    let path = config.data_dir.join("admin-token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let token = existing.trim().to_owned();
        if !token.is_empty() {
            return Ok(token);
        }
    }
    let token = coexist_core::credentials::random_secret("cxa_");
    write_secret(&path, &token).map_err(io(format!("writing {}", path.display())))?;
    println!(
        "coexist admin token (shown once; also in {}): {token}",
        path.display()
    );
    Ok(token)
}

fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")?;
    file.sync_all()
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed
/// now, before the listening line is printed, so a signal sent as soon as a
/// script sees that line is never the default (abrupt) one.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C: shutting down");
    })
}

/// Runs the server on bound `listeners` until `shutdown` resolves, then lets
/// in-flight requests finish and closes the database.
pub async fn run(
    config: &Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(io(format!("creating {}", config.data_dir.display())))?;
    let token = admin_token(config)?;
    let store = Arc::new(SqliteStore::open(&config.data_dir).await?);
    let directory = Arc::new(Directory::open(store.clone(), Arc::new(SystemClock), &token).await?);
    let http = listeners.http.local_addr().map_err(io("http address"))?;
    let sip = listeners.sip_udp.local_addr().map_err(io("sip address"))?;
    {
        let view = directory.read();
        tracing::info!(
            tenants = view.tenants().count(),
            users = view.total_users(),
            data_dir = %config.data_dir.display(),
            "directory loaded"
        );
    }
    // The sfb side (coexist-sip): UDP and TCP on the same address.
    let (sip_stop, sip_stopped) = tokio::sync::oneshot::channel::<()>();
    let sip_server = coexist_sip::SipServer::start(
        listeners.sip_udp,
        Some(listeners.sip_tcp),
        Arc::new(coexist_sip::CoreDirectory::new(directory.clone())),
        Box::new(coexist_sip::registrar::FileStore::new(
            config.data_dir.join("registrations.jsonl"),
        )),
        coexist_sip::SipConfig {
            session_idle: config.sip_session_idle,
            ..coexist_sip::SipConfig::new(sip)
        },
        async move {
            let _ = sip_stopped.await;
        },
    );
    // Interop: the teams side reaches sfb through the SIP edge and back.
    let endpoints = Arc::new(crate::interop::Endpoints::default());
    let sfb_port = Arc::new(crate::interop::SfbPort::new(
        sip_server.handle(),
        endpoints.clone(),
    ));
    let teams = teams_side(config, &directory, store, sfb_port.clone()).await?;
    sfb_port.attach(&teams);
    sip_server
        .handle()
        .attach_teams(Arc::new(crate::interop::TeamsPort::new(
            teams.clone(),
            endpoints,
        )));
    let router = coexist_http::router(coexist_http::AppState::new(directory.clone(), teams));
    println!("coexist listening http={http} sip={sip}");
    std::io::stdout().flush().map_err(io("stdout"))?;
    // The peer address feeds log-in throttling per source.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listeners.http, service)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(io("http server"))?;
    let _ = sip_stop.send(());
    sip_server.wait().await;
    directory.close().await;
    tracing::info!("stopped; database closed");
    Ok(())
}

/// The teams side (chats, events, presence, calls) over the same SQLite
/// store, reaching sfb users through `sfb` (the interop port).
async fn teams_side(
    config: &Config,
    directory: &Arc<Directory>,
    store: Arc<SqliteStore>,
    sfb: Arc<crate::interop::SfbPort>,
) -> Result<Arc<coexist_core::Teams>, ServeError> {
    coexist_core::Teams::open(
        directory.clone(),
        store,
        Arc::new(SystemClock),
        config.teams.clone(),
        sfb,
    )
    .await
    .map_err(|e| ServeError::Teams(e.to_string()))
}

/// `coexist serve`.
pub fn serve(args: &ServeArgs) -> Result<(), ServeError> {
    let overrides = Overrides {
        data_dir: args.data_dir.clone(),
        http: args.http.clone(),
        sip: args.sip.clone(),
    };
    let config = Config::load(
        args.config.as_deref(),
        &|key| std::env::var(key).ok(),
        &overrides,
    )?;
    tracing_subscriber::fmt()
        .with_max_level(config.log_level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io("tokio runtime"))?;
    runtime.block_on(async {
        let listeners = Listeners::bind(config.http, config.sip).await?;
        let shutdown = shutdown_signal().map_err(io("installing signal handlers"))?;
        run(&config, listeners, shutdown).await
    })
}
