//! `eservices`: see `eservices --help`.

fn main() -> std::process::ExitCode {
    eservices_api::cli::run()
}
