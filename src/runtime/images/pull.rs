//! Pulling images over the OCI distribution API (oci-client): tags and digests, multi-arch
//! indexes (linux/<this arch> is picked), token and basic auth, mirrors, endpoints, plain HTTP
//! and TLS from registries.yaml, parallel layer downloads that resume after a dropped
//! connection, layers unpacked as they arrive.
//!
//! Credentials: those given with the request ([`PullOptions::credentials`], the kubelet's from
//! a pod's image pull secrets) that match an endpoint (see [`super::keyring`]) win over
//! registries.yaml's for it, as containerd's CRI prefers the credentials the kubelet passes.
//!
//! Like an import, a pull works in its own ingest dir and commits at the end: a pull that fails
//! (or is killed) leaves nothing in the store; running it again starts afresh, reusing every
//! blob and snapshot already stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use oci_client::Client;
use oci_client::client::{BlobResponse, Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::reference::ImageRef;
use super::registries::{Credentials, DEFAULT_PATH, Endpoint, RegistriesConfig};
use super::store::{
    Descriptor, MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_INDEX, MT_OCI_MANIFEST, Manifest, NewEntry, Parsed,
    parse_manifest, pick_platform, sha256_of, this_arch,
};
use super::unpack::{hex, unpack_layer};
use super::{Image, ImageError, ImageStore};

/// How to pull.
#[derive(Clone)]
pub struct PullOptions {
    /// Reach the image's own registry over plain HTTP (mirrors say so in their URL).
    pub plain_http: bool,
    /// registries.yaml to use; None: `/etc/coracle/registries.yaml` if it exists.
    pub registries_config: Option<PathBuf>,
    /// How long to wait for a connection, and for each read, before giving up on an endpoint.
    pub timeout: Duration,
    pub max_concurrent_downloads: usize,
    pub progress: Option<Arc<dyn PullProgress>>,
    /// Credentials given with this pull: docker config key (`host`, `host:port`,
    /// `https://host/path`, `*.example.com`, …) → credentials. For each endpoint the first
    /// key that matches wins over registries.yaml (order them with [`super::keyring::order`]).
    pub credentials: Vec<(String, Credentials)>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            plain_http: false,
            registries_config: None,
            timeout: Duration::from_secs(30),
            max_concurrent_downloads: 3,
            progress: None,
            credentials: Vec::new(),
        }
    }
}

/// What a pull is doing, for a progress display.
#[derive(Clone, Debug)]
pub enum PullEvent {
    Resolving {
        endpoint: String,
    },
    EndpointFailed {
        endpoint: String,
        error: String,
    },
    /// The manifest is known: `layers` layers of `size` bytes in all.
    Resolved {
        digest: String,
        layers: usize,
        size: u64,
    },
    Layer {
        digest: String,
        size: u64,
        state: LayerState,
    },
}

#[derive(Clone, Debug)]
pub enum LayerState {
    /// Already in the store.
    Exists,
    Downloading {
        done: u64,
    },
    Retrying {
        attempt: u32,
        error: String,
    },
    Unpacking,
    Done,
}

/// Receives [`PullEvent`]s (from several tasks at once).
pub trait PullProgress: Send + Sync {
    fn event(&self, event: &PullEvent);
}

fn emit(opts: &PullOptions, event: PullEvent) {
    if let Some(p) = &opts.progress {
        p.event(&event);
    }
}

/// Why one endpoint did not work: try the next one, or give up at once.
enum Failure {
    Endpoint(String),
    Fatal(ImageError),
}

impl From<ImageError> for Failure {
    fn from(e: ImageError) -> Self {
        Failure::Fatal(e)
    }
}

pub(crate) async fn pull(images: &ImageStore, reference: &str, opts: &PullOptions) -> Result<Image, ImageError> {
    let r = ImageRef::parse(reference)?;
    let shown = r.to_string();
    let config = match &opts.registries_config {
        Some(p) => RegistriesConfig::load(p, true)?,
        None => RegistriesConfig::load(Path::new(DEFAULT_PATH), false)?,
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut failures: Vec<(String, String)> = Vec::new();
    for ep in config.endpoints(&r, opts.plain_http) {
        emit(opts, PullEvent::Resolving { endpoint: ep.url.clone() });
        match pull_from(images, &r, &shown, &ep, opts).await {
            Ok(image) => return Ok(image),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Endpoint(reason)) => {
                tracing::info!(image = %shown, endpoint = %ep.url, error = %reason, "endpoint failed");
                emit(opts, PullEvent::EndpointFailed { endpoint: ep.url.clone(), error: reason.clone() });
                failures.push((ep.url.clone(), reason));
            }
        }
    }
    let reason = match failures.as_slice() {
        [(_, one)] => one.clone(),
        many => many.iter().map(|(u, r)| format!("{u}: {r}")).collect::<Vec<_>>().join("; "),
    };
    Err(ImageError::Pull { image: shown, reason })
}

