//! The banksync service binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = dk_banksync::Settings::load(None);
    dk_runtime::main_loop::main::<_, dk_banksync::migration::Migrator>(
        "banksync",
        settings,
        dk_banksync::start,
    )
    .await
}
