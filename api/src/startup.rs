//! Builds the application from settings: database, migrations, demo data, keys, adapters, and the
//! HTTP server bound to its port (0 picks a free one, for tests).

use crate::auth::{Authenticator, DevTokenIssuer, KeyError, ensure_dev_key_pair};
use crate::body::BodyLimit;
use crate::config::{DispatcherMode, Mode, Settings};
use crate::pdf::PdfRenderer;
use crate::routes;
use crate::state::{AppState, FixedClock, SystemClock};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use domain::back_office::BackOfficeService;
use domain::ports::Clock;
use domain::service::{ApplicantService, Ports};
use domain::service_level::{ServiceLevels, WorkingCalendar};
use notifications::Dispatcher;
use notifications::document_links::DocumentLinks;
use persistence::seed::{SeedError, SeedFile};
use persistence::{
    Database, DatabaseError, DieselApplicationStore, DieselDepartments, LocalRegistries,
    PoolOptions,
};
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerUiConfig, SwaggerUi};

/// The demo registry data, built into the binary so that `cargo run` needs no file.
pub const DEMO_SEED: &str = include_str!("../../demo/seed.json");

/// Azerbaijan's public holidays, built in; `HOLIDAYS_FILE` replaces them.
pub const DEFAULT_HOLIDAYS: &str = include_str!("../../config/holidays-az.json");

#[derive(serde::Deserialize)]
struct HolidaysFile {
    #[serde(default, rename = "about")]
    _about: Option<String>,
    holidays: Vec<chrono::NaiveDate>,
}

/// The service levels from the settings and the holiday calendar.
pub fn service_levels(settings: &Settings) -> Result<ServiceLevels, StartupError> {
    let json = match &settings.holidays_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| StartupError::Holidays(format!("{}: {e}", path.display())))?,
        None => DEFAULT_HOLIDAYS.to_owned(),
    };
    let file: HolidaysFile =
        serde_json::from_str(&json).map_err(|e| StartupError::Holidays(e.to_string()))?;
    Ok(ServiceLevels {
        calendar: WorkingCalendar::new(file.holidays),
        meter_damage_days: settings.meter_damage_working_days,
        account_change_days: settings.account_change_working_days,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("demo data: {0}")]
    Seed(#[from] SeedError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("documents: {0}")]
    Documents(String),
    #[error("identity provider keys: {0}")]
    Jwks(String),
    #[error("notifications: {0}")]
    Notifications(String),
    #[error("the holiday calendar is not valid: {0}")]
    Holidays(String),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the OpenAPI document cannot be serialised: {0}")]
    OpenApi(serde_json::Error),
}

/// Where the running service publishes its OpenAPI document (Swagger UI reads it from there).
pub const OPENAPI_JSON_PATH: &str = "/api-docs/openapi.json";

/// The OpenAPI document as served, serialised once at start-up.
#[derive(Debug)]
struct OpenApiJson(web::Bytes);

async fn serve_openapi_json(document: web::Data<OpenApiJson>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(document.0.clone())
}

/// Opens the database named by the settings (creating the data folder for SQLite) and applies
/// pending migrations.
pub fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    if settings.database_url.starts_with("sqlite://") {
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        })?;
    }
    let database = Database::connect(
        &settings.database_url,
        PoolOptions {
            max_size: settings.database_pool_size,
            acquire_timeout: settings.database_acquire_timeout,
            // A statement never waits for a lock longer than its request may run.
            lock_timeout: Some(settings.limits.request_timeout),
            async_reads: settings.database_async_reads,
        },
    )?;
    let applied = {
        let _setup = database.setup_lock()?;
        database.migrate()?
    };
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "migrations applied");
    }
    Ok(database)
}

