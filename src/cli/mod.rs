//! The command line: a thin adapter from arguments to the library.

use clap::{Parser, Subcommand};

pub mod ctr;
pub mod images;

use crate::server::config::{ServerArgs, ServerConfig};

#[derive(Parser, Debug)]
#[command(name = "coracle", version, about = "A Kubernetes distribution in one binary")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the control plane (and, unless --disable-agent, this machine's node)
    Server(ServerArgs),
    /// Manage the images of a data dir: import, pull, ls, rm, prune, inspect
    Images(images::ImagesArgs),
    /// Run and manage containers on this machine
    Ctr(ctr::CtrArgs),
    /// Internal: the helper process that owns one container
    #[command(hide = true)]
    Shim(ShimArgs),
    /// Internal: PID 1 of a pod's shared process namespace
    #[command(hide = true)]
    Pidns(PidnsArgs),
}

#[derive(clap::Args, Debug)]
pub struct PidnsArgs {
    /// The pod's uid (only to tell the process apart)
    #[arg(long)]
    pub pod: String,
}

#[derive(clap::Args, Debug)]
pub struct ShimArgs {
    #[arg(long)]
    pub data_dir: std::path::PathBuf,
    #[arg(long)]
    pub id: String,
    /// Remove what a dead shim left behind, then exit
    #[arg(long)]
    pub cleanup: bool,
}

/// Parse arguments; a usage error becomes one line naming the problem and where help is.
pub fn parse() -> Result<Cli, i32> {
    match Cli::try_parse() {
        Ok(c) => Ok(c),
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    Err(if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { 2 } else { 0 })
                }
                _ => {
                    let text = e.render().to_string();
                    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
                    let mut first =
                        lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_string();
                    // "the following required arguments were not provided:" names them on the next line.
                    if first.ends_with(':')
                        && let Some(next) = lines.next()
                    {
                        first = format!("{first} {next}");
                    }
                    let sub = std::env::args().nth(1).filter(|a| !a.starts_with('-')).unwrap_or_default();
                    let help =
                        if sub.is_empty() { "coracle --help".to_string() } else { format!("coracle {sub} --help") };
                    eprintln!("coracle: {first} (see '{help}')");
                    Err(2)
                }
            }
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CORACLE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Logging for user tools: warnings only unless CORACLE_LOG says otherwise.
fn init_logging_quiet() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CORACLE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,coracle::runtime::images::import=error"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// An error and its causes as one line (causes the message already shows are not repeated).
fn one_line(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
    }
    s.replace('\n', " ")
}

/// Run a parsed command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Images(args) => {
            init_logging_quiet();
            match images::run(args) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("coracle: {}", one_line(&e));
                    1
                }
            }
        }
        Command::Ctr(args) => {
            init_logging_quiet();
            ctr::run(args)
        }
        Command::Shim(args) if args.cleanup => crate::runtime::container::shim::cleanup(&args.data_dir, &args.id),
        Command::Shim(args) => crate::runtime::container::shim::run(&args.data_dir, &args.id),
        Command::Pidns(_) => crate::kubelet::pidns::hold(),
        Command::Server(args) => {
            let cfg = match ServerConfig::resolve(&args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("coracle: {e}");
                    return 1;
                }
            };
            init_logging();
            let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("coracle: cannot start the async runtime: {e}");
                    return 1;
                }
            };
            match rt.block_on(crate::server::run(cfg)) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("coracle: {e}");
                    1
                }
            }
        }
    }
}
