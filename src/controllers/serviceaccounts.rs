//! ServiceAccount controllers, as kube-controller-manager runs them:
//! - every namespace gets a `default` ServiceAccount and the `kube-root-ca.crt`
//!   ConfigMap (recreated when deleted, corrected when edited);
//! - Secrets of type `kubernetes.io/service-account-token` get their `token`,
//!   `ca.crt` and `namespace` filled in.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use crate::registry::serviceaccount::legacy_claims;
use crate::registry::tokens::TokenIssuer;

const ROOT_CA: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";
const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME: &str = "kubernetes.io/service-account.name";
const SA_UID: &str = "kubernetes.io/service-account.uid";

struct Ctx {
    client: kube::Client,
    ca_pem: String,
    issuer: Arc<TokenIssuer>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Run both controllers until the process ends.
pub async fn run(client: kube::Client, ca_pem: String, issuer: Arc<TokenIssuer>) {
    let ctx = Arc::new(Ctx { client: client.clone(), ca_pem, issuer });
    let namespaces = Controller::new(Api::<Namespace>::all(client.clone()), watcher::Config::default())
        .watches(
            Api::<ServiceAccount>::all(client.clone()),
            watcher::Config::default().fields("metadata.name=default"),
            |sa| sa.metadata.namespace.map(|ns| ObjectRef::new(&ns)),
        )
        .watches(
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default().fields(&format!("metadata.name={ROOT_CA}")),
            |cm| cm.metadata.namespace.map(|ns| ObjectRef::new(&ns)),
        )
        .run(reconcile_namespace, retry, ctx.clone())
        .for_each(|_| async {});
    let secrets = Controller::new(
        Api::<Secret>::all(client.clone()),
        watcher::Config::default().fields(&format!("type={TOKEN_TYPE}")),
    )
    .run(reconcile_secret, retry, ctx)
    .for_each(|_| async {});
    tokio::join!(namespaces, secrets);
}

fn retry<K>(_obj: Arc<K>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(error = %err, "service account controller will retry");
    Action::requeue(Duration::from_secs(2))
}

fn ignore_conflict<T>(r: Result<T, kube::Error>) -> Result<(), Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 403 || e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn reconcile_namespace(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let name = ns.metadata.name.clone().unwrap_or_default();
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let sas: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &name);
    if sas.get_opt("default").await?.is_none() {
        let sa = ServiceAccount {
            metadata: ObjectMeta { name: Some("default".into()), ..Default::default() },
            ..Default::default()
        };
        ignore_conflict(sas.create(&PostParams::default(), &sa).await)?;
    }
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    let want: BTreeMap<String, String> = [("ca.crt".to_string(), ctx.ca_pem.clone())].into_iter().collect();
    match cms.get_opt(ROOT_CA).await? {
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(ROOT_CA.into()),
                    annotations: Some(
                        [("kubernetes.io/description".to_string(), ROOT_CA_DESCRIPTION.to_string())]
                            .into_iter()
                            .collect(),
                    ),
                    ..Default::default()
                },
                data: Some(want),
                ..Default::default()
            };
            ignore_conflict(cms.create(&PostParams::default(), &cm).await)?;
        }
        Some(cm) if cm.data.as_ref() != Some(&want) => {
            // The publisher owns the whole of `data`, as upstream's does: keys it did not
            // write go (null in a merge patch removes them).
            let mut data: serde_json::Map<String, serde_json::Value> =
                cm.data.iter().flatten().map(|(k, _)| (k.clone(), serde_json::Value::Null)).collect();
            data.extend(want.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone()))));
            let patch = serde_json::json!({"data": data});
            ignore_conflict(cms.patch(ROOT_CA, &PatchParams::default(), &Patch::Merge(&patch)).await)?;
        }
        Some(_) => {}
    }
    Ok(Action::await_change())
}

async fn reconcile_secret(secret: Arc<Secret>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if secret.type_.as_deref() != Some(TOKEN_TYPE) || secret.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let data = secret.data.clone().unwrap_or_default();
    if data.contains_key("token") {
        return Ok(Action::await_change());
    }
    let ns = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    let Some(sa_name) = annotations.get(SA_NAME) else { return Ok(Action::await_change()) };
    let sas: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(sa) = sas.get_opt(sa_name).await? else {
        // The account may be created later.
        return Ok(Action::requeue(Duration::from_secs(5)));
    };
    let sa_uid = sa.metadata.uid.clone().unwrap_or_default();
    if annotations.get(SA_UID).is_some_and(|u| !u.is_empty() && *u != sa_uid) {
        return Ok(Action::await_change());
    }
    let token = ctx.issuer.sign(&legacy_claims(&ns, &name, sa_name, &sa_uid));
    let mut data = data;
    data.insert("token".into(), ByteString(token.into_bytes()));
    data.insert("ca.crt".into(), ByteString(ctx.ca_pem.clone().into_bytes()));
    data.insert("namespace".into(), ByteString(ns.clone().into_bytes()));
    let patch = serde_json::json!({
        "metadata": {"annotations": {SA_UID: sa_uid}, "resourceVersion": secret.metadata.resource_version},
        "data": data,
    });
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    ignore_conflict(secrets.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await)?;
    Ok(Action::await_change())
}