/// Loads the demo data when the registry tables are empty (the first start).
fn load_demo_data_once(database: &Database) -> Result<(), StartupError> {
    let _setup = database.setup_lock()?;
    let registries = LocalRegistries::new(database.clone());
    if registries.has_data().map_err(SeedError::Unavailable)? {
        return Ok(());
    }
    let file = SeedFile::from_json(DEMO_SEED)?;
    let summary = persistence::seed::load(database, &file)?;
    tracing::info!(?summary, "demo data loaded");
    Ok(())
}

/// The document links' signer: the configured secret, or the development one in the data folder.
pub fn document_links(settings: &Settings) -> Result<DocumentLinks, StartupError> {
    let link_secret = match &settings.document_link_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => DocumentLinks::dev_secret(&settings.data_dir)
            .map_err(|e| StartupError::Documents(e.to_string()))?,
    };
    Ok(DocumentLinks::new(
        link_secret,
        chrono::TimeDelta::hours(settings.document_link_hours),
    ))
}

/// The state of one HTTP worker: the shared one with the worker's own async read pool (see
/// `persistence::connection::ReadPools`). Should that pool not build, the worker reads on the
/// start-up's pool, and says so.
fn worker_state(shared: &web::Data<AppState>, workers: usize) -> web::Data<AppState> {
    match persistence::DieselApplicationReads::for_worker(shared.database.clone(), workers) {
        Ok(reads) => web::Data::new(AppState {
            reads: domain::reads::ApplicationReading::new(reads),
            ..AppState::clone(shared)
        }),
        Err(error) => {
            tracing::error!(%error, "the worker's read pool: the shared one is used");
            shared.clone()
        }
    }
}

