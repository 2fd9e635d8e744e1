//! `imagePullSecrets` and `--private-registry`: pods pull from a registry over TLS (our own CA,
//! trusted through a registries.yaml given with `--private-registry`, which has no
//! credentials) that wants a password. Without a pull secret the pod ends in
//! `ErrImagePull`/`ImagePullBackOff`; with `kubectl create secret docker-registry` (or an
//! older `kubernetes.io/dockercfg` Secret) it runs; a missing secret gets the kubelet's
//! `FailedToRetrieveImagePullSecret` Warning and the pull still goes ahead. Needs root.

use base64::Engine as _;

use crate::harness::{Kubectl, Server, eventually, write};
use crate::pods::{events, jsonpath, root, wait_ready};
use crate::registry::{Registry, tls_registry_with_auth};
use crate::util::Table;

/// A server whose kubelet trusts the registry's CA (registries.yaml without auth).
fn setup(tmp: &std::path::Path) -> (Registry, Server, String) {
    let (reg, ca) = tls_registry_with_auth(tmp);
    let host = reg.host();
    let registries =
        write(tmp, "registries.yaml", &format!("configs:\n  \"{host}\":\n    tls:\n      ca_file: {}\n", ca.display()));
    let s = Server::start_with_agent_args(&["--private-registry", registries.to_str().unwrap()]);
    (reg, s, format!("{host}/private/busybox:1.36"))
}

fn pod(name: &str, image: &str, policy: &str, secrets: &[&str]) -> String {
    let secrets: Vec<String> = secrets.iter().map(|n| format!("{{name: {n}}}")).collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  \
         imagePullSecrets: [{}]\n  containers:\n  - name: main\n    image: {image}\n    imagePullPolicy: {policy}\n    \
         command: [sh, -c, \"echo hello from {name}; sleep 3600\"]\n",
        secrets.join(", ")
    )
}

fn status(k: &Kubectl, pod: &str) -> String {
    Table::parse(&k.ok(&["get", "pod", pod])).row(pod)["STATUS"].clone()
}

/// The pod cannot pull: its STATUS goes to ErrImagePull and then ImagePullBackOff, with the
/// kubelet's Failed events naming the refusal.
#[track_caller]
fn assert_pull_refused(s: &Server, k: &Kubectl, pod: &str, image: &str) {
    // Each failed pull shows ErrImagePull for about a second, then ImagePullBackOff while the
    // back-off lasts (10 s, 20 s, …).
    let mut seen = Vec::new();
    eventually(120, &format!("{pod} in ErrImagePull, then ImagePullBackOff"), || {
        let st = status(k, pod);
        if seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        seen.iter().any(|s| s == "ErrImagePull") && st == "ImagePullBackOff"
    });
    assert_eq!(jsonpath(s, pod, "{.status.phase}"), "Pending");
    assert_eq!(jsonpath(s, pod, "{.status.containerStatuses[0].state.waiting.reason}"), "ImagePullBackOff");
    let ev = events(k, pod);
    assert!(ev.contains(&format!("Normal Pulling Pulling image \"{image}\"")), "{ev}");
    let failed = ev
        .lines()
        .find(|l| l.starts_with(&format!("Warning Failed Failed to pull image \"{image}\"")))
        .unwrap_or_else(|| panic!("no Failed event: {ev}"));
    assert!(failed.contains("refused access") && failed.contains("image pull secret"), "{failed}");
    assert!(ev.contains("Warning Failed Error: ErrImagePull"), "{ev}");
    assert!(ev.contains(&format!("Normal BackOff Back-off pulling image \"{image}\"")), "{ev}");
}

