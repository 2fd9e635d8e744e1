//! `kubectl get` in every output format, the server-side table columns kubectl users
//! know, label and field selectors, and pagination.

use serde_json::Value;

use crate::harness::{Server, VERSIONS};
use crate::util::{self, Table};

const OBJECTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: read}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: read, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "busybox:1.36", ports: [{containerPort: 8080}]}
      - {name: side, image: "nginx:1.27"}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: read}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: read, labels: {tier: front, team: x}}
data: {k1: v1, k2: v2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: read, labels: {tier: back, team: x}}
data: {k1: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: read}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: read}
stringData: {user: admin, password: pw}
"#;

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn get_in_every_output_format() {
    let s = Server::start();
    s.kubectl("1.33").ok_stdin(&["create", "-f", "-"], OBJECTS);
    for v in VERSIONS {
        let k = s.kubectl(v);
        let n = ["-n", "read"];
        let get = |extra: &[&str]| k.ok(&[&["get"][..], extra, &n].concat());
        // Lists of the test's ConfigMaps, without the root CA every namespace gets.
        let list = |extra: &[&str]| k.ok(&[&["get", "cm", util::NOT_ROOT_CA][..], extra, &n].concat());

        // -o yaml / -o json of one object and of a list.
        let y: Value = serde_yaml_ng::from_str(&get(&["cm", "a", "-o", "yaml"])).expect("yaml");
        assert_eq!(y["kind"], "ConfigMap", "kubectl {v}");
        assert_eq!(y["apiVersion"], "v1", "kubectl {v}");
        assert_eq!(y["data"]["k2"], "v2", "kubectl {v}");
        assert_eq!(y["metadata"]["labels"]["tier"], "front", "kubectl {v}");
        assert!(y["metadata"]["uid"].is_string() && y["metadata"]["resourceVersion"].is_string(), "kubectl {v}");
        assert!(y["metadata"]["creationTimestamp"].is_string(), "kubectl {v}");
        let j: Value = serde_json::from_str(&list(&["-o", "json"])).expect("json");
        assert_eq!(j["kind"], "List", "kubectl {v}");
        assert_eq!(util::names(&j), ["a", "b", "c"], "kubectl {v}");
        assert!(j["items"].as_array().unwrap().iter().all(|i| i["kind"] == "ConfigMap"), "kubectl {v}");
        let secret: Value = serde_json::from_str(&get(&["secret", "s", "-o", "json"])).unwrap();
        assert_eq!(secret["data"]["user"], "YWRtaW4=", "kubectl {v}: stringData folded into data: {secret}");
        assert!(secret.get("stringData").is_none(), "kubectl {v}: {secret}");
        let deploy: Value = serde_yaml_ng::from_str(&get(&["deploy", "web", "-o", "yaml"])).unwrap();
        assert_eq!(deploy["apiVersion"], "apps/v1", "kubectl {v}");
        assert_eq!(deploy["spec"]["template"]["spec"]["containers"][1]["image"], "nginx:1.27", "kubectl {v}");

        // -o name
        assert_eq!(lines(&list(&["-o", "name"])), ["configmap/a", "configmap/b", "configmap/c"], "kubectl {v}");
        assert_eq!(lines(&get(&["deploy,svc", "-o", "name"])), ["deployment.apps/web", "service/web"], "kubectl {v}");

        // -o jsonpath
        assert_eq!(get(&["cm", "a", "-o", "jsonpath={.data.k1}"]), "v1", "kubectl {v}");
        assert_eq!(list(&["-o", "jsonpath={.items[*].metadata.name}"]), "a b c", "kubectl {v}");
        assert_eq!(
            get(&["deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[*].name}"]),
            "web side",
            "kubectl {v}"
        );
        assert_eq!(
            list(&["-o", r#"jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.tier}{"\n"}{end}"#]),
            "a=front\nb=back\nc=\n",
            "kubectl {v}"
        );

        // -o custom-columns
        let cc =
            Table::parse(&list(&["-o", "custom-columns=NAME:.metadata.name,TIER:.metadata.labels.tier,K1:.data.k1"]));
        assert_eq!(cc.headers, ["NAME", "TIER", "K1"], "kubectl {v}");
        assert_eq!(cc.row("a")["TIER"], "front", "kubectl {v}");
        assert_eq!(cc.row("b")["K1"], "other", "kubectl {v}");
        assert_eq!(cc.row("c")["TIER"], "<none>", "kubectl {v}");

        // -o wide adds the priority-1 columns of the server's table.
        let wide = Table::parse(&get(&["deploy", "-o", "wide"]));
        assert_eq!(
            wide.headers,
            ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
            "kubectl {v}"
        );
        let web = wide.row("web");
        assert_eq!(web["CONTAINERS"], "web,side", "kubectl {v}");
        assert_eq!(web["IMAGES"], "busybox:1.36,nginx:1.27", "kubectl {v}");
        assert_eq!(web["SELECTOR"], "app=web", "kubectl {v}");
        let svc = Table::parse(&get(&["svc", "-o", "wide"]));
        assert_eq!(
            svc.headers,
            ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"],
            "kubectl {v}"
        );
        assert_eq!(svc.row("web")["SELECTOR"], "app=web", "kubectl {v}");

        // Labels as columns, sorting, no headers.
        let labels = Table::parse(&list(&["--show-labels"]));
        assert_eq!(labels.row("a")["LABELS"], "team=x,tier=front", "kubectl {v}");
        assert_eq!(labels.row("c")["LABELS"], "<none>", "kubectl {v}");
        let tier = Table::parse(&list(&["-L", "tier"]));
        assert_eq!(tier.headers, ["NAME", "DATA", "AGE", "TIER"], "kubectl {v}");
        assert_eq!(tier.row("b")["TIER"], "back", "kubectl {v}");
        let sorted = list(&["--sort-by=.data.k1", "-o", "name"]);
        assert_eq!(lines(&sorted), ["configmap/c", "configmap/b", "configmap/a"], "kubectl {v}");
        let bare = list(&["--no-headers"]);
        assert_eq!(bare.lines().count(), 3, "kubectl {v}: {bare}");
        assert!(bare.lines().next().unwrap().starts_with("a "), "kubectl {v}: {bare}");
    }
}

#[test]
fn server_side_table_columns() {
    let s = Server::start();
    s.kubectl("1.33").ok_stdin(&["create", "-f", "-"], OBJECTS);
    for v in VERSIONS {
        let k = s.kubectl(v);

        let deploy = Table::parse(&k.ok(&["get", "deploy", "-n", "read"]));
        assert_eq!(deploy.headers, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "kubectl {v}");
        let web = deploy.row("web");
        assert_eq!(web["READY"], "0/2", "kubectl {v}");
        assert_eq!(web["UP-TO-DATE"], "0", "kubectl {v}");
        assert_eq!(web["AVAILABLE"], "0", "kubectl {v}");
        assert!(web["AGE"].ends_with('s'), "kubectl {v}: {web:?}");

        let cm = Table::parse(&k.ok(&["get", "cm", "-n", "read"]));
        assert_eq!(cm.headers, ["NAME", "DATA", "AGE"], "kubectl {v}");
        assert_eq!(cm.row("a")["DATA"], "2", "kubectl {v}");
        assert_eq!(cm.row("c")["DATA"], "0", "kubectl {v}");

        let secret = Table::parse(&k.ok(&["get", "secret", "-n", "read"]));
        assert_eq!(secret.headers, ["NAME", "TYPE", "DATA", "AGE"], "kubectl {v}");
        assert_eq!(secret.row("s")["TYPE"], "Opaque", "kubectl {v}");
        assert_eq!(secret.row("s")["DATA"], "2", "kubectl {v}");

        let svc = Table::parse(&k.ok(&["get", "svc", "-n", "read"]));
        assert_eq!(svc.headers, ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], "kubectl {v}");
        let web = svc.row("web");
        assert_eq!(web["TYPE"], "ClusterIP", "kubectl {v}");
        assert!(web["CLUSTER-IP"].starts_with("10.43."), "kubectl {v}: {web:?}");
        assert_eq!(web["EXTERNAL-IP"], "<none>", "kubectl {v}");
        assert_eq!(web["PORT(S)"], "80/TCP", "kubectl {v}");
        let kubernetes = Table::parse(&k.ok(&["get", "svc", "kubernetes", "-n", "default"])).row("kubernetes");
        assert_eq!(kubernetes["CLUSTER-IP"], "10.43.0.1", "kubectl {v}");
        assert_eq!(kubernetes["PORT(S)"], "443/TCP", "kubectl {v}");

        let ns = Table::parse(&k.ok(&["get", "ns"]));
        assert_eq!(ns.headers, ["NAME", "STATUS", "AGE"], "kubectl {v}");
        assert_eq!(ns.row("read")["STATUS"], "Active", "kubectl {v}");

        // Across namespaces: a NAMESPACE column first.
        let all_ns = Table::parse(&k.ok(&["get", "cm", "-A", "-l", "team=x"]));
        assert_eq!(all_ns.headers, ["NAMESPACE", "NAME", "DATA", "AGE"], "kubectl {v}");
        assert_eq!(all_ns.rows.len(), 2, "kubectl {v}");

        // `get all` uses the `all` category: workloads and services, not config.
        let all = k.ok(&["get", "all", "-n", "read", "-o", "name"]);
        assert!(all.contains("service/web") && all.contains("deployment.apps/web"), "kubectl {v}: {all}");
        assert!(!all.contains("configmap/"), "kubectl {v}: {all}");
    }
}

/// The table as kubectl asks for it (`Accept: …;as=Table;v=v1;g=meta.k8s.io`).
#[tokio::test]
async fn server_side_table_object() {
    let s = Server::start();
    s.kubectl("1.33").ok_stdin(&["create", "-f", "-"], OBJECTS);
    let c = s.client().await;
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let r =
        util::send_accept(&c, "GET", "/apis/apps/v1/namespaces/read/deployments?limit=500", accept, None, Vec::new())
            .await;
    let t = r.ok(200);
    assert_eq!(t["kind"], "Table", "{t}");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1", "{t}");
    let ct = r.headers.get(http::header::CONTENT_TYPE).unwrap().to_str().unwrap();
    assert!(ct.starts_with("application/json"), "{ct}");
    let cols: Vec<(&str, i64)> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(
        cols,
        [
            ("Name", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1)
        ]
    );
    let row = &t["rows"][0];
    assert_eq!(row["cells"][0], "web", "{row}");
    assert_eq!(row["cells"][1], "0/2", "{row}");
    // By default each row carries the object's metadata only.
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata", "{row}");
    assert_eq!(row["object"]["metadata"]["name"], "web", "{row}");
    assert!(t["metadata"]["resourceVersion"].is_string(), "{t}");
    // Without as=Table it is the plain list.
    let plain = util::get(&c, "/apis/apps/v1/namespaces/read/deployments").await.ok(200);
    assert_eq!(plain["kind"], "DeploymentList");
}

#[test]
fn label_and_field_selectors() {
    let s = Server::start();
    s.kubectl("1.33").ok_stdin(&["create", "-f", "-"], OBJECTS);
    for v in VERSIONS {
        let k = s.kubectl(v);
        // The names of the test's ConfigMaps that match, leaving out the root CA every namespace gets.
        let names = |sel: &[&str]| -> Vec<String> {
            let out = k.ok(&[&["get", "cm", "-n", "read", "-o", "name"][..], sel].concat());
            out.lines().map(|l| l.trim_start_matches("configmap/").to_string()).filter(|n| n != util::ROOT_CA).collect()
        };
        assert_eq!(names(&["-l", "tier=front"]), ["a"], "kubectl {v}");
        assert_eq!(names(&["-l", "tier!=front"]), ["b", "c"], "kubectl {v}");
        assert_eq!(names(&["-l", "tier in (front,back)"]), ["a", "b"], "kubectl {v}");
        assert_eq!(names(&["-l", "tier notin (front)"]), ["b", "c"], "kubectl {v}");
        assert_eq!(names(&["-l", "tier"]), ["a", "b"], "kubectl {v}");
        assert_eq!(names(&["-l", "!tier"]), ["c"], "kubectl {v}");
        assert_eq!(names(&["-l", "team=x,tier=back"]), ["b"], "kubectl {v}");
        assert_eq!(names(&["-l", "team=y"]), Vec::<String>::new(), "kubectl {v}");

        assert_eq!(names(&["--field-selector", "metadata.name=b"]), ["b"], "kubectl {v}");
        assert_eq!(names(&["--field-selector", "metadata.name!=b"]), ["a", "c"], "kubectl {v}");
        assert_eq!(names(&["--field-selector", "metadata.namespace=read,metadata.name=c"]), ["c"], "kubectl {v}");
        assert_eq!(
            names(&["--field-selector", "metadata.name=a", "-l", "tier=back"]),
            Vec::<String>::new(),
            "kubectl {v}"
        );
        let secrets = k.ok(&["get", "secrets", "-n", "read", "--field-selector", "type=Opaque", "-o", "name"]);
        assert_eq!(lines(&secrets), ["secret/s"], "kubectl {v}");
        let across = k.ok(&["get", "ns", "--field-selector", "metadata.name=read", "-o", "name"]);
        assert_eq!(lines(&across), ["namespace/read"], "kubectl {v}");

        // An unsupported field is refused, as the real server does.
        let err = k.fails(&["get", "cm", "-n", "read", "--field-selector", "data.k1=v1"]);
        assert!(
            err.contains(r#""data.k1" is not a known field selector: only "metadata.name", "metadata.namespace""#),
            "kubectl {v}: {err}"
        );
        let err = k.fails(&["get", "cm", "-n", "read", "-l", "tier in front"]);
        assert!(err.contains("unable to parse requirement") || err.contains("parse"), "kubectl {v}: {err}");
    }
}

#[tokio::test]
async fn field_selector_errors_are_bad_requests() {
    let s = Server::start();
    let c = s.client().await;
    // Kinds with no field selectors of their own accept only the metadata ones...
    let r = util::get(&c, "/api/v1/namespaces/default/configmaps?fieldSelector=data.x%3Dy").await;
    let st = r.status(400, "BadRequest");
    assert_eq!(st["message"], r#""data.x" is not a known field selector: only "metadata.name", "metadata.namespace""#);
    // ...kinds with their own list name the unsupported label.
    let r = util::get(&c, "/api/v1/namespaces/default/secrets?fieldSelector=data.x%3Dy").await;
    let st = r.status(400, "BadRequest");
    assert_eq!(st["message"], "field label not supported: data.x", "{st}");
    let r = util::get(&c, "/api/v1/pods?fieldSelector=spec.nodeName%3Dtest-node,status.phase%21%3DRunning").await;
    r.ok(200);
    let r = util::get(&c, "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20b").await;
    r.status(400, "BadRequest");
}

#[test]
fn pagination_with_chunk_size() {
    let s = Server::start();
    let mut manifest = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: page}\n");
    for i in 0..25 {
        manifest.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02}, namespace: page}}\n"
        ));
    }
    s.kubectl("1.33").ok_stdin(&["create", "-f", "-"], &manifest);
    let expected: Vec<String> = (0..25).map(|i| format!("configmap/cm-{i:02}")).collect();
    for v in VERSIONS {
        let k = s.kubectl(v);
        // -v=6 logs each request: three pages of at most 10, chained with continue tokens.
        let out = k.run(&["get", "cm", "-n", "page", "--chunk-size=10", "-o", "name", "-v=6", util::NOT_ROOT_CA]);
        assert!(out.status.success(), "kubectl {v}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(lines(&String::from_utf8_lossy(&out.stdout)), expected, "kubectl {v}");
        let log = String::from_utf8_lossy(&out.stderr);
        let pages: Vec<&str> = log.lines().filter(|l| l.contains("/namespaces/page/configmaps?")).collect();
        assert_eq!(pages.len(), 3, "kubectl {v}: three pages expected:\n{log}");
        assert!(pages.iter().all(|l| l.contains("limit=10")), "kubectl {v}: {pages:?}");
        assert!(pages[1].contains("continue=") && pages[2].contains("continue="), "kubectl {v}: {pages:?}");
        // The table printer pages too.
        let t = Table::parse(&k.ok(&["get", "cm", "-n", "page", "--chunk-size=7", util::NOT_ROOT_CA]));
        assert_eq!(t.rows.len(), 25, "kubectl {v}");
    }
}

