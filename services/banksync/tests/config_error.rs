//! A configuration error is reported in the log format the deployment asked for, and the binary
//! exits with 78 (`EX_CONFIG`) before it connects to anything.

use std::process::{Command, Output};

/// Runs `dk-banksync` with its usual environment cleared of `DK_BANKSYNC__` settings and
/// `variables` added.
fn run(variables: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dk-banksync"));
    for (name, _) in std::env::vars() {
        if name.starts_with("DK_BANKSYNC__") || name == "DK_CONFIG_FILE" {
            command.env_remove(name);
        }
    }
    command.envs(variables.iter().copied());
    command.output().expect("dk-banksync runs")
}

/// Parses the one JSON log line that the binary wrote to stderr, where all its logs go.
fn json_line(output: &Output) -> serde_json::Value {
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one log line expected, got {stderr:?}");
    serde_json::from_str(lines[0]).expect("the log line is JSON")
}

#[test]
fn unreadable_setting_json_mode() {
    let output = run(&[
        ("DK_BANKSYNC__TELEMETRY__FORMAT", "json"),
        ("DK_BANKSYNC__DATABASE__MAX_CONNECTIONS", "several"),
    ]);
    assert_eq!(output.status.code(), Some(78));
    let line = json_line(&output);
    assert_eq!(line["level"], "ERROR");
    let message = line["fields"]["message"].as_str().expect("message");
    assert!(message.contains("database.max_connections"), "{message}");
    assert!(message.contains("\"several\""), "{message}");
}

#[test]
fn invalid_setting_json_mode() {
    let output = run(&[
        ("DK_BANKSYNC__TELEMETRY__FORMAT", "json"),
        ("DK_BANKSYNC__DATABASE__MAX_CONNECTIONS", "0"),
    ]);
    assert_eq!(output.status.code(), Some(78));
    let line = json_line(&output);
    assert_eq!(line["fields"]["service"], "banksync");
    let message = line["fields"]["message"].as_str().expect("message");
    assert!(
        message.contains("database.max_connections: expected at least 1"),
        "{message}"
    );
}

#[test]
fn invalid_log_filter_json_mode() {
    let output = run(&[
        ("DK_BANKSYNC__TELEMETRY__FORMAT", "json"),
        ("DK_BANKSYNC__TELEMETRY__FILTER", "info,[[["),
    ]);
    assert_eq!(output.status.code(), Some(78));
    let line = json_line(&output);
    let message = line["fields"]["message"].as_str().expect("message");
    assert!(message.contains("info,[[["), "{message}");
}

#[test]
fn misspelt_log_format_text_mode() {
    // The settings accept only `text` and `json`, so `JSON` is itself the error.
    let output = run(&[("DK_BANKSYNC__TELEMETRY__FORMAT", "JSON")]);
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.starts_with('{'), "{stderr}");
    assert!(stderr.contains("JSON"), "{stderr}");
}

#[test]
fn invalid_setting_text_mode() {
    let output = run(&[("DK_BANKSYNC__DATABASE__MAX_CONNECTIONS", "0")]);
    assert_eq!(output.status.code(), Some(78));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "invalid configuration for banksync: database.max_connections: expected at least 1"
    );
}
