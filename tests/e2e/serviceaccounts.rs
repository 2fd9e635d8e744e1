//! ServiceAccounts: default accounts and root CA ConfigMaps in every namespace,
//! TokenRequest, tokens verified with the published JWKS and accepted as bearer
//! tokens, bound tokens dying with their pod, legacy token Secrets filled in, and
//! the pod admission that mounts the token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use crate::harness::{Kubectl, Server, eventually};

/// A kubeconfig that authenticates with a bearer token only.
fn token_kubectl(s: &Server, token: &str) -> Kubectl {
    let admin = std::fs::read_to_string(s.kubeconfig()).unwrap();
    let ca = admin.lines().find_map(|l| l.trim().strip_prefix("certificate-authority-data: ")).unwrap();
    let server = admin.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap();
    let path = s.dir.path().join(format!("token-{}.yaml", token.len()));
    let cfg = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: c\ncontexts:\n- context: {{cluster: c, user: u}}\n  name: c\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {token}\n"
    );
    std::fs::write(&path, cfg).unwrap();
    let mut k = s.kubectl("1.33");
    k.kubeconfig = path;
    k
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

/// Check a token's ES256 signature with the key the server publishes.
fn verify_with_jwks(jwks: &Value, token: &str) -> bool {
    let key = &jwks["keys"][0];
    let mut point = vec![4u8];
    point.extend(B64.decode(key["x"].as_str().unwrap()).unwrap());
    point.extend(B64.decode(key["y"].as_str().unwrap()).unwrap());
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let sig = B64.decode(sig).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(signed.as_bytes(), &sig)
        .is_ok()
}

#[test]
fn every_namespace_gets_an_account_and_the_root_ca() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    k.ok(&["create", "ns", "team"]);
    eventually(10, "default account", || k.run(&["get", "sa", "default", "-n", "team"]).status.success());
    eventually(10, "root CA", || k.run(&["get", "cm", "kube-root-ca.crt", "-n", "team"]).status.success());
    let ca = k.ok(&["get", "cm", "kube-root-ca.crt", "-n", "team", "-o", "jsonpath={.data.ca\\.crt}"]);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    // Deleted ones come back.
    k.ok(&["delete", "sa", "default", "-n", "team"]);
    k.ok(&["delete", "cm", "kube-root-ca.crt", "-n", "team"]);
    eventually(10, "account recreated", || k.run(&["get", "sa", "default", "-n", "team"]).status.success());
    eventually(10, "root CA recreated", || k.run(&["get", "cm", "kube-root-ca.crt", "-n", "team"]).status.success());
}

#[test]
fn token_requests_sign_verifiable_tokens_that_authenticate() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    eventually(10, "default account", || k.run(&["get", "sa", "default"]).status.success());
    let token = k.ok(&["create", "token", "default", "--duration", "15m"]).trim().to_string();
    let c = claims(&token);
    assert_eq!(c["sub"], "system:serviceaccount:default:default");
    assert_eq!(c["iss"], "https://kubernetes.default.svc.cluster.local");
    assert_eq!(c["kubernetes.io"]["namespace"], "default");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);

    let discovery: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/.well-known/openid-configuration"])).unwrap();
    assert_eq!(discovery["issuer"], c["iss"]);
    let jwks: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/openid/v1/jwks"])).unwrap();
    assert!(verify_with_jwks(&jwks, &token), "signature verifies with the published key");

    // The token is a credential.
    let as_sa = token_kubectl(&s, &token);
    let who = as_sa.ok(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert_eq!(who, "system:serviceaccount:default:default");
    as_sa.ok(&["get", "cm"]);
    // A tampered or foreign-audience token is refused.
    let mut bad = token.clone();
    bad.replace_range(bad.len() - 6.., "AAAAAA");
    assert!(token_kubectl(&s, &bad).fails(&["get", "cm"]).contains("Unauthorized"));
    let vault = k.ok(&["create", "token", "default", "--audience", "vault"]).trim().to_string();
    assert!(token_kubectl(&s, &vault).fails(&["get", "cm"]).contains("Unauthorized"));
    // TokenReview: the token authenticates as its account, for the API server's audience
    // unless others are asked for; a foreign-audience or tampered token does not.
    let review = |token: &str, audiences: &str| -> Value {
        let body = format!(
            "{{\"apiVersion\": \"authentication.k8s.io/v1\", \"kind\": \"TokenReview\", \"spec\": {{\"token\": \"{token}\"{audiences}}}}}"
        );
        serde_json::from_str(&k.ok_stdin(&["create", "-f", "-", "-o", "json"], &body)).unwrap()
    };
    let r = review(&token, "");
    assert_eq!(r["status"]["authenticated"], true, "{r}");
    assert_eq!(r["status"]["user"]["username"], "system:serviceaccount:default:default");
    assert_eq!(r["status"]["user"]["uid"], c["kubernetes.io"]["serviceaccount"]["uid"]);
    let groups = r["status"]["user"]["groups"].to_string();
    assert!(groups.contains("system:serviceaccounts:default") && groups.contains("system:authenticated"), "{r}");
    assert_eq!(r["status"]["audiences"], serde_json::json!(["https://kubernetes.default.svc.cluster.local"]));
    let r = review(&vault, "");
    assert_eq!(r["status"]["authenticated"], false, "{r}");
    assert!(r["status"]["error"].as_str().unwrap().contains("audiences"), "{r}");
    let r = review(&vault, ", \"audiences\": [\"vault\", \"other\"]");
    assert_eq!(r["status"]["authenticated"], true, "{r}");
    assert_eq!(r["status"]["audiences"], serde_json::json!(["vault"]));
    let r = review(&bad, "");
    assert_eq!(r["status"]["authenticated"], false, "{r}");
    let err = k.stdin(
        &["create", "-f", "-"],
        r#"{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {}}"#,
    );
    assert!(String::from_utf8_lossy(&err.stderr).contains("token is required for TokenReview"), "{err:?}");
    // Too short a lifetime is refused as the real server does.
    let err = k.fails(&["create", "token", "default", "--duration", "1m"]);
    assert!(err.contains("may not specify a duration less than 10 minutes"), "{err}");
}