fn client_for(ep: &Endpoint, timeout: Duration) -> Result<Client, String> {
    let mut extra = Vec::new();
    if let Some(ca) = &ep.ca_file {
        let data = std::fs::read(ca).map_err(|e| format!("tls.ca_file {}: {e}", ca.display()))?;
        extra.push(Certificate { encoding: CertificateEncoding::Pem, data });
    }
    let config = ClientConfig {
        protocol: if ep.plain_http { ClientProtocol::Http } else { ClientProtocol::Https },
        accept_invalid_certificates: ep.insecure_skip_verify,
        extra_root_certificates: extra,
        platform_resolver: None,
        connect_timeout: Some(timeout),
        read_timeout: Some(timeout),
        user_agent: concat!("coracle/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    };
    Client::try_from(config).map_err(|e| format!("cannot make an HTTP client: {}", chain(&e)))
}

const ACCEPTED: &[&str] = &[MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST];
const CONFIG_TYPES: &[&str] =
    &["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];

async fn pull_from(
    images: &ImageStore,
    r: &ImageRef,
    shown: &str,
    ep: &Endpoint,
    opts: &PullOptions,
) -> Result<Image, Failure> {
    let client = client_for(ep, opts.timeout).map_err(Failure::Endpoint)?;
    let given = super::keyring::pick(&opts.credentials, &ep.host, &ep.repository);
    let with_given;
    let ep = match given {
        Some(c) => {
            tracing::debug!(endpoint = %ep.url, "using the credentials given with the pull");
            with_given = Endpoint { credentials: c.clone(), ..ep.clone() };
            &with_given
        }
        None => ep,
    };
    let auth = match &ep.credentials {
        Credentials::Anonymous => RegistryAuth::Anonymous,
        Credentials::Basic(u, p) => RegistryAuth::Basic(u.clone(), p.clone()),
        Credentials::Bearer(t) => RegistryAuth::Bearer(t.clone()),
    };
    let mut oref = r.to_oci(r.registry(), &ep.repository);
    if ep.mirror {
        oref.set_mirror_registry(ep.host.clone());
    }
    let explain = |e: OciDistributionError| Failure::Endpoint(explain(&e, ep, shown));

    // The manifest, or the index and this platform's manifest.
    let (top, _) = client.pull_manifest_raw(&oref, &auth, ACCEPTED).await.map_err(explain)?;
    let top_digest = sha256_of(&top);
    if let Some(want) = r.digest()
        && want != top_digest
    {
        return Err(Failure::Endpoint(format!(
            "{} sent a manifest whose digest is {top_digest}, not {want}: the registry or a proxy is broken",
            ep.host
        )));
    }
    let top_type = media_type_of(&top);
    let (manifest_bytes, manifest_digest) = match parse_manifest(&top).map_err(|e| invalid(shown, ep, e))? {
        Parsed::Manifest(_) => (top.clone(), top_digest.clone()),
        Parsed::Index(index) => {
            let chosen = pick_platform(&index).map_err(|platforms| {
                Failure::Fatal(ImageError::Pull {
                    image: shown.to_string(),
                    reason: format!(
                        "it has no linux/{} image (it has {}): pick another tag",
                        this_arch(),
                        if platforms.is_empty() { "none".to_string() } else { platforms.join(", ") }
                    ),
                })
            })?;
            let digest = chosen.digest.clone();
            let (bytes, _) = client
                .pull_manifest_raw(&oref.clone_with_digest(digest.clone()), &auth, ACCEPTED)
                .await
                .map_err(explain)?;
            if sha256_of(&bytes) != digest {
                return Err(Failure::Endpoint(format!("{}: manifest {digest} does not match its digest", ep.host)));
            }
            (bytes, digest)
        }
    };
    let manifest: Manifest = match parse_manifest(&manifest_bytes).map_err(|e| invalid(shown, ep, e))? {
        Parsed::Manifest(m) => m,
        Parsed::Index(_) => return Err(invalid(shown, ep, "an index inside an index".into())),
    };
    if !CONFIG_TYPES.contains(&manifest.config.media_type.as_str()) {
        return Err(Failure::Fatal(ImageError::Pull {
            image: shown.to_string(),
            reason: format!("it is not a container image (config type {})", manifest.config.media_type),
        }));
    }
    let total: u64 = manifest.layers.iter().map(|l| l.size).sum();
    emit(opts, PullEvent::Resolved { digest: top_digest.clone(), layers: manifest.layers.len(), size: total });

    let store = images.store().clone();
    let mut ingest = store.begin()?;
    ingest.write_blob_bytes(&top)?;
    if manifest_digest != top_digest {
        ingest.write_blob_bytes(&manifest_bytes)?;
    }
    let config_bytes = if store.has_blob(&manifest.config.digest) {
        store.read_blob(&manifest.config.digest)?
    } else {
        let path = ingest.dir().join("config");
        download(&client, &oref, &manifest.config, &path, &PullOptions { progress: None, ..opts.clone() }, ep).await?;
        ingest.adopt(&path, &manifest.config.digest)?;
        ingest.read_blob(&manifest.config.digest)?
    };
    let config: oci_spec::image::ImageConfiguration =
        serde_json::from_slice(&config_bytes).map_err(|e| invalid(shown, ep, format!("bad image config: {e}")))?;
    let diff_ids = config.rootfs().diff_ids().clone();
    if diff_ids.len() != manifest.layers.len() {
        return Err(invalid(shown, ep, "the config and the manifest list different numbers of layers".into()));
    }

    // Layers: download the missing ones in parallel, each unpacked as soon as it is here.
    let mut seen_blobs = std::collections::HashSet::new();
    let mut seen_diffs = std::collections::HashSet::new();
    let mut jobs = Vec::new();
    for (layer, diff_id) in manifest.layers.iter().zip(&diff_ids) {
        let fetch = seen_blobs.insert(layer.digest.clone()) && !store.has_blob(&layer.digest);
        let unpack = seen_diffs.insert(diff_id.clone()) && !store.has_snapshot(diff_id);
        let hex_blob = layer.digest.trim_start_matches("sha256:");
        let hex_diff = diff_id.trim_start_matches("sha256:");
        jobs.push(LayerJob {
            layer: layer.clone(),
            diff_id: diff_id.clone(),
            fetch,
            unpack,
            blob_path: if fetch {
                ingest.dir().join(format!("layer-{hex_blob}"))
            } else {
                store.blob_path(&layer.digest)?
            },
            snapshot: ingest.dir().join(format!("snapshot-{hex_diff}")),
        });
    }
    let results: Vec<Result<(), Failure>> = futures::stream::iter(jobs.iter())
        .map(|job| layer_job(&client, &oref, job, opts, ep, shown))
        .buffer_unordered(opts.max_concurrent_downloads.max(1))
        .collect()
        .await;
    for res in results {
        res?;
    }
    for job in &jobs {
        if job.fetch {
            ingest.adopt(&job.blob_path, &job.layer.digest)?;
        }
        if job.unpack {
            ingest.add_snapshot(&job.diff_id, &job.snapshot.join("fs"));
        }
    }

    let mut blobs = vec![top_digest.clone(), manifest_digest.clone(), manifest.config.digest.clone()];
    blobs.extend(manifest.layers.iter().map(|l| l.digest.clone()));
    let entry = NewEntry {
        name: Some(shown.to_string()),
        target: Descriptor {
            media_type: top_type,
            digest: top_digest,
            size: top.len() as u64,
            platform: None,
            annotations: None,
        },
        manifest_digest,
        image_id: manifest.config.digest.clone(),
        blobs,
        diff_ids,
    };
    ingest.commit(&[entry])?;
    tracing::info!(image = %shown, id = %manifest.config.digest, endpoint = %ep.url, "pulled");
    Ok(images.get(shown)?)
}

fn media_type_of(bytes: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    match v.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None if v.get("manifests").is_some() => MT_OCI_INDEX.to_string(),
        None => MT_OCI_MANIFEST.to_string(),
    }
}

fn invalid(shown: &str, ep: &Endpoint, reason: String) -> Failure {
    Failure::Endpoint(format!("{} sent an unusable manifest for {shown}: {reason}", ep.host))
}

struct LayerJob {
    layer: Descriptor,
    diff_id: String,
    fetch: bool,
    unpack: bool,
    blob_path: PathBuf,
    snapshot: PathBuf,
}

async fn layer_job(
    client: &Client,
    oref: &oci_client::Reference,
    job: &LayerJob,
    opts: &PullOptions,
    ep: &Endpoint,
    shown: &str,
) -> Result<(), Failure> {
    let ev = |state| PullEvent::Layer { digest: job.layer.digest.clone(), size: job.layer.size, state };
    if job.fetch {
        download(client, oref, &job.layer, &job.blob_path, opts, ep).await?;
    } else {
        emit(opts, ev(LayerState::Exists));
    }
    if job.unpack {
        emit(opts, ev(LayerState::Unpacking));
        let (src, dest, image, blob, diff_id) = (
            job.blob_path.clone(),
            job.snapshot.join("fs"),
            shown.to_string(),
            job.layer.digest.clone(),
            job.diff_id.clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<(), ImageError> {
            std::fs::create_dir_all(&dest).map_err(|e| ImageError::io(&dest, e))?;
            let file = std::fs::File::open(&src).map_err(|e| ImageError::io(&src, e))?;
            let unpacked = unpack_layer(file, &dest).map_err(|source| ImageError::Unpack {
                image: image.clone(),
                layer: blob.clone(),
                source,
            })?;
            if unpacked.diff_id != diff_id {
                return Err(ImageError::DigestMismatch {
                    what: format!("{image}: layer {blob}"),
                    expected: diff_id,
                    actual: unpacked.diff_id,
                });
            }
            Ok(())
        })
        .await
        .map_err(|e| Failure::Fatal(ImageError::Invalid(format!("unpacking stopped: {e}"))))??;
    }
    emit(opts, ev(LayerState::Done));
    Ok(())
}

/// Download one blob to `path`, verifying its digest and size; resume with a range request
/// after a dropped connection (up to 3 attempts).
async fn download(
    client: &Client,
    oref: &oci_client::Reference,
    desc: &Descriptor,
    path: &Path,
    opts: &PullOptions,
    ep: &Endpoint,
) -> Result<(), Failure> {
    let odesc = OciDescriptor {
        media_type: desc.media_type.clone(),
        digest: desc.digest.clone(),
        size: desc.size as i64,
        ..OciDescriptor::default()
    };
    let local = |e: std::io::Error| Failure::Fatal(ImageError::io(path, e));
    let mut file = tokio::fs::File::create(path).await.map_err(local)?;
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = fetch_into(client, oref, &odesc, &mut file, &mut hasher, &mut done, opts, desc).await;
        match res {
            Ok(()) => break,
            Err(FetchError::Local(e)) => return Err(local(e)),
            Err(FetchError::Remote(e)) if attempt < 3 && transient(&e) => {
                let error = explain(&e, ep, &oref.whole());
                tracing::info!(blob = %desc.digest, attempt, error = %error, "retrying");
                emit(
                    opts,
                    PullEvent::Layer {
                        digest: desc.digest.clone(),
                        size: desc.size,
                        state: LayerState::Retrying { attempt, error },
                    },
                );
                tokio::time::sleep(Duration::from_millis(300 * attempt as u64)).await;
            }
            Err(FetchError::Remote(e)) => return Err(Failure::Endpoint(explain(&e, ep, &oref.whole()))),
        }
    }
    file.sync_all().await.map_err(local)?;
    let got = format!("sha256:{}", hex(&hasher.finalize()));
    if got != desc.digest || done != desc.size {
        return Err(Failure::Endpoint(format!(
            "blob {} from {} does not match its descriptor (got {got}, {done} bytes of {}): the registry or a proxy \
             corrupted it",
            desc.digest, ep.host, desc.size
        )));
    }
    Ok(())
}

enum FetchError {
    Remote(OciDistributionError),
    Local(std::io::Error),
}

#[allow(clippy::too_many_arguments)]
async fn fetch_into(
    client: &Client,
    oref: &oci_client::Reference,
    odesc: &OciDescriptor,
    file: &mut tokio::fs::File,
    hasher: &mut Sha256,
    done: &mut u64,
    opts: &PullOptions,
    desc: &Descriptor,
) -> Result<(), FetchError> {
    let mut stream = if *done == 0 {
        client.pull_blob_stream(oref, odesc).await.map_err(FetchError::Remote)?
    } else {
        match client.pull_blob_stream_partial(oref, odesc, *done, None).await.map_err(FetchError::Remote)? {
            BlobResponse::Partial(s) => s,
            BlobResponse::Full(s) => {
                // The registry ignored the range: start over.
                file.set_len(0).await.map_err(FetchError::Local)?;
                file.seek(std::io::SeekFrom::Start(0)).await.map_err(FetchError::Local)?;
                *hasher = Sha256::new();
                *done = 0;
                s
            }
        }
    };
    let mut last_report = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Remote(OciDistributionError::IoError(e)))?;
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(FetchError::Local)?;
        *done += chunk.len() as u64;
        if *done - last_report >= 64 * 1024 || *done == desc.size {
            last_report = *done;
            emit(
                opts,
                PullEvent::Layer {
                    digest: desc.digest.clone(),
                    size: desc.size,
                    state: LayerState::Downloading { done: *done },
                },
            );
        }
    }
    file.flush().await.map_err(FetchError::Local)?;
    Ok(())
}

