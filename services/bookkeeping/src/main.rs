//! The bookkeeping service binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = dk_bookkeeping::Settings::load(None);
    dk_runtime::main_loop::main::<_, dk_bookkeeping::migration::Migrator>(
        "bookkeeping",
        settings,
        dk_bookkeeping::start,
    )
    .await
}
