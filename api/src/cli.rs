//! The `eservices` command: `serve` (default), `migrate`, `seed`, `openapi`, `token`.

use crate::auth::{DevTokenIssuer, TokenRequest};
use crate::config::{Mode, Settings};
use crate::startup::{Application, open_database};
use clap::{Parser, Subcommand};
use domain::identity::{LoginMethod, Pin, Role, Tin};
use domain::routing::DepartmentCode;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "eservices",
    about = "Azərişıq e-services: the API server and its tools",
    version
)]
struct Cli {
    /// A TOML file of settings (keys as listed below); the environment wins over it. Default:
    /// the file ESERVICES_CONFIG names, or none.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The command line with every setting described in `--help` (the root's and each command's):
/// the settings come from `config_reference`, so the help cannot fall behind them.
fn command_line() -> clap::Command {
    use clap::CommandFactory;
    let short = "Settings: environment variables or a --config TOML file; --help lists them all.";
    let long = crate::config_reference::help_text();
    let mut command = Cli::command()
        .after_help(short)
        .after_long_help(long.clone());
    for name in ["serve", "worker", "migrate", "seed", "token", "probe"] {
        let long = long.clone();
        command =
            command.mut_subcommand(name, move |sub| sub.after_help(short).after_long_help(long));
    }
    command
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server (the default).
    Serve,
    /// Deliver the outbox (SMS, e-mail, webhooks) without serving HTTP: for deployments that run
    /// the server with `DISPATCHER=off`. Several workers may run on one PostgreSQL.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load registry and billing data for the local adapters from a JSON file (idempotent).
    Seed {
        /// The seed file (docs/SEED_FORMAT.md).
        #[arg(long)]
        file: PathBuf,
    },
    /// Ask this instance's own health route over HTTP (HOST and PORT) and exit 0 when it
    /// answers 200: the container's health check, in an image without curl.
    Probe {
        /// The route to ask.
        #[arg(long, default_value = "/health/ready")]
        path: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Write the OpenAPI contract (production routes) as YAML.
    Openapi {
        /// Where to write; `-` for standard output.
        #[arg(long, default_value = "openapi.yaml")]
        output: String,
    },
    /// Print a development token signed with the key in the data folder: for an applicant
    /// (`--pin`) or a staff member (`--employee` with `--role operator --department …` or
    /// `--role supervisor`).
    Token {
        /// The applicant's PIN (FİN, 7 letters and digits), the token's subject.
        #[arg(long, value_parser = parse_pin, required_unless_present = "employee", conflicts_with = "employee")]
        pin: Option<Pin>,
        /// A staff member's employee id, the token's subject.
        #[arg(long)]
        employee: Option<String>,
        /// An operator's department code (e.g. BAKI-SEBEKE).
        #[arg(long, value_parser = parse_department)]
        department: Option<DepartmentCode>,
        /// The business (VÖEN, 10 digits) the applicant acts for.
        #[arg(long, value_parser = parse_tin)]
        tin: Option<Tin>,
        /// applicant, operator, supervisor or admin; repeat for several roles.
        #[arg(long = "role", value_parser = parse_role, default_value = "applicant")]
        roles: Vec<Role>,
        /// How the applicant signed in: e-signature, asan-imza or password.
        #[arg(long, value_parser = parse_login_method, default_value = "asan-imza")]
        login_method: LoginMethod,
        /// Lifetime in minutes.
        #[arg(long, default_value_t = 60)]
        minutes: i64,
    },
}

fn parse_pin(raw: &str) -> Result<Pin, String> {
    Pin::parse(raw).map_err(|e| e.to_string())
}

fn parse_department(raw: &str) -> Result<DepartmentCode, String> {
    DepartmentCode::parse(raw).map_err(|e| e.to_string())
}

fn parse_tin(raw: &str) -> Result<Tin, String> {
    Tin::parse(raw).map_err(|e| e.to_string())
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| "one of applicant, operator, supervisor, admin".to_owned())
}

fn parse_login_method(raw: &str) -> Result<LoginMethod, String> {
    LoginMethod::parse(raw).ok_or_else(|| "one of e-signature, asan-imza, password".to_owned())
}

/// Runs the command line; the process exit code.
pub fn run() -> ExitCode {
    let cli = match command_line()
        .try_get_matches()
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        // --help and --version print and end here too, with success.
        Err(error) => error.exit(),
    };
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => return fail(&error.to_string()),
    };
    crate::telemetry::init(settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Worker => worker(&settings),
        Command::Migrate => migrate(&settings),
        Command::Seed { file } => seed(&settings, &file),
        Command::Openapi { output } => write_openapi(&output),
        Command::Probe { path, timeout } => probe(&settings, &path, timeout),
        Command::Token {
            pin,
            employee,
            department,
            tin,
            roles,
            login_method,
            minutes,
        } => {
            // A staff token is asked for with --employee; its default role is then operator.
            let staff = employee.is_some();
            let roles = if staff && roles == [Role::Applicant] {
                vec![Role::Operator]
            } else {
                roles
            };
            let subject = pin.map(|p| p.to_string()).or(employee).unwrap_or_default();
            if roles.contains(&Role::Operator)
                && !roles.contains(&Role::Supervisor)
                && department.is_none()
            {
                return fail("an operator's token names the department: add --department");
            }
            token(
                &settings,
                &TokenRequest {
                    subject,
                    tin,
                    roles,
                    login_method,
                    department,
                    lifetime_seconds: minutes * 60,
                },
            )
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

#[allow(clippy::print_stderr)]
fn fail(message: &str) -> ExitCode {
    eprintln!("eservices: {message}");
    ExitCode::FAILURE
}

#[allow(clippy::print_stdout)]
fn serve(settings: Settings) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let host = settings.host.clone();
        let mode = settings.mode;
        let backend = settings.database_url.split("://").next().unwrap_or_default().to_owned();
        let application = Application::build(settings).await.map_err(|e| e.to_string())?;
        let base = format!("http://{host}:{}", application.port());
        println!("Azərişıq e-services listening on {base} ({backend}, {mode:?} mode)");
        println!("  Swagger UI:  {base}/swagger-ui/");
        println!("  OpenAPI:     {base}{}", crate::startup::OPENAPI_JSON_PATH);
        if mode == Mode::Development {
            println!("  Get a token: cargo run --release -- token --pin 5R7KQ2M");
            println!("               or POST {base}/api/v1/dev/tokens {{\"pin\": \"5R7KQ2M\"}} (demo PINs: docs/DEMO_DATA.md)");
        }
        application.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn worker(settings: &Settings) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let database = open_database(settings).map_err(|e| e.to_string())?;
    let links = crate::startup::document_links(settings).map_err(|e| e.to_string())?;
    let dispatcher = notifications::Dispatcher::new(&database, &settings.notifications, links)?;
    runtime.block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut running = tokio::spawn(dispatcher.run(stopped));
        tokio::select! {
            // A dispatcher that ended by itself (a panic) ends the process, to be restarted.
            ended = &mut running => {
                return Err(format!("the dispatcher ended unexpectedly: {ended:?}"));
            }
            () = crate::startup::shutdown_signal() => {}
        }
        tracing::info!("stopping after the batch under way");
        let _ = stop.send(true);
        let _ = running.await;
        Ok(())
    })
}

