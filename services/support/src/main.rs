//! The support service binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = dk_support::Settings::load(None);
    dk_runtime::main_loop::main::<_, dk_support::migration::Migrator>(
        "support",
        settings,
        dk_support::start,
    )
    .await
}