fn transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(_) | OciDistributionError::IoError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        _ => false,
    }
}

/// The error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// A registry error as one line saying what happened and what to do.
fn explain(e: &OciDistributionError, ep: &Endpoint, shown: &str) -> String {
    let host = &ep.host;
    let refused = |status: &str| match ep.credentials {
        Credentials::Anonymous => format!(
            "{host} refused access ({status}): set credentials for it (an image pull secret, or configs.\"{host}\".auth \
             in registries.yaml) or check the repository name"
        ),
        _ => format!(
            "{host} refused access ({status}) with the credentials given: check them (the image pull secret, or \
             configs.\"{host}\".auth in registries.yaml) and the repository name"
        ),
    };
    let not_found = || format!("not found at {}: check the name and tag", ep.url);
    match e {
        OciDistributionError::RequestError(re) => {
            let detail = chain(re);
            let lower = detail.to_lowercase();
            if re.is_timeout() || lower.contains("timed out") {
                format!("{host} did not answer in time: check that the registry is up (or give a longer --timeout)")
            } else if lower.contains("connection refused") {
                format!("cannot connect to {host} (connection refused): is the registry running at that address?")
            } else if !ep.plain_http
                && (lower.contains("tls")
                    || lower.contains("certificate")
                    || lower.contains("handshake")
                    || lower.contains("invalidcontenttype")
                    || lower.contains("corrupt message"))
            {
                format!(
                    "TLS with {host} failed ({detail}): for a plain-HTTP registry use --plain-http or an http:// \
                     endpoint in registries.yaml; for a private CA set tls.ca_file"
                )
            } else {
                format!("request to {host} failed: {detail}")
            }
        }
        OciDistributionError::IoError(io) => {
            if io.kind() == std::io::ErrorKind::TimedOut || io.to_string().contains("timed out") {
                format!("{host} stopped sending data: check the network or give a longer --timeout")
            } else {
                format!("reading from {host} failed: {}", chain(io))
            }
        }
        OciDistributionError::UnauthorizedError { .. } => refused("401 Unauthorized"),
        OciDistributionError::AuthenticationFailure(m) => refused(&format!("authentication failed: {}", m.trim())),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(c, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound)
            }) {
                not_found()
            } else if codes.iter().any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                refused("denied")
            } else if codes.iter().any(|c| matches!(c, OciErrorCode::BlobUnknown)) {
                format!("{host} lacks a blob of {shown}: the image in the registry is incomplete, push it again")
            } else if codes.iter().any(|c| matches!(c, OciErrorCode::Toomanyrequests)) {
                format!("{host} rate-limits pulls: wait, or use a mirror (registries.yaml)")
            } else {
                format!(
                    "{host} answered: {}",
                    envelope.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
                )
            }
        }
        OciDistributionError::ServerError { code, message, .. } => match code {
            404 => not_found(),
            401 | 403 => refused(&format!("HTTP {code}")),
            c if *c >= 500 => format!("{host} failed (HTTP {c}): try again later"),
            c => format!("{host} answered HTTP {c}: {}", message.trim()),
        },
        OciDistributionError::DigestError(d) => {
            format!("content from {host} does not match its digest ({d}): the registry or a proxy corrupted it")
        }
        other => format!("{host}: {}", chain(other)),
    }
}

/// The endpoints a pull of `reference` would try, for display.
pub fn endpoints_for(reference: &str, opts: &PullOptions) -> Result<Vec<Endpoint>, ImageError> {
    let r = ImageRef::parse(reference)?;
    let config = match &opts.registries_config {
        Some(p) => RegistriesConfig::load(p, true)?,
        None => RegistriesConfig::load(Path::new(DEFAULT_PATH), false)?,
    };
    Ok(config.endpoints(&r, opts.plain_http))
}