#[tokio::test]
async fn pagination_raw_continue_tokens() {
    let s = Server::start();
    let c = s.client().await;
    for i in 0..12 {
        util::post(&c, &util::cm_path("default", None), &util::configmap("default", &format!("p{i:02}"), Value::Null))
            .await
            .ok(201);
    }
    // The list also holds the root CA the controllers publish in every namespace: wait for it,
    // so that remainingItemCount (which a field selector would turn off) has a known total.
    util::wait_root_ca(&s.kubectl("1.33"), "default");
    let total = 12 + 1;
    let mut listed = 0;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let mut path = format!("{}?limit=5", util::cm_path("default", None));
        if !token.is_empty() {
            path.push_str(&format!("&continue={token}"));
        }
        let page = util::get(&c, &path).await.ok(200);
        pages += 1;
        let items = page["items"].as_array().unwrap_or_else(|| panic!("not a list: {page}")).len();
        assert!(items <= 5, "{page}");
        listed += items;
        seen.extend(util::names(&page));
        token = page["metadata"]["continue"].as_str().unwrap_or_default().to_string();
        if token.is_empty() {
            assert!(page["metadata"].get("remainingItemCount").is_none(), "last page: {page}");
            break;
        }
        let remaining = page["metadata"]["remainingItemCount"].as_i64().expect("remainingItemCount");
        assert_eq!(remaining as usize, total - listed, "{page}");
        // A write between pages does not change what the continued list sees.
        if pages == 1 {
            util::post(&c, &util::cm_path("default", None), &util::configmap("default", "p99", Value::Null))
                .await
                .ok(201);
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, total);
    let expected: Vec<String> = (0..12).map(|i| format!("p{i:02}")).collect();
    assert_eq!(seen, expected);

    let r = util::get(&c, &format!("{}?limit=5&continue=garbage", util::cm_path("default", None))).await;
    let st = r.status(400, "BadRequest");
    assert!(st["message"].as_str().unwrap().contains("continue"), "{st}");
}
