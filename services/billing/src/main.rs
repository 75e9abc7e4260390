//! The billing service binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = dk_billing::Settings::load(None);
    dk_runtime::main_loop::run("billing", settings, dk_billing::start).await
}
