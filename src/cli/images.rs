//! `coracle images …`: a thin adapter over `runtime::images`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::runtime::images::pull::LayerState;
use crate::runtime::images::{ImageStore, PullEvent, PullOptions, PullProgress, human_size};
use crate::runtime::paths::RuntimePaths;

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Data dir of the instance whose images these are
    #[arg(long, global = true, value_name = "DIR", default_value = "/var/lib/coracle")]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: ImagesCommand,
}

#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// Import docker-save or OCI image archives (.tar, .tar.gz, .tar.zst)
    Import {
        /// Archives to import
        #[arg(value_name = "FILE", required_unless_present = "airgap")]
        files: Vec<PathBuf>,
        /// Import the airgap folder (<data-dir>/agent/images) as the server does at start
        #[arg(long)]
        airgap: bool,
    },
    /// Pull an image from a registry (or the mirrors of registries.yaml)
    Pull {
        /// Image reference, e.g. busybox, 127.0.0.1:5000/busybox:1.36, name@sha256:…
        reference: String,
        /// Reach the image's registry over plain HTTP instead of HTTPS
        #[arg(long)]
        plain_http: bool,
        /// Mirrors, endpoints, auth and TLS, in k3s's format [default: /etc/coracle/registries.yaml]
        #[arg(long, value_name = "FILE")]
        registries_config: Option<PathBuf>,
        /// Seconds to wait for a connection or for data before giving up on a registry
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u64,
        /// Print only the result
        #[arg(short, long)]
        quiet: bool,
    },
    /// List images (REF, IMAGE ID, DIGEST, SIZE)
    #[command(alias = "list")]
    Ls {
        /// Print only image ids
        #[arg(short, long)]
        quiet: bool,
        /// Print full ids and digests
        #[arg(long)]
        no_trunc: bool,
    },
    /// Remove images by reference or id, freeing what nothing else uses
    #[command(alias = "rmi")]
    Rm {
        #[arg(value_name = "REF", required = true)]
        references: Vec<String>,
    },
    /// Remove untagged images and free content no image uses (--all: every image no container uses)
    Prune {
        #[arg(short, long)]
        all: bool,
    },
    /// Print everything known of an image, as JSON
    Inspect {
        #[arg(value_name = "REF")]
        reference: String,
    },
}

pub fn run(args: ImagesArgs) -> Result<()> {
    let paths = RuntimePaths::new(&args.data_dir);
    let images = ImageStore::open(&paths)
        .with_context(|| format!("cannot open the image store of {}", args.data_dir.display()))?;
    match args.command {
        ImagesCommand::Import { files, airgap } => {
            if airgap {
                let report = images.import_airgap();
                for i in &report.imported {
                    println!("imported {} {}", i.reference.as_deref().unwrap_or("<none>"), short(&i.id, 12));
                }
                if report.unchanged > 0 {
                    println!("{} archive(s) already imported", report.unchanged);
                }
                if let Some((_, e)) = report.failed.first() {
                    anyhow::bail!("{} airgap archive(s) not imported: {e}", report.failed.len());
                }
            }
            for f in files {
                for i in images.import(&f)? {
                    println!("imported {} {}", i.reference.as_deref().unwrap_or("<none>"), short(&i.id, 12));
                }
            }
        }
        ImagesCommand::Pull { reference, plain_http, registries_config, timeout, quiet } => {
            let progress: Option<Arc<dyn PullProgress>> = if quiet {
                None
            } else if std::io::stderr().is_terminal() {
                Some(Arc::new(Bars::default()))
            } else {
                Some(Arc::new(Lines::default()))
            };
            let opts = PullOptions {
                plain_http,
                registries_config,
                timeout: Duration::from_secs(timeout.max(1)),
                progress,
                ..PullOptions::default()
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let image = rt.block_on(images.pull(&reference, &opts))?;
            println!("pulled {} {} ({})", image.reference, short(&image.id, 12), image.manifest_digest);
        }
        ImagesCommand::Ls { quiet, no_trunc } => {
            let list = images.list()?;
            if quiet {
                let mut seen = std::collections::HashSet::new();
                for i in list.iter().filter(|i| seen.insert(i.id.clone())) {
                    println!("{}", i.id);
                }
                return Ok(());
            }
            let (idn, dn) = if no_trunc { (71, 71) } else { (13, 12) };
            let rows: Vec<[String; 4]> = list
                .iter()
                .map(|i| {
                    [
                        i.reference.clone().unwrap_or_else(|| "<none>".into()),
                        short(&i.id, idn),
                        short(&i.digest, dn),
                        human_size(i.size),
                    ]
                })
                .collect();
            print_table(["REF", "IMAGE ID", "DIGEST", "SIZE"], &rows);
        }
        ImagesCommand::Rm { references } => {
            let report = images.remove(&references)?;
            for r in &report.removed {
                println!("removed {r}");
            }
            print_freed(&report.freed);
        }
        ImagesCommand::Prune { all } => {
            let report = images.prune(all)?;
            for r in &report.removed {
                println!("removed {r}");
            }
            if report.kept_in_use > 0 {
                println!("kept {} image(s) in use by containers", report.kept_in_use);
            }
            print_freed(&report.freed);
        }
        ImagesCommand::Inspect { reference } => {
            let v = images.inspect(&reference)?;
            println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
        }
    }
    Ok(())
}

fn print_freed(f: &crate::runtime::images::gc::Freed) {
    println!("freed {} blob(s), {} snapshot(s), {}", f.blobs, f.snapshots, human_size(f.bytes));
}

/// The hex of a digest, cut to `n` characters (ids keep nothing else, like crictl).
fn short(digest: &str, n: usize) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if n >= 71 { digest.to_string() } else { hex.chars().take(n).collect() }
}

fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Progress as plain lines on stdout (not a terminal); stderr keeps only the error, if any.
#[derive(Default)]
struct Lines {
    started: Mutex<std::collections::HashSet<String>>,
}

impl PullProgress for Lines {
    fn event(&self, event: &PullEvent) {
        match event {
            PullEvent::Resolving { endpoint } => println!("resolving at {endpoint}"),
            PullEvent::EndpointFailed { endpoint, error } => println!("{endpoint} failed: {error}"),
            PullEvent::Resolved { digest, layers, size } => {
                println!("manifest {digest}: {layers} layer(s), {}", human_size(*size))
            }
            PullEvent::Layer { digest, size, state } => {
                let d = short(digest, 12);
                match state {
                    LayerState::Exists => println!("layer {d}: already here"),
                    LayerState::Downloading { .. } => {
                        if self.started.lock().expect("lock").insert(digest.clone()) {
                            println!("layer {d}: downloading {}", human_size(*size));
                        }
                    }
                    LayerState::Retrying { attempt, error } => {
                        println!("layer {d}: attempt {attempt} failed ({error}), resuming")
                    }
                    LayerState::Unpacking => println!("layer {d}: unpacking"),
                    LayerState::Done => println!("layer {d}: done"),
                }
            }
        }
    }
}

/// Progress as bars, one per layer (on a terminal).
#[derive(Default)]
struct Bars {
    multi: indicatif::MultiProgress,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl Bars {
    fn bar(&self, digest: &str, size: u64) -> indicatif::ProgressBar {
        let mut bars = self.bars.lock().expect("lock");
        bars.entry(digest.to_string())
            .or_insert_with(|| {
                let pb = self.multi.add(indicatif::ProgressBar::new(size));
                pb.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{prefix:.bold} [{bar:30.cyan/blue}] {bytes:>9}/{total_bytes:9} {msg}",
                    )
                    .expect("template")
                    .progress_chars("=> "),
                );
                pb.set_prefix(short(digest, 12));
                pb
            })
            .clone()
    }
}

impl PullProgress for Bars {
    fn event(&self, event: &PullEvent) {
        match event {
            PullEvent::Resolving { endpoint } => {
                let _ = self.multi.println(format!("resolving at {endpoint}"));
            }
            PullEvent::EndpointFailed { endpoint, error } => {
                let _ = self.multi.println(format!("{endpoint} failed: {error}"));
            }
            PullEvent::Resolved { digest, layers, size } => {
                let _ = self.multi.println(format!("manifest {digest}: {layers} layer(s), {}", human_size(*size)));
            }
            PullEvent::Layer { digest, size, state } => {
                let pb = self.bar(digest, *size);
                match state {
                    LayerState::Exists => {
                        pb.set_position(*size);
                        pb.finish_with_message("already here");
                    }
                    LayerState::Downloading { done } => {
                        pb.set_position(*done);
                        pb.set_message("downloading");
                    }
                    LayerState::Retrying { attempt, .. } => pb.set_message(format!("retrying ({attempt})")),
                    LayerState::Unpacking => {
                        pb.set_position(*size);
                        pb.set_message("unpacking");
                    }
                    LayerState::Done => pb.finish_with_message("done"),
                }
            }
        }
    }
}