#[test]
fn a_pull_secret_opens_a_private_registry() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (reg, s, image) = setup(tmp.path());
    let k = s.kubectl("1.33");

    // No secret: the registry wants a password that registries.yaml does not give.
    k.ok_stdin(&["apply", "-f", "-"], &pod("nosecret", &image, "IfNotPresent", &[]));
    assert_pull_refused(&s, &k, "nosecret", &image);
    k.ok(&["delete", "pod", "nosecret", "--grace-period=1"]);

    // A docker-registry secret with the right password: the pod pulls and runs.
    k.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={}", reg.host()),
        "--docker-username=coracle",
        "--docker-password=s3cret",
    ]);
    k.ok_stdin(&["apply", "-f", "-"], &pod("withsecret", &image, "Always", &["regcred"]));
    wait_ready(&s, "withsecret");
    assert_eq!(status(&k, "withsecret"), "Running");
    assert_eq!(k.ok(&["logs", "withsecret"]).trim(), "hello from withsecret");
    assert_eq!(s.kubectl("1.27").ok(&["logs", "withsecret"]).trim(), "hello from withsecret");
    let ev = events(&k, "withsecret");
    assert!(ev.contains(&format!("Normal Pulled Successfully pulled image \"{image}\" in ")), "{ev}");
    assert!(!ev.contains("Warning"), "{ev}");
    let id = jsonpath(&s, "withsecret", "{.status.containerStatuses[0].imageID}");
    assert!(id.starts_with("sha256:") || id.contains("@sha256:"), "{id}");

    // A wrong password in the secret is refused, and says the credentials were the problem.
    k.ok(&[
        "create",
        "secret",
        "docker-registry",
        "badcred",
        &format!("--docker-server=https://{}/v1/", reg.host()),
        "--docker-username=coracle",
        "--docker-password=wrong",
    ]);
    let other = format!("{}/private/busybox:nope", reg.host());
    k.ok_stdin(&["apply", "-f", "-"], &pod("badsecret", &other, "IfNotPresent", &["badcred"]));
    eventually(90, "badsecret failed to pull", || events(&k, "badsecret").contains("with the credentials given"));

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    eventually(90, "pods gone", || k.ok(&["get", "pods", "-o", "name"]).trim().is_empty());
}

#[test]
fn a_missing_pull_secret_is_reported_and_the_pull_goes_ahead() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (reg, s, image) = setup(tmp.path());
    let k = s.kubectl("1.33");
    let k27 = s.kubectl("1.27");
    let warning = |names: &str| {
        format!(
            "Warning FailedToRetrieveImagePullSecret Unable to retrieve some image pull secrets ({names}); attempting to \
             pull the image may not succeed."
        )
    };

    // Only a missing secret: the warning, then a pull without credentials, which is refused.
    k27.ok_stdin(&["apply", "-f", "-"], &pod("missing", &image, "IfNotPresent", &["nothere", "alsogone"]));
    eventually(90, "the FailedToRetrieveImagePullSecret event", || {
        events(&k, "missing").contains(&warning("nothere, alsogone"))
    });
    assert_pull_refused(&s, &k, "missing", &image);
    k.ok(&["delete", "pod", "missing", "--grace-period=1"]);

    // A missing secret and an older kubernetes.io/dockercfg one that works: warned, pulled, running.
    let dockercfg = format!(r#"{{"{}": {{"auth": "Y29yYWNsZTpzM2NyZXQ=", "email": "ci@example.com"}}}}"#, reg.host());
    k27.ok_stdin(
        &["apply", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: oldcfg}}\ntype: kubernetes.io/dockercfg\ndata:\n  \
             .dockercfg: {}\n",
            base64::engine::general_purpose::STANDARD.encode(dockercfg)
        ),
    );
    k27.ok_stdin(&["apply", "-f", "-"], &pod("partial", &image, "Always", &["nothere", "oldcfg"]));
    wait_ready(&s, "partial");
    assert_eq!(k27.ok(&["logs", "partial"]).trim(), "hello from partial");
    let ev = events(&k, "partial");
    assert!(ev.contains(&warning("nothere")), "{ev}");
    assert!(ev.contains(&format!("Normal Pulled Successfully pulled image \"{image}\" in ")), "{ev}");
    let describe = k.ok(&["describe", "pod", "partial"]);
    assert!(describe.contains("FailedToRetrieveImagePullSecret"), "{describe}");

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    eventually(90, "pods gone", || k.ok(&["get", "pods", "-o", "name"]).trim().is_empty());
}
