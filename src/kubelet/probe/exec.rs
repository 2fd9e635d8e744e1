//! The exec handler: exit code 0 passes; otherwise the output (stdout then
//! stderr, at most 10 KiB) is the failure text, as `pkg/probe/exec` reports it.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Container;

use super::{ExecRunner, ProbeOutcome, go_quote, limited_text};

/// Runs `command` (after `$(VAR)` expansion from the container's literal env)
/// through `runner`, bounded by `timeout`.
pub(super) async fn probe(
    command: Vec<String>,
    container: &Container,
    timeout: Duration,
    runner: &dyn ExecRunner,
) -> ProbeOutcome {
    let command = expand_static(&command, container);
    let joined = command.join(" ");
    match tokio::time::timeout(timeout, runner.exec(command, timeout)).await {
        Err(_) => ProbeOutcome::Failure(format!("command {} timed out", go_quote(&joined))),
        Ok(Err(e)) => ProbeOutcome::Unknown(e),
        Ok(Ok((0, _))) => ProbeOutcome::Success,
        Ok(Ok((_, output))) => ProbeOutcome::Failure(limited_text(&output)),
    }
}

/// Expands `$(VAR)` in each argument from the container's env entries that have
/// no `valueFrom` (the kubelet's `ExpandContainerCommandOnlyStatic`): `$$` is a
/// literal `$`, an undefined `$(VAR)` stays as written.
fn expand_static(command: &[String], container: &Container) -> Vec<String> {
    let env: HashMap<&str, &str> = container
        .env
        .iter()
        .flatten()
        .filter(|e| e.value_from.is_none())
        .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
        .collect();
    command.iter().map(|arg| expand(arg, &env)).collect()
}

fn expand(input: &str, env: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|s| s.split_once(')')) {
            match env.get(name) {
                Some(value) => out.push_str(value),
                None => out.push_str(&format!("$({name})")),
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::super::{BoxFuture, ExecResult, MAX_OUTPUT};
    use super::*;
    use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector};
    use std::sync::Mutex;

    /// Answers with a fixed result after `delay` and records the commands.
    struct FakeExec {
        result: ExecResult,
        delay: Duration,
        seen: Mutex<Vec<Vec<String>>>,
    }

    impl FakeExec {
        fn new(result: ExecResult) -> Self {
            FakeExec { result, delay: Duration::ZERO, seen: Mutex::new(Vec::new()) }
        }
    }

    impl ExecRunner for FakeExec {
        fn exec(&self, command: Vec<String>, _: Duration) -> BoxFuture<'_, ExecResult> {
            self.seen.lock().map(|mut s| s.push(command)).ok();
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.result.clone()
            })
        }
    }

    fn cmd(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    async fn run(fake: &FakeExec, command: &[&str], container: &Container) -> ProbeOutcome {
        probe(cmd(command), container, Duration::from_millis(200), fake).await
    }

    #[tokio::test]
    async fn exit_zero_passes_and_non_zero_reports_the_output() {
        let c = Container::default();
        assert_eq!(run(&FakeExec::new(Ok((0, b"ok".to_vec()))), &["true"], &c).await, ProbeOutcome::Success);
        let missing = b"cat: can't open '/tmp/healthy': No such file or directory\n".to_vec();
        assert_eq!(
            run(&FakeExec::new(Ok((1, missing))), &["cat", "/tmp/healthy"], &c).await,
            ProbeOutcome::Failure("cat: can't open '/tmp/healthy': No such file or directory\n".into())
        );
        assert_eq!(
            run(&FakeExec::new(Ok((2, Vec::new()))), &["false"], &c).await,
            ProbeOutcome::Failure(String::new())
        );
    }

    #[tokio::test]
    async fn output_is_limited_to_10_kib() {
        let fake = FakeExec::new(Ok((1, vec![b'x'; 3 * MAX_OUTPUT])));
        match run(&fake, &["noisy"], &Container::default()).await {
            ProbeOutcome::Failure(text) => assert_eq!(text.len(), MAX_OUTPUT),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_command_times_out_as_the_kubelet_reports_it() {
        let fake = FakeExec { delay: Duration::from_secs(5), ..FakeExec::new(Ok((0, Vec::new()))) };
        assert_eq!(
            run(&fake, &["sh", "-c", "sleep 5"], &Container::default()).await,
            ProbeOutcome::Failure(r#"command "sh -c sleep 5" timed out"#.into())
        );
    }

    #[tokio::test]
    async fn runtime_errors_are_unknown() {
        let fake = FakeExec::new(Err("container not running".into()));
        assert_eq!(
            run(&fake, &["true"], &Container::default()).await,
            ProbeOutcome::Unknown("container not running".into())
        );
    }

    #[tokio::test]
    async fn only_literal_env_values_are_expanded() {
        let from_field = EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: "status.podIP".into(), ..Default::default() }),
            ..Default::default()
        };
        let c = Container {
            env: Some(vec![
                EnvVar { name: "FILE".into(), value: Some("/tmp/healthy".into()), value_from: None },
                EnvVar { name: "IP".into(), value: None, value_from: Some(from_field) },
            ]),
            ..Default::default()
        };
        let fake = FakeExec::new(Ok((0, Vec::new())));
        run(&fake, &["cat", "$(FILE)", "$(IP)", "$$(FILE)", "$(UNSET)", "a$b", "$(open"], &c).await;
        let seen = fake.seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, vec![cmd(&["cat", "/tmp/healthy", "$(IP)", "$(FILE)", "$(UNSET)", "a$b", "$(open"])]);
    }
}