/// A built application, listening.
pub struct Application {
    port: u16,
    server: Server,
    stop: tokio::sync::watch::Sender<bool>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let database = open_database(&settings)?;
        if settings.mode == Mode::Development && settings.demo_data {
            load_demo_data_once(&database)?;
        }
        let authenticator = match &settings.jwt.jwks {
            Some(jwks) => {
                let keys = crate::jwks::JwksKeys::new(jwks.clone()).map_err(StartupError::Jwks)?;
                // The provider may be down at start: tokens then wait for the next refresh.
                if let Err(error) = keys.fetch().await {
                    tracing::warn!(%error, "the identity provider's keys could not be read at start");
                }
                tokio::spawn(keys.clone().keep_fresh());
                Authenticator::with_jwks(&settings.jwt, keys)
            }
            None => {
                let public_key = match &settings.jwt.public_key_file {
                    Some(path) => {
                        if settings.mode == Mode::Production {
                            crate::auth::refuse_development_key(path, &settings.data_dir)?;
                        }
                        path.clone()
                    }
                    None => ensure_dev_key_pair(&settings.data_dir)?,
                };
                Authenticator::new(&settings.jwt, &public_key)?
            }
        };
        let dev_issuer = match settings.mode {
            Mode::Development => Some(DevTokenIssuer::new(&settings.jwt, &settings.data_dir)?),
            Mode::Production => None,
        };
        let local = Arc::new(LocalRegistries::new(database.clone()));
        let outside = &settings.outside;
        let citizens: Arc<dyn domain::ports::CitizenRegistry> = match &outside.citizen_registry {
            Some(system) => Arc::new(integrations::HttpCitizenRegistry::new(
                integrations::HttpSystem::new("citizen-registry", system.clone()),
                outside.main_information_cache,
            )),
            None => local.clone(),
        };
        let billing: Arc<dyn domain::ports::Billing> = match &outside.billing {
            Some(system) => Arc::new(integrations::HttpBilling::new(
                integrations::HttpSystem::new("billing", system.clone()),
            )),
            None => local.clone(),
        };
        let properties: Arc<dyn domain::ports::PropertyRegistry> = match &outside.property_registry
        {
            Some(system) => Arc::new(integrations::HttpPropertyRegistry::new(
                integrations::HttpSystem::new("property-registry", system.clone()),
            )),
            None => local,
        };
        let clock: Arc<dyn Clock> = match settings.fixed_clock {
            Some(at) => Arc::new(FixedClock(at)),
            None => Arc::new(SystemClock),
        };
        let access_log: Arc<dyn domain::access_log::AccessLog> =
            Arc::new(persistence::DieselAccessLog::new(database.clone()));
        let recorded = Arc::new(crate::recorded_registries::RecordedRegistries {
            citizens,
            billing,
            properties,
            log: access_log.clone(),
        });
        let ports = Ports {
            citizens: recorded.clone(),
            billing: recorded.clone(),
            properties: recorded,
            departments: Arc::new(DieselDepartments::new(database.clone())),
            store: Arc::new(DieselApplicationStore::new(database.clone())),
            clock: clock.clone(),
            service_levels: service_levels(&settings)?,
            renderer: Arc::new(PdfRenderer::new().map_err(StartupError::Documents)?),
        };
        let document_links = document_links(&settings)?;
        let reads = persistence::DieselApplicationReads::new(database.clone())?;
        reads.check().await.map_err(|error| {
            StartupError::Database(persistence::DatabaseError::Connect(format!(
                "the async read pool: {}; DATABASE_ASYNC_READS=false reads on the blocking pool",
                error.reason
            )))
        })?;
        let state = AppState {
            reads: domain::reads::ApplicationReading::new(reads),
            service: ApplicantService::new(ports.clone()),
            back_office: BackOfficeService::new(ports),
            clock,
            mode: settings.mode,
            outbox: persistence::DieselOutbox::new(database.clone()),
            access_log,
            delegated_calls: persistence::DieselDelegatedCalls::new(database.clone()),
            sms_delivery_report_token: settings
                .notifications
                .sms_delivery_report_token
                .as_ref()
                .map(|s| s.expose().to_owned()),
            database: database.clone(),
            document_links: document_links.clone(),
            idempotency: persistence::IdempotencyKeys::new(database.clone()),
        };
        let dispatcher = Dispatcher::new(&database, &settings.notifications, document_links)
            .map_err(StartupError::Notifications)?;
        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let openapi = crate::openapi::openapi(settings.mode);
        let route_table = web::Data::new(routes::fallback::RouteTable::from_openapi(&openapi));
        // Serialised once and shared by the workers: the document is half a megabyte of YAML,
        // several megabytes as a tree, which Swagger UI's own route would keep once per worker
        // and serialise again on every request.
        let openapi_json = web::Data::new(OpenApiJson(web::Bytes::from(
            serde_json::to_vec(&openapi).map_err(StartupError::OpenApi)?,
        )));
        drop(openapi);
        let mode = settings.mode;
        let body_limit = BodyLimit(settings.max_body_bytes);
        let state = web::Data::new(state);
        // actix's own default, to share the read connections out between the workers.
        let workers = settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let authenticator = web::Data::new(authenticator);
        let dev_issuer = dev_issuer.map(web::Data::new);
        let cors_origins = settings.cors_allowed_origins.clone();
        let limits = &settings.limits;
        let rate_limiter = web::Data::new(crate::limits::RateLimiter::new(
            limits.rate_per_minute,
            limits.rate_burst,
        ));
        let request_timeout = web::Data::new(crate::limits::RequestTimeout(limits.request_timeout));
        let idempotency_times = web::Data::new(crate::idempotency::IdempotencyTimes {
            lease: limits.idempotency_lease,
            keep: limits.idempotency_keep,
        });
        let purge_keys = state.idempotency.clone();
        let metrics = web::Data::new(crate::metrics::Metrics::new(
            settings.metrics_token.clone(),
            settings.mode,
        ));
        let mut server = HttpServer::new(move || {
            // The first wrap is the innermost: the idempotency guard needs the token that the
            // rate limit verified, and the timeout's deadline is set in the read context.
            let mut app = App::new()
                .wrap(actix_web::middleware::from_fn(crate::idempotency::guard))
                .wrap(actix_web::middleware::from_fn(crate::limits::admit))
                .wrap(actix_web::middleware::from_fn(crate::read_context::scope))
                .wrap(crate::security::cors(&cors_origins))
                .wrap(actix_web::middleware::from_fn(
                    crate::translations::localize_problems,
                ))
                .wrap(actix_web::middleware::from_fn(crate::security::headers))
                .wrap(actix_web::middleware::from_fn(
                    crate::telemetry::echo_request_id,
                ))
                .wrap(actix_web::middleware::from_fn(crate::metrics::record))
                .wrap(TracingLogger::<crate::telemetry::PrivateRootSpan>::new())
                .app_data(metrics.clone())
                .app_data(worker_state(&state, workers))
                .app_data(authenticator.clone())
                .app_data(route_table.clone())
                .app_data(web::Data::new(body_limit))
                .app_data(rate_limiter.clone())
                .app_data(request_timeout.clone())
                .app_data(idempotency_times.clone())
                .app_data(web::QueryConfig::default().error_handler(routes::fallback::query_error))
                .app_data(web::PathConfig::default().error_handler(routes::fallback::path_error));
            if let Some(issuer) = &dev_issuer {
                app = app.app_data(issuer.clone());
            }
            let (app, _) = app
                .into_utoipa_app()
                .configure(routes::configure(mode))
                .split_for_parts();
            // No online validator badge: Swagger UI would load it as an image from a third
            // party, handing it the document's address; the page's CSP refuses it (a broken
            // image and a console error on every load under a real host name).
            app.app_data(openapi_json.clone())
                .route(OPENAPI_JSON_PATH, web::get().to(serve_openapi_json))
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}")
                        .config(SwaggerUiConfig::new([OPENAPI_JSON_PATH]).validator_url("none")),
                )
                .default_service(web::to(routes::fallback::route_not_found))
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: settings.host.clone(),
            source,
        })?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        // On SIGTERM the server stops accepting and gives the requests in flight this long to
        // finish; `run_until_stopped` then stops the background tasks. (actix-server treats
        // SIGINT and SIGQUIT as an immediate stop.)
        server = server.shutdown_timeout(limits.shutdown_timeout.as_secs());
        // actix's default of 5 s is shorter than most proxies' and clients' idle timeouts: a
        // connection the service closes just as a client reuses it fails that request (the
        // benchmark's open loop met it). See KEEP_ALIVE_SECONDS.
        server = server.keep_alive(if limits.keep_alive.is_zero() {
            actix_web::http::KeepAlive::Disabled
        } else {
            actix_web::http::KeepAlive::Timeout(limits.keep_alive)
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut background = vec![tokio::spawn(remove_expired_keys(
            purge_keys,
            stopped.clone(),
        ))];
        if settings.notifications.dispatcher == DispatcherMode::Embedded {
            background.push(tokio::spawn(dispatcher.run(stopped)));
        }
        Ok(Self {
            port,
            server: server.run(),
            stop,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until a signal (or the server handle) stops it, then stops the
    /// dispatcher after its batch under way; the database pool closes as the last handle on it
    /// is dropped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        tracing::info!("server stopped; stopping the background tasks");
        let _ = self.stop.send(true);
        for task in self.background {
            let _ = task.await;
        }
        tracing::info!("stopped");
        served
    }
}

/// Removes expired idempotency keys at start and every ten minutes, until stopped.
async fn remove_expired_keys(
    keys: persistence::IdempotencyKeys,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(600);
    while !*stop.borrow() {
        let keys = keys.clone();
        match web::block(move || keys.remove_expired(chrono::Utc::now())).await {
            Ok(Ok(removed)) if removed > 0 => {
                tracing::info!(removed, "expired idempotency keys removed")
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "expired idempotency keys could not be removed")
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            changed = stop.changed() => if changed.is_err() { break; }
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Application {
    /// Asks the server to stop as SIGTERM would: no new connections, requests in flight
    /// finish (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}
