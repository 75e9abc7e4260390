//! The bookkeeping service binary.

use std::process::ExitCode;

/// glibc's allocator took about a quarter of the CPU of a quote call, part of it waiting for
/// its arena locks. mimalloc keeps a heap per thread (docs/benchmarks.md, "Quote RPC").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