#[test]
fn bound_tokens_die_with_their_pod() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    eventually(10, "default account", || k.run(&["get", "sa", "default"]).status.success());
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: holder}\nspec: {containers: [{name: c, image: busybox}]}\n",
    );
    let token = k
        .ok(&["create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "holder"])
        .trim()
        .to_string();
    assert_eq!(claims(&token)["kubernetes.io"]["pod"]["name"], "holder");
    let as_sa = token_kubectl(&s, &token);
    as_sa.ok(&["get", "cm"]);
    k.ok(&["delete", "pod", "holder", "--wait"]);
    assert!(as_sa.fails(&["get", "cm"]).contains("Unauthorized"));
}

#[test]
fn legacy_token_secrets_are_filled_in() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    eventually(10, "default account", || k.run(&["get", "sa", "default"]).status.success());
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy\n  annotations: {kubernetes.io/service-account.name: default}\ntype: kubernetes.io/service-account-token\n",
    );
    let mut token = String::new();
    eventually(10, "token filled in", || {
        token = k.ok(&["get", "secret", "legacy", "-o", "jsonpath={.data.token}"]);
        !token.is_empty()
    });
    let token = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(token).unwrap()).unwrap();
    assert_eq!(claims(&token)["kubernetes.io/serviceaccount/secret.name"], "legacy");
    let ns = k.ok(&["get", "secret", "legacy", "-o", "jsonpath={.data.namespace}"]);
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(ns).unwrap(), b"default");
    let as_sa = token_kubectl(&s, &token);
    as_sa.ok(&["get", "cm"]);
    k.ok(&["delete", "secret", "legacy"]);
    assert!(as_sa.fails(&["get", "cm"]).contains("Unauthorized"));
}

#[test]
fn pods_run_as_existing_accounts_with_the_token_mounted() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    eventually(10, "default account", || k.run(&["get", "sa", "default"]).status.success());
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n",
    );
    let pod: Value = k.json(&["get", "pod", "p", "-o", "json"]);
    assert_eq!(pod["spec"]["serviceAccountName"], "default");
    let vol = &pod["spec"]["volumes"][0];
    assert!(vol["name"].as_str().unwrap().starts_with("kube-api-access-"), "{vol}");
    assert_eq!(vol["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"], 3607);
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        "/var/run/secrets/kubernetes.io/serviceaccount"
    );

    k.ok_stdin(&["apply", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {automountServiceAccountToken: false, containers: [{name: c, image: busybox}]}\n");
    assert_eq!(k.ok(&["get", "pod", "q", "-o", "jsonpath={.spec.volumes}"]), "");

    let out = k.stdin(&["apply", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: r}\nspec: {serviceAccountName: ghost, containers: [{name: c, image: busybox}]}\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pods \"r\" is forbidden: error looking up service account default/ghost: serviceaccount \"ghost\" not found"),
        "{err}"
    );
}
