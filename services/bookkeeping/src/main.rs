//! The bookkeeping service binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = dk_bookkeeping::Settings::load(None);
    dk_runtime::main_loop::run("bookkeeping", settings, dk_bookkeeping::start).await
}