#[allow(clippy::print_stdout)]
fn migrate(settings: &Settings) -> Result<(), String> {
    let database = open_database(settings).map_err(|e| e.to_string())?;
    println!(
        "database at the latest migration ({})",
        database.backend().as_str()
    );
    Ok(())
}

#[allow(clippy::print_stdout)]
fn seed(settings: &Settings, file: &std::path::Path) -> Result<(), String> {
    let json = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let seed = persistence::seed::SeedFile::from_json(&json).map_err(|e| e.to_string())?;
    let database = open_database(settings).map_err(|e| e.to_string())?;
    let summary = persistence::seed::load(&database, &seed).map_err(|e| e.to_string())?;
    println!("loaded {summary:?}");
    Ok(())
}

/// One HTTP/1.1 GET to this instance: the answer's status line must say 200.
#[allow(clippy::print_stdout)]
fn probe(settings: &Settings, path: &str, timeout_seconds: u64) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
    if !path.starts_with('/')
        || path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(format!("--path {path:?}: a route such as /health/ready"));
    }
    let timeout = std::time::Duration::from_secs(timeout_seconds.clamp(1, 60));
    // A server listening on every address is asked on loopback.
    let address: SocketAddr = match settings.host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, settings.port).into(),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, settings.port).into(),
        Ok(ip) => (ip, settings.port).into(),
        Err(_) => (settings.host.as_str(), settings.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve HOST={}: {e}", settings.host))?
            .next()
            .ok_or_else(|| format!("HOST={} has no address", settings.host))?,
    };
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("{address}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: eservices-probe\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{address}: {e}"))?;
    let mut head = [0_u8; 64];
    let read = stream
        .read(&mut head)
        .map_err(|e| format!("{address}: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status_line = status_line.lines().next().unwrap_or_default();
    if status_line.starts_with("HTTP/1.1 200 ") {
        println!("{path}: {status_line}");
        Ok(())
    } else {
        Err(format!("{path} answered {status_line:?}"))
    }
}

#[allow(clippy::print_stdout)]
fn write_openapi(output: &str) -> Result<(), String> {
    let yaml = crate::openapi::contract_yaml()?;
    if output == "-" {
        print!("{yaml}");
        Ok(())
    } else {
        std::fs::write(output, yaml).map_err(|e| format!("cannot write {output}: {e}"))
    }
}

#[allow(clippy::print_stdout)]
fn token(settings: &Settings, request: &TokenRequest) -> Result<(), String> {
    if settings.mode != Mode::Development {
        return Err("tokens are signed only in development mode".to_owned());
    }
    let issuer =
        DevTokenIssuer::new(&settings.jwt, &settings.data_dir).map_err(|e| e.to_string())?;
    let token = issuer
        .issue(request, chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}
