//! Compiles the contracts in `proto/` with protox, a protobuf compiler written in Rust, so that a
//! fresh machine builds with cargo alone and needs no system `protoc`.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "dk/common/v1/common.proto",
        "dk/banksync/v1/banksync.proto",
        "dk/bookkeeping/v1/bookkeeping.proto",
        "dk/billing/v1/billing.proto",
        "dk/support/v1/support.proto",
        "dk/events/v1/banksync.proto",
        "dk/events/v1/bookkeeping.proto",
        "dk/events/v1/billing.proto",
        "dk/events/v1/support.proto",
    ];
    let descriptors = protox::compile(files, [&root])?;

    // The encoded descriptor set feeds gRPC server reflection.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("descriptors.bin"), descriptors.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;

    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
