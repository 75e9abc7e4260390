//! The billing service binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = dk_billing::Settings::load(None);
    dk_runtime::main_loop::main::<_, dk_billing::migration::Migrator>(
        "billing",
        settings,
        dk_billing::start,
    )
    .await
}
