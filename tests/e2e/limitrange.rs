//! LimitRange: the object's own defaulting and validation, and the LimitRanger
//! admission plugin (pod defaults and the annotation, container and pod limits,
//! PersistentVolumeClaim storage limits), driven by real kubectl 1.33.

use crate::harness::{Server, eventually};

const LIMITS: &str = r#"
apiVersion: v1
kind: LimitRange
metadata:
  name: limits
spec:
  limits:
  - type: Container
    max:
      memory: 1Gi
    defaultRequest:
      cpu: 100m
    default:
      cpu: 500m
  - type: PersistentVolumeClaim
    max:
      storage: 2Gi
"#;

fn pod(name: &str, resources: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    imagePullPolicy: IfNotPresent\n{resources}"
    )
}

#[test]
fn limitranges_default_and_limit_pods_and_claims() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    eventually(10, "default account", || k.run(&["get", "sa", "default"]).status.success());
    k.ok_stdin(&["create", "-f", "-"], LIMITS);

    // The stored object carries the defaulted fields.
    let yaml = k.ok(&["get", "limitrange", "limits", "-o", "yaml"]);
    assert!(yaml.contains("kind: LimitRange"), "{yaml}");
    let lr = k.json(&["get", "limitrange", "limits", "-o", "json"]);
    let item = &lr["spec"]["limits"][0];
    assert_eq!(item["default"], serde_json::json!({"cpu": "500m", "memory": "1Gi"}), "{yaml}");
    assert_eq!(item["defaultRequest"], serde_json::json!({"cpu": "100m", "memory": "1Gi"}), "{yaml}");
    assert!(lr["spec"]["limits"][1].get("default").is_none(), "{yaml}");

    // A pod without resources gets the defaults and the annotation.
    k.ok_stdin(&["create", "-f", "-"], &pod("plain", ""));
    let p = k.json(&["get", "pod", "plain", "-o", "json"]);
    let res = &p["spec"]["containers"][0]["resources"];
    assert_eq!(res["limits"], serde_json::json!({"cpu": "500m", "memory": "1Gi"}));
    assert_eq!(res["requests"], serde_json::json!({"cpu": "100m", "memory": "1Gi"}));
    assert_eq!(
        p["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"
    );

    // A pod over the maximum is refused.
    let big = pod("big", "    resources:\n      limits:\n        memory: 2Gi\n");
    let out = k.stdin(&["create", "-f", "-"], &big);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"big\" is forbidden: \
         maximum memory usage per Container is 1Gi, but limit is 2Gi"
    );
    assert!(!k.run(&["get", "pod", "big"]).status.success());

    // An object that is invalid as well is reported invalid (validation comes before the plugin's check).
    let both =
        pod("both", "    resources:\n      limits:\n        memory: 2Gi\n      requests:\n        memory: 3Gi\n");
    let err = String::from_utf8_lossy(&k.stdin(&["create", "-f", "-"], &both).stderr).into_owned();
    assert!(err.contains("The Pod \"both\" is invalid: spec.containers[0].resources.requests"), "{err}");

    // Several violations are listed together, in container order.
    let two = format!(
        "{}  - name: second\n    image: busybox\n    resources:\n      limits:\n        memory: 3Gi\n",
        pod("two", "    resources:\n      limits:\n        memory: 2Gi\n")
    );
    let err = String::from_utf8_lossy(&k.stdin(&["create", "-f", "-"], &two).stderr).into_owned();
    assert_eq!(
        err.trim_end(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"two\" is forbidden: \
         [maximum memory usage per Container is 1Gi, but limit is 2Gi, maximum memory usage per Container is 1Gi, but limit is 3Gi]"
    );

    // Claims: over the maximum refused, within it accepted.
    let pvc = |name: &str, size: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n"
        )
    };
    let out = k.stdin(&["create", "-f", "-"], &pvc("huge", "5Gi"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "Error from server (Forbidden): error when creating \"STDIN\": persistentvolumeclaims \"huge\" is forbidden: \
         maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"
    );
    k.ok_stdin(&["create", "-f", "-"], &pvc("small", "1Gi"));
}

#[test]
fn invalid_limitranges_are_refused() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    let bad = "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: bad\nspec:\n  limits:\n  - type: Pod\n    max:\n      cpu: \"1\"\n    min:\n      cpu: \"2\"\n";
    let out = k.stdin(&["create", "-f", "-"], bad);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "The LimitRange \"bad\" is invalid: spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1"
    );
    let bad = "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: bad\nspec:\n  limits:\n  - type: Container\n    default:\n      memory: 1Gi\n    defaultRequest:\n      memory: 2Gi\n";
    let out = k.stdin(&["create", "-f", "-"], bad);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("spec.limits[0].defaultRequest[memory]: Invalid value: \"2Gi\": default request value 2Gi is greater than default limit value 1Gi"),
        "{err}"
    );
    assert!(!k.run(&["get", "limitrange", "bad"]).status.success());
}
